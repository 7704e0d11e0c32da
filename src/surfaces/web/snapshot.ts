// The topology as the page draws it: nodes (grouped in their cluster), the topology's links
// and each pod's veth to its worker, with link state and rate from the interface counters;
// and what the page shows for one node (addresses, routes, FRR neighbours, pods).
import type { IfaceStats, NetnsStats } from '../../kernel/stats.js';
import { allPlugins, groupIndex, type NodeGroup } from '../../runtime/plugin.js';
import type { Simulation } from '../../runtime/simulation.js';
import { formatIp } from '../../util/ipv4.js';
import { formatIp6 } from '../../util/ipv6.js';
import type { SimReader } from '../metrics/reader.js';

export interface TopoNode {
  id: string;
  kind: string;
  /** the cluster box it is drawn in */
  parent?: string;
  cluster?: string;
  /** a pod's worker */
  worker?: string;
  ip?: string;
  ip6?: string;
}

export type EdgeState = 'up' | 'down' | 'unknown';

export interface TopoEdge {
  id: string;
  source: string;
  target: string;
  sourceIface: string;
  targetIface: string;
  /** a topology link, or a pod's veth to its worker */
  kind: 'link' | 'pod';
  /** joins nodes of two different clusters */
  interCluster: boolean;
  state: EdgeState;
  /** bits per second through the link (both directions), from the last two readings */
  bps?: number;
  rate?: string;
  delay?: string;
}

export interface TopoSnapshot {
  sim: string;
  clusters: { id: string; label: string; podCidr: string }[];
  nodes: TopoNode[];
  edges: TopoEdge[];
}

export const clusterBoxId = (name: string) => `cluster:${name}`;

/** Nodes and edges of the simulation as it is now (states filled in by `edgeStates`). */
export function snapshot(sim: Simulation): TopoSnapshot {
  const groups = groupIndex(sim);
  const nodes: TopoNode[] = [];
  for (const n of sim.nodes.values()) {
    const cluster = groups.get(n.name)?.name;
    nodes.push({
      id: n.name,
      kind: n.kind,
      parent: cluster ? clusterBoxId(cluster) : undefined,
      cluster,
      worker: sim.parentOf(n.name),
      ip: n.ip,
      ...(n.ip6 ? { ip6: n.ip6 } : {}),
    });
  }
  const edges: TopoEdge[] = [];
  const crosses = (a: string, b: string) => {
    const ca = groups.get(a)?.name;
    const cb = groups.get(b)?.name;
    return ca !== undefined && cb !== undefined && ca !== cb;
  };
  for (const l of sim.model.links) {
    const [a, b] = l.ends;
    edges.push({
      id: `l${l.index}`,
      source: a.node,
      target: b.node,
      sourceIface: a.name,
      targetIface: b.name,
      kind: 'link',
      interCluster: crosses(a.node, b.node),
      state: sim.linkState(l.index) === 'down' ? 'down' : 'unknown',
      rate: typeof l.spec.rate === 'string' ? l.spec.rate : undefined,
      delay: typeof l.spec.delay === 'string' ? l.spec.delay : undefined,
    });
  }
  // nodes made at run time (pods) hang off the node they live in by their first interface
  for (const n of sim.nodes.values()) {
    if (sim.parentOf(n.name) === undefined) continue;
    const i = n.model.ifaces[0];
    if (!i || !sim.nodes.has(i.peer.node)) continue;
    edges.push({
      id: `pod:${n.name}`,
      source: n.name,
      target: i.peer.node,
      sourceIface: i.name,
      targetIface: i.peer.name,
      kind: 'pod',
      interCluster: false,
      state: 'unknown',
    });
  }
  return {
    sim: sim.name,
    clusters: [...new Set(groups.values())].map((g) => ({
      id: clusterBoxId(g.name),
      label: g.name,
      podCidr: g.detail ?? '',
    })),
    nodes,
    edges,
  };
}

function ifaceOf(stats: Map<string, NetnsStats>, sim: Simulation, node: string, ifname: string) {
  const n = sim.nodes.get(node);
  return n ? stats.get(n.ns)?.ifaces.find((i) => i.ifname === ifname) : undefined;
}

const isUp = (i: IfaceStats | undefined) => !!i && i.flags.includes('UP') && i.flags.includes('LOWER_UP');

/**
 * Each edge's state (up when both ends are up with a carrier) and, given the previous
 * reading, its rate in bits per second (bytes through the source end, both directions).
 */
