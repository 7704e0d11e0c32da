// BGP neighbours of a router's intent, resolved against the model: a router by name (its
// address on a shared subnet, else its loopback; in a topology with IPv6 also its IPv6
// address or loopback6, a second session that carries IPv6 unicast), an IPv4 or IPv6 address,
// or a cluster (each of its workers on our subnets, IPv4).
import type { Path } from '../../model/errors.js';
import { type Family, hasFamily, type Model, type NodeModel } from '../../model/model.js';
import { contains, formatIp, parseIp } from '../../util/ipv4.js';
import { contains6, formatIp6, parseIp6 } from '../../util/ipv6.js';
import { frrSpecOf, type Report } from './render-common.js';

export interface BgpNeighbor {
  addr: string;
  asn: number;
  /** the session's family: 4 carries IPv4 unicast, 6 IPv6 unicast */
  family: Family;
  node?: string;
  /** an unnumbered session: `addr` is our interface on the link (FRR's `neighbor IFNAME interface`) */
  unnumbered?: boolean;
  updateSource?: string;
  multihop: boolean;
  routeReflectorClient: boolean;
  nextHopSelf: boolean;
  bfd: boolean;
}

interface Found {
  addr: string;
  direct: boolean;
  family: Family;
  unnumbered?: boolean;
}

/** Our interface on the point-to-point link we share with `peer` (an unnumbered session runs on it). */
function sharedLink(node: NodeModel, peer: NodeModel, model: Model): { iface: string } | { error: string } {
  const mine = node.ifaces.find((i) => peer.ifaces.some((t) => t.segment === i.segment));
  if (!mine) return { error: `an unnumbered session needs a link shared with ${peer.name}` };
  if (model.segments[mine.segment].ifaces.length !== 2)
    return {
      error: `an unnumbered session runs on a link between two nodes; ${node.name}'s ${mine.name} to ${peer.name} is a LAN`,
    };
  return { iface: mine.name };
}

/** The address `node` reaches `peer` at in a family: on a shared subnet, else the peer's loopback. */
function peerAddress(node: NodeModel, peer: NodeModel, family: Family): Found | undefined {
  for (const mine of node.ifaces) {
    const theirs = peer.ifaces.find((t) => t.segment === mine.segment && (family === 4 ? t.addr : t.addr6));
    if (family === 4 && theirs?.addr && mine.addr)
      return { addr: formatIp(theirs.addr.ip), direct: true, family };
    if (family === 6 && theirs?.addr6 && mine.addr6)
      return { addr: formatIp6(theirs.addr6.ip), direct: true, family };
  }
  const lo = family === 4 ? frrSpecOf(peer).loopback : frrSpecOf(peer).loopback6;
  return lo ? { addr: family === 4 ? lo : formatIp6(parseIp6(lo)!), direct: false, family } : undefined;
}

/** The node that owns an IPv4 address (an interface or a loopback). */
export function ownerOf(model: Model, ip: number): NodeModel | undefined {
  for (const n of model.nodes.values()) {
    if (n.ifaces.some((i) => i.addr?.ip === ip)) return n;
    const lo = frrSpecOf(n).loopback;
    if (lo && parseIp(lo) === ip) return n;
  }
  return undefined;
}

/** The node that owns an IPv6 address (an interface or a loopback6). */
export function ownerOf6(model: Model, ip: bigint): NodeModel | undefined {
  for (const n of model.nodes.values()) {
    if (n.ifaces.some((i) => i.addr6?.ip === ip)) return n;
    const lo = frrSpecOf(n).loopback6;
    if (lo && parseIp6(lo) === ip) return n;
  }
  return undefined;
}

/** A peer given as an address: its family, owner, and whether it is on one of our subnets. */
function byAddress(
  node: NodeModel,
  model: Model,
  peer: string,
): { found: Found; owner?: NodeModel } | undefined {
  const ip = parseIp(peer);
  if (ip !== undefined) {
    const direct = node.ifaces.some((i) => i.addr && contains(model.segments[i.segment].subnet, ip));
    return { found: { addr: peer, direct, family: 4 }, owner: ownerOf(model, ip) };
  }
  const ip6 = parseIp6(peer);
  if (ip6 === undefined) return undefined;
  const direct = node.ifaces.some((i) => {
    const sub = model.segments[i.segment].subnet6;
    return i.addr6 !== undefined && sub !== undefined && contains6(sub, ip6);
  });
  return { found: { addr: formatIp6(ip6), direct, family: 6 }, owner: ownerOf6(model, ip6) };
}

