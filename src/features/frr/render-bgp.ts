// BGP intent -> frr.conf: the neighbours (render-bgp-peers.ts), the networks to announce, and
// the `router bgp` section with fast timers; IPv6 sessions and networks in `address-family
// ipv6 unicast` (FRR installs their routes via the peer's link-local next hop on a shared link).
import type { Path } from '../../model/errors.js';
import { hasFamily, type Model, type NodeModel } from '../../model/model.js';
import { formatCidr, networkOf, parseCidr } from '../../util/ipv4.js';
import { formatCidr6, formatIp6, networkOf6, parseCidr6, parseIp6 } from '../../util/ipv6.js';
import { type BgpNeighbor, bgpNeighbors } from './render-bgp-peers.js';
import { frrSpecOf, type Report } from './render-common.js';
import { BGP_DEFAULT_TIMERS } from './spec.js';

export { type BgpNeighbor, bgpNeighbors, ownerOf, ownerOf6 } from './render-bgp-peers.js';

/** The networks a router announces, by family (interfaces: their subnets of each family). */
export function bgpNetworks(node: NodeModel, model: Model, report: Report): { v4: string[]; v6: string[] } {
  const s = frrSpecOf(node);
  const v4: string[] = [];
  const v6: string[] = [];
  (s.bgp?.networks ?? []).forEach((net, idx) => {
    const path: Path = ['nodes', node.name, 'bgp', 'networks', idx];
    const c = parseCidr(net);
    if (c) {
      const n = networkOf(c.ip, c.prefix);
      if (n.net !== c.ip) report(path, `${net} has host bits set: the network is ${formatCidr(n)}`);
      else v4.push(net);
      return;
    }
    const c6 = parseCidr6(net);
    if (c6) {
      const n = networkOf6(c6.ip, c6.prefix);
      if (n.net !== c6.ip) report(path, `${net} has host bits set: the network is ${formatCidr6(n)}`);
      else v6.push(formatCidr6(n));
      return;
    }
    if (net === 'lo' && (s.loopback || s.loopback6)) {
      if (s.loopback) v4.push(`${s.loopback}/32`);
      if (s.loopback6 && hasFamily(model, 6)) v6.push(`${formatIp6(parseIp6(s.loopback6)!)}/128`);
      return;
    }
    const iface = node.ifaces.find((i) => i.name === net);
    if (!iface?.addr && !iface?.addr6) {
      report(
        path,
        `"${net}" is neither a network like 10.1.0.0/24 nor an interface of ${node.name} (${node.ifaces.map((i) => i.name).join(', ')})`,
      );
      return;
    }
    const seg = model.segments[iface.segment];
    if (iface.addr) v4.push(formatCidr(seg.subnet));
    if (iface.addr6 && seg.subnet6) v6.push(formatCidr6(seg.subnet6));
  });
  return { v4, v6 };
}

/** The `router bgp` section; [] without BGP intent. */
export function bgpLines(node: NodeModel, model: Model, rid: string | undefined, report: Report): string[] {
  const b = frrSpecOf(node).bgp;
  if (!b) return [];
  const L: string[] = [];
  const t = { ...BGP_DEFAULT_TIMERS, ...b.timers };
  if (t.hold !== 0 && (t.hold < 3 || t.hold <= t.keepalive))
    report(
      ['nodes', node.name, 'bgp', 'timers', 'hold'],
      `the hold time (${t.hold}) must be 0 or at least 3 and longer than keepalive (${t.keepalive})`,
    );
  const neighbors = bgpNeighbors(node, model, report);
  const networks = bgpNetworks(node, model, report);
  const v4 = neighbors.filter((n) => n.family === 4);
  const v6 = neighbors.filter((n) => n.family === 6);
  const has4 = hasFamily(model, 4);
  const has6 = hasFamily(model, 6) || v6.length > 0 || networks.v6.length > 0;
  L.push(`router bgp ${b.asn}`);
  if (rid) L.push(` bgp router-id ${rid}`);
  // the topology states the intent: no policy is needed to exchange routes
  L.push(' no bgp ebgp-requires-policy');
  // without IPv4, no session is activated for IPv4 unicast (FRR's traditional default does)
  if (!has4) L.push(' no bgp default ipv4-unicast');
  L.push(' coalesce-time 0', ` timers bgp ${t.keepalive} ${t.hold}`);
  for (const n of neighbors) {
    L.push(` neighbor ${n.addr}${n.unnumbered ? ' interface' : ''} remote-as ${n.asn}`);
    if (n.node) L.push(` neighbor ${n.addr} description ${n.node}`);
    L.push(` neighbor ${n.addr} timers connect ${t.connect}`, ` neighbor ${n.addr} advertisement-interval 0`);
    if (n.updateSource) L.push(` neighbor ${n.addr} update-source ${n.updateSource}`);
    if (n.multihop) L.push(` neighbor ${n.addr} ebgp-multihop 255`);
    if (n.bfd) L.push(` neighbor ${n.addr} bfd`);
  }
  const peerLines = (n: BgpNeighbor) => [
    ...(n.routeReflectorClient ? [`  neighbor ${n.addr} route-reflector-client`] : []),
    ...(n.nextHopSelf ? [`  neighbor ${n.addr} next-hop-self`] : []),
  ];
  if (has4) {
    L.push(' !', ' address-family ipv4 unicast');
    for (const net of networks.v4) L.push(`  network ${net}`);
    for (const r of b.redistribute ?? []) L.push(`  redistribute ${r}`);
    for (const n of v4) L.push(...peerLines(n));
    // an IPv6 session carries IPv6 unicast only (the traditional default activates IPv4 too);
    // an unnumbered one both, IPv4 routes with IPv6 next hops where the link has no IPv4 (RFC 5549)
    for (const n of v6) L.push(...(n.unnumbered ? peerLines(n) : [`  no neighbor ${n.addr} activate`]));
    L.push(' exit-address-family');
  }
  if (has6) {
    L.push(' !', ' address-family ipv6 unicast');
    for (const net of networks.v6) L.push(`  network ${net}`);
    for (const r of b.redistribute ?? []) L.push(`  redistribute ${r === 'ospf' ? 'ospf6' : r}`);
    for (const n of v6) L.push(`  neighbor ${n.addr} activate`, ...peerLines(n));
    L.push(' exit-address-family');
  }
  L.push('exit', '!');
  return L;
}