export class EdgeMeter {
  private last?: { at: number; bytes: Map<string, number> };

  measure(
    sim: Simulation,
    edges: TopoEdge[],
    stats: Map<string, NetnsStats>,
  ): Record<string, { state: EdgeState; bps?: number }> {
    const now = performance.now();
    const bytes = new Map<string, number>();
    const out: Record<string, { state: EdgeState; bps?: number }> = {};
    for (const e of edges) {
      const a = ifaceOf(stats, sim, e.source, e.sourceIface);
      const b = ifaceOf(stats, sim, e.target, e.targetIface);
      const state: EdgeState = !a && !b ? 'unknown' : isUp(a) && isUp(b) ? 'up' : 'down';
      let bps: number | undefined;
      if (a) {
        const total = a.rx.bytes + a.tx.bytes;
        bytes.set(e.id, total);
        const before = this.last?.bytes.get(e.id);
        if (before !== undefined && now > this.last!.at)
          bps = Math.max(0, ((total - before) * 8 * 1000) / (now - this.last!.at));
      }
      out[e.id] = { state, bps };
    }
    this.last = { at: now, bytes };
    return out;
  }
}

export interface NodeDetails {
  name: string;
  kind: string;
  ns: string;
  cluster?: string;
  worker?: string;
  ip?: string;
  ip6?: string;
  labels?: Record<string, string>;
  interfaces: { name: string; state: string; mac?: string; mtu?: number; addrs: string[]; peer?: string }[];
  routes: string[];
  frr?: { protocol: string; neighbor: string; state: string; up: boolean; iface?: string }[];
  pods?: { name: string; ip?: string; worker: string }[];
  workload?: unknown;
}

/** What the page shows when a node is clicked: read live (addresses, routes, FRR neighbours). */
export async function nodeDetails(sim: Simulation, reader: SimReader, name: string): Promise<NodeDetails> {
  const n = sim.node(name);
  const stats = (await reader.netns.get()).get(n.ns);
  const peers = new Map(n.intfs.map((i) => [i.name, `${i.peer.node}:${i.peer.name}`]));
  const out: NodeDetails = {
    name: n.name,
    kind: n.kind,
    ns: n.ns,
    ip: n.ip,
    ...(n.ip6 ? { ip6: n.ip6 } : {}),
    cluster: groupIndex(sim).get(n.name)?.name,
    worker: sim.parentOf(n.name),
    interfaces: (stats?.ifaces ?? []).map((i) => ({
      name: i.ifname,
      state: isUp(i) ? 'up' : i.flags.includes('UP') ? 'no carrier' : 'down',
      mac: i.address,
      mtu: i.mtu,
      addrs: i.addrs,
      peer: peers.get(i.ifname),
    })),
    routes: (stats?.routes ?? []).map(
      (r) =>
        `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}${r.protocol ? ` proto ${r.protocol}` : ''}`,
    ),
  };
  if (!stats)
    out.interfaces = n.intfs.map((i) => ({
      name: i.name,
      state: 'unknown',
      addrs: [
        ...(i.addr ? [`${formatIp(i.addr.ip)}/${i.addr.prefix}`] : []),
        ...(i.addr6 ? [`${formatIp6(i.addr6.ip)}/${i.addr6.prefix}`] : []),
      ],
      peer: `${i.peer.node}:${i.peer.name}`,
    }));
  // what features add (FRR neighbours, a pod's labels, its workload)
  for (const plugin of allPlugins()) Object.assign(out, await plugin.nodeDetails?.(sim, n));
  const children = childrenOf(sim, (name) => sim.parentOf(name) === n.name);
  if (children.length) out.pods = children;
  return out;
}

/** Nodes made at run time (pods) that `pick` selects, with the node each lives in. */
function childrenOf(sim: Simulation, pick: (name: string) => boolean) {
  return [...sim.nodes.values()]
    .filter((c) => sim.parentOf(c.name) !== undefined && pick(c.name))
    .map((c) => ({ name: c.name, ip: c.ip, worker: sim.parentOf(c.name)! }));
}

/** Details of a cluster box: its pods. */
export function clusterDetails(sim: Simulation, name: string): NodeDetails | undefined {
  const g: NodeGroup | undefined = [...new Set(groupIndex(sim).values())].find((x) => x.name === name);
  if (!g) return undefined;
  const members = new Set(g.members);
  return {
    name: g.name,
    kind: g.kind,
    ns: '',
    interfaces: [],
    routes: [],
    pods: childrenOf(sim, (c) => members.has(c)),
  };
}
