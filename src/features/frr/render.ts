// High-level routing intent (ospf/bgp/static routes in the topology) -> frr.conf text.
// Names are resolved against the model (interfaces, peers, subnets); every problem is
// reported at the field that caused it. Rendered configs use point-to-point OSPF on links
// with two routers and short timers so simulations converge in seconds.
import type { z } from 'zod';
import type { Path } from '../../model/errors.js';
import { resolveNextHop } from '../../model/kinds/l3.js';
import { kindOf } from '../../model/kinds/registry.js';
import type { Model, NodeModel } from '../../model/model.js';
import { contains, formatCidr, formatIp, networkOf, parseCidr, parseIp } from '../../util/ipv4.js';
import {
  BGP_DEFAULT_TIMERS,
  type FrrRouterSpec,
  OSPF_DEFAULT_TIMERS,
  type ospfInterfaceSpec,
} from './spec.js';

type OspfInterfaceSpec = z.infer<typeof ospfInterfaceSpec>;

export type Report = (path: Path, message: string) => void;

export interface OspfInterface {
  name: string;
  area: string;
  cost?: number;
  passive: boolean;
  network?: 'point-to-point' | 'broadcast';
}

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

/** Dotted form of an area (0 -> 0.0.0.0), the form FRR prints. */
export function areaId(a: number | string): string {
  return typeof a === 'number' ? formatIp(a >>> 0) : a;
}

function specOf(node: NodeModel): FrrRouterSpec {
  return node.spec as FrrRouterSpec;
}

/** Does this node run OSPF (intent, or a user's frr.conf that may)? */
function speaksOspf(n: NodeModel): boolean {
  const s = specOf(n);
  return n.kind === 'router' && (s.ospf !== undefined || s.frr !== undefined);
}

/** The router id a rendered config uses: explicit, the loopback, or the first address. */
export function routerIdOf(node: NodeModel): string | undefined {
  const s = specOf(node);
  if (s.routerId) return s.routerId;
  if (s.loopback) return s.loopback;
  const a = node.ifaces.find((i) => i.addr)?.addr;
  return a ? formatIp(a.ip) : undefined;
}

export function ospfInterfaces(node: NodeModel, model: Model, report: Report): OspfInterface[] {
  const s = specOf(node);
  const ospf = s.ospf;
  if (!ospf) return [];
  const base: Path = ['nodes', node.name, 'ospf', 'interfaces'];
  const names = node.ifaces.map((i) => i.name);
  const known = (name: string) => name === 'lo' || names.includes(name);
  const wanted: { name: string; path: Path; opts: OspfInterfaceSpec }[] = [];
  if (ospf.interfaces === undefined) {
    for (const n of names) wanted.push({ name: n, path: base, opts: {} });
    if (s.loopback) wanted.push({ name: 'lo', path: base, opts: {} });
  } else if (Array.isArray(ospf.interfaces)) {
    ospf.interfaces.forEach((n, idx) => {
      wanted.push({ name: n, path: [...base, idx], opts: {} });
    });
  } else {
    for (const [n, opts] of Object.entries(ospf.interfaces))
      wanted.push({ name: n, path: [...base, n], opts: opts ?? {} });
  }
  const out: OspfInterface[] = [];
  for (const w of wanted) {
    if (!known(w.name)) {
      report(
        w.path,
        `${node.name} has no interface ${w.name} (its interfaces: ${names.length ? names.join(', ') : 'none'}${names.length ? ', lo' : ''})`,
      );
      continue;
    }
    if (out.some((o) => o.name === w.name)) {
      report(w.path, `interface ${w.name} is listed twice`);
      continue;
    }
    const opts = w.opts;
    const iface = node.ifaces.find((i) => i.name === w.name);
    let passive = opts.passive;
    let network = opts.network;
    if (!iface) {
      passive = true; // lo: its address is announced, nothing to talk to
    } else {
      const seg = model.segments[iface.segment];
      const others = seg.ifaces.filter((i) => i.node !== node.name);
      passive ??= !others.some((i) => speaksOspf(model.nodes.get(i.node)!));
      // two routers alone on a subnet: no DR election (which waits a whole dead interval)
      network ??=
        seg.ifaces.length === 2 && others.every((i) => kindOf(model.nodes.get(i.node)!.kind).forwards)
          ? 'point-to-point'
          : undefined;
    }
    out.push({
      name: w.name,
      area: areaId(opts.area ?? ospf.area ?? 0),
      cost: opts.cost ?? ospf.cost,
      passive,
      network,
    });
  }
  return out;
}

