// Addresses the model does not know: a lab's exec lines (`ip addr add ...`) or a router's own
// configuration (FRR's zebra) give some interfaces their addresses once the simulation is built.
// Read back from the kernel in one batch after the build, they stand in for the model's missing
// ones in state.json, so `netsim check`, `trace` and `inspect` see those nodes as they are.
import { ipv4Of, readAddrStates } from '../kernel/addrs.js';
import { kindOf } from '../model/kinds/registry.js';
import type { NodeModel } from '../model/model.js';

/** node -> interface -> its first IPv4 address (address/prefix) as the kernel has it */
export type LearnedAddrs = Map<string, Map<string, string>>;

/** The kernel's addresses of the interfaces whose model has none (one batched read). */
export async function learnAddrs(nodes: Iterable<NodeModel>): Promise<LearnedAddrs> {
  const unknown = [...nodes].filter((n) => !kindOf(n.kind, false)?.bridging && n.ifaces.some((i) => !i.addr));
  const learned: LearnedAddrs = new Map();
  if (unknown.length === 0) return learned;
  const states = await readAddrStates(unknown.map((n) => n.ns));
  for (const n of unknown) {
    const found = new Map<string, string>();
    for (const l of states.get(n.ns) ?? []) {
      const addr = ipv4Of(l)[0];
      if (addr && n.ifaces.some((i) => i.name === l.ifname && !i.addr)) found.set(l.ifname, addr);
    }
    if (found.size) learned.set(n.name, found);
  }
  return learned;
}