export function bgpNeighbors(node: NodeModel, model: Model, report: Report): BgpNeighbor[] {
  const bgp = frrSpecOf(node).bgp;
  if (!bgp) return [];
  const out: BgpNeighbor[] = [];
  (bgp.neighbors ?? []).forEach((entry, idx) => {
    const path: Path = ['nodes', node.name, 'bgp', 'neighbors', idx];
    const n = typeof entry === 'string' ? { peer: entry } : entry;
    const peerPath = typeof entry === 'string' ? path : [...path, 'peer'];
    let peerNode: NodeModel | undefined;
    let sessions: Found[];
    const given = byAddress(node, model, n.peer);
    if (given) {
      peerNode = given.owner;
      sessions = [given.found];
    } else {
      peerNode = model.nodes.get(n.peer);
      if (!peerNode) {
        const workers = clusterWorkers(model, n.peer);
        if (workers.length) {
          out.push(...clusterNeighbors(node, n.peer, workers, peerPath, report));
          return;
        }
        report(
          peerPath,
          `unknown node "${n.peer}" (give a router name, a cluster name or an IPv4 or IPv6 address)`,
        );
        return;
      }
      if (peerNode === node) {
        report(peerPath, `${node.name} cannot peer with itself`);
        return;
      }
      if (typeof entry !== 'string' && entry.unnumbered) {
        const link = sharedLink(node, peerNode, model);
        if ('error' in link) {
          report([...path, 'unnumbered'], link.error);
          return;
        }
        sessions = [{ addr: link.iface, direct: true, family: 6, unnumbered: true }];
      } else sessions = model.families.flatMap((f) => peerAddress(node, peerNode!, f) ?? []);
      if (sessions.length === 0) {
        const lo = hasFamily(model, 4) ? 'loopback: <ip>' : 'loopback6: <ipv6>';
        report(
          peerPath,
          `${n.peer} shares no subnet with ${node.name} and has no loopback to peer with (give it ${lo})`,
        );
        return;
      }
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
    const opts: { routeReflectorClient?: boolean; nextHopSelf?: boolean; bfd?: boolean } =
      typeof entry === 'string' ? {} : entry;
    for (const s of sessions) {
      if (out.some((o) => o.addr === s.addr)) {
        report(peerPath, `${n.peer} (${s.addr}) is listed twice`);
        return;
      }
      let updateSource: string | undefined;
      if (!s.direct) {
        const local = s.family === 4 ? frrSpecOf(node).loopback : frrSpecOf(node).loopback6;
        if (!local) {
          report(
            peerPath,
            `${n.peer} is not on a subnet of ${node.name}: a session to its loopback needs a loopback on ${node.name} too (${s.family === 4 ? 'loopback: <ip>' : 'loopback6: <ipv6>'})`,
          );
          return;
        }
        updateSource = s.family === 4 ? local : formatIp6(parseIp6(local)!);
      }
      out.push({
        addr: s.addr,
        asn,
        family: s.family,
        node: peerNode?.name,
        ...(s.unnumbered ? { unnumbered: true } : {}),
        updateSource,
        multihop: !s.direct && asn !== bgp.asn,
        routeReflectorClient: opts.routeReflectorClient ?? false,
        nextHopSelf: opts.nextHopSelf ?? false,
        bfd: opts.bfd ?? false,
      });
    }
  });
  return out;
}

/** The workers a cluster node expanded into. */
function clusterWorkers(model: Model, cluster: string): NodeModel[] {
  return [...model.nodes.values()].filter(
    (m) => m.kind === 'worker' && (m.spec as { cluster?: string }).cluster === cluster,
  );
}

/** A cluster as a neighbour: a session to each of its workers on this router's subnets (IPv4). */
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
    const found = peerAddress(node, w, 4);
    if (!found?.direct) continue;
    out.push({
      addr: found.addr,
      asn,
      family: 4,
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
