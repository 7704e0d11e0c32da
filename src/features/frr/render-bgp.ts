// BGP intent -> frr.conf: each neighbour resolved (a router by name: its address on a shared
// subnet, else its loopback; an address; or a cluster: each of its workers on our subnets),
// the networks to announce, and the `router bgp` section with fast timers.
import type { Path } from '../../model/errors.js';
import type { Model, NodeModel } from '../../model/model.js';
import { contains, formatCidr, formatIp, networkOf, parseCidr, parseIp } from '../../util/ipv4.js';
import { frrSpecOf, type Report } from './render-common.js';
import { BGP_DEFAULT_TIMERS } from './spec.js';

export interface BgpNeighbor {
  addr: string;
  asn: number;
  node?: string;
  updateSource?: string;
  multihop: boolean;
  routeReflectorClient: boolean;
  nextHopSelf: boolean;
  bfd: boolean;
}

/** The address `node` reaches `peer` at: on a shared subnet, else the peer's loopback. */
function peerAddress(node: NodeModel, peer: NodeModel): { addr: string; direct: boolean } | undefined {
  for (const mine of node.ifaces) {
    const theirs = peer.ifaces.find((t) => t.segment === mine.segment && t.addr);
    if (theirs?.addr && mine.addr) return { addr: formatIp(theirs.addr.ip), direct: true };
  }
  const lo = frrSpecOf(peer).loopback;
  return lo ? { addr: lo, direct: false } : undefined;
}

/** The node that owns an address (an interface or a loopback). */
export function ownerOf(model: Model, ip: number): NodeModel | undefined {
  for (const n of model.nodes.values()) {
    if (n.ifaces.some((i) => i.addr?.ip === ip)) return n;
    const lo = frrSpecOf(n).loopback;
    if (lo && parseIp(lo) === ip) return n;
  }
  return undefined;
}

export function bgpNeighbors(node: NodeModel, model: Model, report: Report): BgpNeighbor[] {
  const bgp = frrSpecOf(node).bgp;
  if (!bgp) return [];
  const local = frrSpecOf(node).loopback;
  const out: BgpNeighbor[] = [];
  (bgp.neighbors ?? []).forEach((entry, idx) => {
    const path: Path = ['nodes', node.name, 'bgp', 'neighbors', idx];
    const n = typeof entry === 'string' ? { peer: entry } : entry;
    const peerPath = typeof entry === 'string' ? path : [...path, 'peer'];
    let addr: string;
    let peerNode: NodeModel | undefined;
    let direct = true;
    const ip = parseIp(n.peer);
    if (ip !== undefined) {
      addr = n.peer;
      peerNode = ownerOf(model, ip);
      direct = node.ifaces.some((i) => i.addr && contains(model.segments[i.segment].subnet, ip));
    } else {
      peerNode = model.nodes.get(n.peer);
      if (!peerNode) {
        const workers = clusterWorkers(model, n.peer);
        if (workers.length) {
          out.push(...clusterNeighbors(node, n.peer, workers, peerPath, report));
          return;
        }
        report(peerPath, `unknown node "${n.peer}" (give a router name, a cluster name or an IPv4 address)`);
        return;
      }
      if (peerNode === node) {
        report(peerPath, `${node.name} cannot peer with itself`);
        return;
      }
      const found = peerAddress(node, peerNode);
      if (!found) {
        report(
          peerPath,
          `${n.peer} shares no subnet with ${node.name} and has no loopback to peer with (give it loopback: <ip>)`,
        );
        return;
      }
      addr = found.addr;
      direct = found.direct;
    }
    if (peerNode === node) {
      report(peerPath, `${n.peer} is an address of ${node.name} itself`);
      return;
    }
    const peerAsn = peerNode ? frrSpecOf(peerNode).bgp?.asn : undefined;
    const asnGiven = typeof entry === 'string' ? undefined : entry.asn;
    if (asnGiven !== undefined && peerAsn !== undefined && asnGiven !== peerAsn) {
      report([...path, 'asn'], `${peerNode!.name} is in AS ${peerAsn}, not ${asnGiven}`);
      return;
    }
    const asn = asnGiven ?? peerAsn;
    if (asn === undefined) {
      report(
        path,
        `give the peer's AS number (asn:)${peerNode ? `: ${peerNode.name} has no bgp section` : ''}`,
      );
      return;
    }
    if (out.some((o) => o.addr === addr)) {
      report(peerPath, `${n.peer} (${addr}) is listed twice`);
      return;
    }
    let updateSource: string | undefined;
    if (!direct) {
      if (!local) {
        report(
          peerPath,
          `${n.peer} is not on a subnet of ${node.name}: a session to its loopback needs a loopback on ${node.name} too (loopback: <ip>)`,
        );
        return;
      }
      updateSource = local;
    }
    const opts: { routeReflectorClient?: boolean; nextHopSelf?: boolean; bfd?: boolean } =
      typeof entry === 'string' ? {} : entry;
    out.push({
      addr,
      asn,
      node: peerNode?.name,
      updateSource,
      multihop: !direct && asn !== bgp.asn,
      routeReflectorClient: opts.routeReflectorClient ?? false,
      nextHopSelf: opts.nextHopSelf ?? false,
      bfd: opts.bfd ?? false,
    });
  });
  return out;
}

