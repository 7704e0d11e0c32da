// Addresses the model does not know: a lab's exec lines (`ip addr add ...`) or a router's own
// configuration (FRR's zebra) give some interfaces their addresses once the simulation is built.
// Read back from the kernel in one batch after the build, they stand in for the model's missing
// ones in state.json, so `netsim check`, `trace` and `inspect` see those nodes as they are.
// Both families: an interface's IPv4 address where the model gives it none, and its global
// IPv6 one where the model gives none (the link-local address every interface has is not one).
import { ipv4Of, ipv6Of, readAddrStates } from '../kernel/addrs.js';
import { kindOf } from '../model/kinds/registry.js';
import type { Family, IfaceModel, NodeModel } from '../model/model.js';

/** node -> interface -> its first address of one family (address/prefix) as the kernel has it */
export type LearnedAddrs = Map<string, Map<string, string>>;

export interface Learned {
  v4: LearnedAddrs;
  v6: LearnedAddrs;
}

/**
 * The kernel's addresses of the interfaces the model left without one: one batched read of the
 * nodes with an interface the model gives no address of a family the topology carries; of
 * those, IPv4 where the model has none, IPv6 likewise.
 */
export async function learnAddrs(nodes: Iterable<NodeModel>, families: Family[] = [4]): Promise<Learned> {
  const missing = (i: IfaceModel) => (families.includes(4) && !i.addr) || (families.includes(6) && !i.addr6);
  const unknown = [...nodes].filter((n) => !kindOf(n.kind, false)?.bridging && n.ifaces.some(missing));
  const learned: Learned = { v4: new Map(), v6: new Map() };
  if (unknown.length === 0) return learned;
  const states = await readAddrStates(unknown.map((n) => n.ns));
  for (const n of unknown) {
    const v4 = new Map<string, string>();
    const v6 = new Map<string, string>();
    for (const l of states.get(n.ns) ?? []) {
      const iface = n.ifaces.find((i) => i.name === l.ifname);
      if (!iface) continue;
      const a4 = ipv4Of(l)[0];
      const a6 = ipv6Of(l)[0];
      if (a4 && !iface.addr) v4.set(l.ifname, a4);
      if (a6 && !iface.addr6) v6.set(l.ifname, a6);
    }
    if (v4.size) learned.v4.set(n.name, v4);
    if (v6.size) learned.v6.set(n.name, v6);
  }
  return learned;
}
