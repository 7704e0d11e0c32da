// waitConverged's BGP part: every configured peer Established (IPv4 and IPv6 sessions,
// unnumbered ones by interface) with its End-of-RIB received, except across a link that is
// down; a peer whose bgpd was stopped or killed must have been noticed gone (hold timer).
import type { Simulation } from '../../runtime/simulation.js';
import { formatIp6, parseIp6 } from '../../util/ipv6.js';
import { daemonUp, peerOwner, runsDaemon, unnumberedPeer } from './converge-util.js';
import { RouterNode } from './node.js';
import { bgpNeighbors } from './render-bgp.js';
import type { BgpNeighborState } from './show-bgp.js';
import type { FrrRouterSpec } from './spec.js';

/** A router as waitConverged polled it (the fields this part reads). */
export interface PolledBgp {
  node: RouterNode;
  bgp: boolean;
  peers?: BgpNeighborState[];
  pendingUpdates?: string[];
  error?: string;
}

/** FRR prints IPv6 peers compressed as RFC 5952 says, as the rendered config does; a user's frr.conf may not. */
function samePeer(addr: string): string {
  const ip6 = addr.includes(':') ? parseIp6(addr) : undefined;
  return ip6 === undefined ? addr : formatIp6(ip6);
}

/** Appends what BGP still misses; returns the sessions that are up. */
export function bgpMissing(sim: Simulation, views: PolledBgp[], missing: string[]): number {
  const model = sim.model;
  const quiet = () => {};
  let bgpUp = 0;
  for (const v of views) {
    if (!v.bgp || v.error) continue;
    const spec = v.node.model.spec as FrrRouterSpec;
    const intended = spec.bgp ? bgpNeighbors(v.node.model, model, quiet) : [];
    for (const p of v.pendingUpdates ?? []) missing.push(`${v.node.name}: BGP ${p}`);
    const live = (v.peers ?? []).map((p) => ({ ...p, peer: samePeer(p.peer) }));
    const addrs = new Set([...intended.map((n) => samePeer(n.addr)), ...live.map((p) => p.peer)]);
    for (const addr of addrs) {
      const owner = peerOwner(model, addr) ?? unnumberedPeer(model, v.node.model, intended, addr);
      const label = owner ? `${owner.node.name} (${addr})` : addr;
      const p = live.find((x) => x.peer === addr);
      if (owner) {
        if (owner.iface && sim.linkState(owner.iface.link) === 'down') continue;
        const other = sim.nodes.get(owner.node.name);
        if (other instanceof RouterNode && runsDaemon(other, 'bgpd') && !daemonUp(other, 'bgpd')) {
          if (p?.state === 'Established')
            missing.push(
              `${v.node.name}: session to ${label} is still Established, but its bgpd is stopped (waiting for the hold timer)`,
            );
          continue;
        }
      }
      if (p?.state === 'Established' && p.initialUpdateDone) bgpUp++;
      else if (p?.state === 'Established')
        missing.push(`${v.node.name}: session to ${label} is Established, End-of-RIB not received yet`);
      else
        missing.push(
          `${v.node.name}: BGP session to ${label} is ${p ? p.state || 'down' : 'not configured yet'}, expected Established`,
        );
    }
  }
  return bgpUp;
}
