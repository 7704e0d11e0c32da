// The topology as the page draws it: nodes (grouped in their cluster), the topology's links
// and each pod's veth to its worker, with link state and rate from the interface counters;
// and what the page shows for one node (addresses, routes, FRR neighbours, pods).
import { RouterNode } from '../../features/frr/node.js';
import type { Cluster } from '../../features/k8s/cluster.js';
import { PodNode } from '../../features/k8s/pod.js';
import { workloadsOf } from '../../features/workload/player.js';
import type { IfaceStats, NetnsStats } from '../../kernel/stats.js';
import type { Simulation } from '../../runtime/simulation.js';
import { formatIp } from '../../util/ipv4.js';
import { clustersOf, frrNeighbors, type SimReader } from '../metrics/reader.js';
import { clusterLabel } from '../metrics/registry.js';

export interface TopoNode {
  id: string;
  kind: string;
  /** the cluster box it is drawn in */
  parent?: string;
  cluster?: string;
  /** a pod's worker */
  worker?: string;
  ip?: string;
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
  const clusters = clustersOf(sim);
  const nodes: TopoNode[] = [];
  for (const n of sim.nodes.values()) {
    const cluster = clusterLabel(sim, n.name) || undefined;
    nodes.push({
      id: n.name,
      kind: n.kind,
      parent: cluster ? clusterBoxId(cluster) : undefined,
      cluster,
      worker: n instanceof PodNode ? n.worker : undefined,
      ip: n.ip,
    });
  }
  const edges: TopoEdge[] = [];
  const crosses = (a: string, b: string) => {
    const ca = clusterLabel(sim, a);
    const cb = clusterLabel(sim, b);
    return ca !== '' && cb !== '' && ca !== cb;
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
      state: l.spec.state === 'down' ? 'down' : 'unknown',
      rate: typeof l.spec.rate === 'string' ? l.spec.rate : undefined,
      delay: typeof l.spec.delay === 'string' ? l.spec.delay : undefined,
    });
  }
  for (const n of sim.nodes.values()) {
    if (!(n instanceof PodNode)) continue;
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
    clusters: clusters.map((c) => ({ id: clusterBoxId(c.name), label: c.name, podCidr: c.config.podCidr })),
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
    cluster: clusterLabel(sim, n.name) || undefined,
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
      addrs: i.addr ? [`${formatIp(i.addr.ip)}/${i.addr.prefix}`] : [],
      peer: `${i.peer.node}:${i.peer.name}`,
    }));
  if (n instanceof RouterNode && n.frr) out.frr = await frrNeighbors(n).catch(() => []);
  if (n instanceof PodNode) {
    out.worker = n.worker;
    out.labels = n.labels;
    out.workload = workloadsOf(sim).get(n.name);
  }
  const cluster = out.cluster ? (sim.objects.get(out.cluster) as Cluster | undefined) : undefined;
  if (cluster && n.kind === 'worker')
    out.pods = cluster
      .localPods()
      .filter((p) => p.worker === n.name)
      .map((p) => ({ name: p.name, ip: p.ip, worker: p.worker }));
  return out;
}

/** Details of a cluster box: its pods. */
export function clusterDetails(sim: Simulation, name: string): NodeDetails | undefined {
  const c = clustersOf(sim).find((x) => x.name === name);
  if (!c) return undefined;
  return {
    name: c.name,
    kind: 'cluster',
    ns: '',
    interfaces: [],
    routes: [],
    pods: c.localPods().map((p) => ({ name: p.name, ip: p.ip, worker: p.worker })),
  };
}