/** The workers a cluster node expanded into. */
function clusterWorkers(model: Model, cluster: string): NodeModel[] {
  return [...model.nodes.values()].filter(
    (m) => m.kind === 'worker' && (m.spec as { cluster?: string }).cluster === cluster,
  );
}

/** A cluster as a neighbour: a session to each of its workers on this router's subnets. */
function clusterNeighbors(
  node: NodeModel,
  cluster: string,
  workers: NodeModel[],
  path: Path,
  report: Report,
): BgpNeighbor[] {
  const asn = (workers[0].spec as { clusterConfig?: { bgp?: { asn: number } } }).clusterConfig?.bgp?.asn;
  if (asn === undefined) {
    report(path, `cluster ${cluster} does not announce its pods over BGP (give it bgp: {asn: N})`);
    return [];
  }
  const out: BgpNeighbor[] = [];
  for (const w of workers) {
    const found = peerAddress(node, w);
    if (!found?.direct) continue;
    out.push({
      addr: found.addr,
      asn,
      node: w.name,
      multihop: false,
      routeReflectorClient: false,
      nextHopSelf: false,
      bfd: false,
    });
  }
  if (out.length === 0) report(path, `no worker of cluster ${cluster} is on a subnet of ${node.name}`);
  return out;
}

export function bgpNetworks(node: NodeModel, model: Model, report: Report): string[] {
  const s = frrSpecOf(node);
  const out: string[] = [];
  (s.bgp?.networks ?? []).forEach((net, idx) => {
    const path: Path = ['nodes', node.name, 'bgp', 'networks', idx];
    const c = parseCidr(net);
    if (c) {
      const n = networkOf(c.ip, c.prefix);
      if (n.net !== c.ip) report(path, `${net} has host bits set: the network is ${formatCidr(n)}`);
      else out.push(net);
      return;
    }
    if (net === 'lo' && s.loopback) {
      out.push(`${s.loopback}/32`);
      return;
    }
    const iface = node.ifaces.find((i) => i.name === net);
    if (!iface?.addr) {
      report(
        path,
        `"${net}" is neither a network like 10.1.0.0/24 nor an interface of ${node.name} (${node.ifaces.map((i) => i.name).join(', ')})`,
      );
      return;
    }
    out.push(formatCidr(model.segments[iface.segment].subnet));
  });
  return out;
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
  L.push(`router bgp ${b.asn}`);
  if (rid) L.push(` bgp router-id ${rid}`);
  // the topology states the intent: no policy is needed to exchange routes
  L.push(' no bgp ebgp-requires-policy', ' coalesce-time 0', ` timers bgp ${t.keepalive} ${t.hold}`);
  for (const n of neighbors) {
    L.push(` neighbor ${n.addr} remote-as ${n.asn}`);
    if (n.node) L.push(` neighbor ${n.addr} description ${n.node}`);
    L.push(` neighbor ${n.addr} timers connect ${t.connect}`, ` neighbor ${n.addr} advertisement-interval 0`);
    if (n.updateSource) L.push(` neighbor ${n.addr} update-source ${n.updateSource}`);
    if (n.multihop) L.push(` neighbor ${n.addr} ebgp-multihop 255`);
    if (n.bfd) L.push(` neighbor ${n.addr} bfd`);
  }
  L.push(' !', ' address-family ipv4 unicast');
  for (const net of networks) L.push(`  network ${net}`);
  for (const r of b.redistribute ?? []) L.push(`  redistribute ${r}`);
  for (const n of neighbors) {
    if (n.routeReflectorClient) L.push(`  neighbor ${n.addr} route-reflector-client`);
    if (n.nextHopSelf) L.push(`  neighbor ${n.addr} next-hop-self`);
  }
  L.push(' exit-address-family', 'exit', '!');
  return L;
}
