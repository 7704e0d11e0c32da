// The route layer: what a node's kernel answered to `ip route get` (the decision) and
// `ip route get fibmatch` (the FIB entry behind it, with the protocol that installed it), and
// the neighbour entry of the next hop (ARP for IPv4, NDP for IPv6).
import { neighbourProtocol } from '../family.js';
import type { NeighJson, Pkt, RouteGet, Step } from '../types.js';

const ROUTING_DAEMONS = new Set(['ospf', 'bgp', 'static', 'zebra', 'isis', 'rip', 'eigrp', 'babel']);

/** "10.0.1.0/24 via 10.255.0.2 dev eth2 proto ospf metric 20" from a route entry. */
export function routeText(r: RouteGet): string {
  const parts = [r.dst];
  if (r.gateway) parts.push(`via ${r.gateway}`);
  if (r.dev) parts.push(`dev ${r.dev}`);
  parts.push(`proto ${r.protocol ?? 'boot'}`);
  if (r.metric !== undefined) parts.push(`metric ${r.metric}`);
  if (r.flags?.includes('onlink')) parts.push('onlink');
  return parts.join(' ');
}

/** Who put a route there, from its protocol. */
export function installedBy(proto: string | undefined): string {
  const p = proto ?? 'boot';
  if (ROUTING_DAEMONS.has(p))
    return `installed by FRR (zebra) from ${p === 'zebra' ? 'zebra' : p.toUpperCase()}`;
  if (p === 'kernel') return 'connected subnet (the kernel added it with the address)';
  if (p === 'boot') return 'configured with ip route (netsim or the agent)';
  return `protocol ${p}`;
}

/** `ip route get` failed: why the probe goes no further, from its error message. */
export function noRouteReason(daddr: string, stderr: string): string {
  return `no route to ${daddr}: ${stderr.trim().replace(/^RTNETLINK answers: /, '')}`;
}

/** A route of a type that does not forward (blackhole, unreachable, prohibit ...). */
export function routeTypeReason(get: RouteGet, daddr: string, fib: RouteGet | undefined): string | undefined {
  if (!get.type || get.type === 'unicast' || get.type === 'local') return undefined;
  return `route type ${get.type} for ${daddr}${fib ? ` (${routeText(fib)})` : ''}`;
}

/** The destination is one of this node's addresses. */
export function deliverStep(node: string, pkt: Pkt, fib: RouteGet | undefined): Step {
  return {
    kind: 'deliver',
    text: `${pkt.daddr} is local (${fib ? routeText(fib) : 'local route'}): delivered to ${node}${pkt.dport ? ` port ${pkt.dport}` : ''}`,
    data: { route: fib },
  };
}

/** The forwarding decision: next hop, device, and the FIB entry with its origin. */
export function routeStep(
  daddr: string,
  get: RouteGet,
  fib: RouteGet | undefined,
  gatewayNode?: string,
): Step {
  return {
    kind: 'route',
    text: `route to ${daddr}: ${get.gateway ? `via ${get.gateway}${gatewayNode ? ` (${gatewayNode})` : ''} ` : ''}dev ${get.dev}; FIB entry ${fib ? routeText(fib) : '?'} — ${installedBy(fib?.protocol)}`,
    data: { get, fib },
  };
}

/**
 * The neighbour entry that gives the next hop's MAC (or its absence). An IPv6 one (`ip -6
 * neigh`) is NDP's, and says when the neighbour advertised itself as a router.
 */
export function neighbourStep(nexthop: string, dev: string, neigh: NeighJson | undefined): Step {
  if (neigh?.lladdr) {
    const ndp =
      neighbourProtocol(nexthop) === 'NDP' ? `; NDP${neigh.router !== undefined ? ', a router' : ''}` : '';
    return {
      kind: 'neighbour',
      text: `neighbour ${nexthop} is ${neigh.lladdr} (${(neigh.state ?? []).join(',').toLowerCase()}${ndp}) on ${dev}`,
      data: { ...neigh },
    };
  }
  return {
    kind: 'neighbour',
    text: `neighbour ${nexthop}: no entry on ${dev} (no ${neighbourProtocol(nexthop)} answer)`,
  };
}