/** The address `node` reaches `peer` at: on a shared subnet, else the peer's loopback. */
function peerAddress(node: NodeModel, peer: NodeModel): { addr: string; direct: boolean } | undefined {
  for (const mine of node.ifaces) {
    const theirs = peer.ifaces.find((t) => t.segment === mine.segment && t.addr);
    if (theirs?.addr && mine.addr) return { addr: formatIp(theirs.addr.ip), direct: true };
  }
  const lo = specOf(peer).loopback;
  return lo ? { addr: lo, direct: false } : undefined;
}

/** The node that owns an address (an interface or a loopback). */
export function ownerOf(model: Model, ip: number): NodeModel | undefined {
  for (const n of model.nodes.values()) {
    if (n.ifaces.some((i) => i.addr?.ip === ip)) return n;
    const lo = specOf(n).loopback;
    if (lo && parseIp(lo) === ip) return n;
  }
  return undefined;
}

export function bgpNeighbors(node: NodeModel, model: Model, report: Report): BgpNeighbor[] {
  const bgp = specOf(node).bgp;
  if (!bgp) return [];
  const local = specOf(node).loopback;
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
    const peerAsn = peerNode ? specOf(peerNode).bgp?.asn : undefined;
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
  const s = specOf(node);
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

/** Renders the frr.conf of a router from its intent; undefined when it has none. */
export function renderConfig(node: NodeModel, model: Model, report: Report): string | undefined {
  const s = specOf(node);
  if (!s.ospf && !s.bgp) return undefined;
  const rid = routerIdOf(node);
  const L: string[] = [
    `! rendered by netsim from the topology (${node.name}); edit the topology, not this file`,
    'frr defaults traditional',
    `hostname ${node.name}`,
    'service integrated-vtysh-config',
    '!',
  ];
  for (const r of s.routes ?? []) {
    const dst = r.dst === 'default' ? '0.0.0.0/0' : r.dst;
    const parts = [`ip route ${dst}`];
    if (r.via) {
      const ip = parseIp(r.via);
      const hop = ip !== undefined ? ip : resolveNextHop(model, node, r.via);
      if (typeof hop === 'number') parts.push(formatIp(hop));
    }
    if (r.dev) parts.push(r.dev);
    if (r.metric !== undefined) parts.push(String(Math.min(255, Math.max(1, r.metric))));
    L.push(parts.join(' '));
  }
  if (s.routes?.length) L.push('!');
  const ospfIfaces = ospfInterfaces(node, model, report);
  if (s.ospf) {
    const t = { ...OSPF_DEFAULT_TIMERS, ...s.ospf.timers };
    if (t.dead <= t.hello)
      report(
        ['nodes', node.name, 'ospf', 'timers', 'dead'],
        `the dead interval (${t.dead}) must be longer than the hello interval (${t.hello})`,
      );
    // router ospf (with its router-id) comes first: an `ip ospf area` line creates the
    // instance, and one created with zebra's router-id would say hello under that id first,
    // leaving a stale neighbour in Init on the other side until its dead interval
    const ifLines: string[] = [];
    for (const i of ospfIfaces) {
      ifLines.push(`interface ${i.name}`, ` ip ospf area ${i.area}`);
      if (i.name !== 'lo') {
        if (i.network) ifLines.push(` ip ospf network ${i.network}`);
        ifLines.push(` ip ospf hello-interval ${t.hello}`, ` ip ospf dead-interval ${t.dead}`);
        if (s.ospf.bfd && !i.passive) ifLines.push(' ip ospf bfd');
      }
      if (i.cost !== undefined) ifLines.push(` ip ospf cost ${i.cost}`);
      ifLines.push('exit', '!');
    }
    L.push('router ospf');
    if (rid) L.push(` ospf router-id ${rid}`);
    // FRR rate-limits LSA origination to one per 5 s and SPF runs: fine for a WAN, slow for
    // a simulation that is torn down and rebuilt in seconds
    L.push(' timers throttle spf 0 50 500', ' timers throttle lsa all 0', ' timers lsa min-arrival 0');
    for (const i of ospfIfaces) if (i.passive && i.name !== 'lo') L.push(` passive-interface ${i.name}`);
    for (const r of s.ospf.redistribute ?? []) L.push(` redistribute ${r}`);
    L.push('exit', '!', ...ifLines);
  }
  if (s.bgp) {
    const b = s.bgp;
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
      L.push(
        ` neighbor ${n.addr} timers connect ${t.connect}`,
        ` neighbor ${n.addr} advertisement-interval 0`,
      );
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
  }
  L.push('end');
  return `${L.join('\n')}\n`;
}

/** Whether the rendered config needs bfdd. */
export function needsBfd(node: NodeModel): boolean {
  const s = specOf(node);
  return Boolean(s.ospf?.bfd || s.bgp?.neighbors?.some((n) => typeof n !== 'string' && n.bfd));
}
