// What waitConverged's parts share: whether a link is up, whether a router runs a daemon and
// whether it is up, and which node owns a peer's address.
import type { Model, NodeModel } from '../../model/model.js';
import type { Simulation } from '../../runtime/simulation.js';
import { parseIp } from '../../util/ipv4.js';
import { parseIp6 } from '../../util/ipv6.js';
import { runId } from './daemons.js';
import type { RouterNode } from './node.js';
import type { BgpNeighbor } from './render-bgp-peers.js';
import type { FrrRouterSpec } from './spec.js';

export function linkUp(sim: Simulation, node: NodeModel, ifname: string): boolean {
  const iface = node.ifaces.find((i) => i.name === ifname);
  return iface !== undefined && sim.linkState(iface.link) === 'up';
}

export function runsDaemon(n: RouterNode, daemon: string): boolean {
  return n.frr?.setup.daemons.runs.some((r) => r.daemon === daemon) ?? false;
}

export function daemonUp(n: RouterNode, daemon: string): boolean {
  const frr = n.frr;
  return frr?.setup.daemons.runs.some((r) => r.daemon === daemon && frr.isRunning(runId(r))) ?? false;
}

/** The node (and interface) an IPv4 or IPv6 peer address belongs to, loopbacks included. */
export function peerOwner(
  model: Model,
  addr: string,
): { node: NodeModel; iface?: NodeModel['ifaces'][number] } | undefined {
  const ip = parseIp(addr);
  const ip6 = ip === undefined ? parseIp6(addr) : undefined;
  if (ip === undefined && ip6 === undefined) return undefined;
  for (const n of model.nodes.values()) {
    const iface = n.ifaces.find((i) => (ip !== undefined ? i.addr?.ip === ip : i.addr6?.ip === ip6));
    if (iface) return { node: n, iface };
    const s = n.spec as FrrRouterSpec;
    if (ip !== undefined ? s.loopback === addr : s.loopback6 !== undefined && parseIp6(s.loopback6) === ip6)
      return { node: n };
  }
  return undefined;
}

/** The peer of an unnumbered session (named by our interface), with our end of the link. */
export function unnumberedPeer(
  model: Model,
  node: NodeModel,
  intended: BgpNeighbor[],
  addr: string,
): { node: NodeModel; iface?: NodeModel['ifaces'][number] } | undefined {
  const n = intended.find((x) => x.unnumbered && x.addr === addr);
  const peer = n?.node ? model.nodes.get(n.node) : undefined;
  return peer ? { node: peer, iface: node.ifaces.find((i) => i.name === addr) } : undefined;
}
