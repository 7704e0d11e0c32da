// What FRR shows the web view and /metrics: each router's OSPF neighbours and BGP peers, read
// through one vtysh per router and cached briefly (a page and a scrape share one read).
import { ObjectKey } from '../../runtime/objects.js';
import type { MetricFamily } from '../../runtime/plugin.js';
import type { Simulation } from '../../runtime/simulation.js';
import { Cached } from '../../util/cached.js';
import { RouterNode } from './node.js';
import { parseBgpSummary } from './show-bgp.js';
import { parseOspfNeighbors } from './show-ospf.js';
import { parseOspf6Neighbors } from './show-ospf6.js';
import { vtyshSections } from './vtysh.js';

export interface FrrNeighbor {
  protocol: 'ospf' | 'ospf6' | 'bgp';
  /** OSPF, OSPFv3: the neighbour's router id; BGP: the peer address */
  neighbor: string;
  state: string;
  /** Full (or 2-Way between DROthers) / Established */
  up: boolean;
  iface?: string;
  address?: string;
  remoteAs?: number;
}

const OSPF_NBR = 'show ip ospf neighbor json';
const OSPF6_NBR = 'show ipv6 ospf6 neighbor json';
const BGP_SUM = 'show bgp summary json';

/** OSPF neighbours and BGP peers of one router, from the daemons that run (none without FRR). */
export async function frrNeighbors(r: RouterNode): Promise<FrrNeighbor[]> {
  const frr = r.frr;
  if (!frr?.isRunning('zebra')) return [];
  const cmds: string[] = [];
  if (frr.isRunning('ospfd')) cmds.push(OSPF_NBR);
  if (frr.isRunning('ospf6d')) cmds.push(OSPF6_NBR);
  if (frr.isRunning('bgpd')) cmds.push(BGP_SUM);
  if (cmds.length === 0) return [];
  const out = await vtyshSections(frr, cmds);
  const res: FrrNeighbor[] = [];
  if (out.has(OSPF_NBR))
    for (const n of parseOspfNeighbors(out.get(OSPF_NBR)!))
      res.push({
        protocol: 'ospf',
        neighbor: n.routerId,
        state: n.state,
        up: n.state === 'Full' || n.state === '2-Way',
        iface: n.iface,
        address: n.address,
      });
  if (out.has(OSPF6_NBR))
    for (const n of parseOspf6Neighbors(out.get(OSPF6_NBR)!))
      res.push({
        protocol: 'ospf6',
        neighbor: n.routerId,
        state: n.state,
        up: n.state === 'Full' || n.state === '2-Way',
        iface: n.iface,
      });
  if (out.has(BGP_SUM))
    for (const p of parseBgpSummary(out.get(BGP_SUM)!).peers)
      res.push({
        protocol: 'bgp',
        neighbor: p.peer,
        state: p.state,
        up: p.state === 'Established',
        remoteAs: p.remoteAs,
      });
  return res;
}

const NEIGHBORS = new ObjectKey<Cached<Map<string, FrrNeighbor[]>>>('frr neighbours');

/** Every FRR router's neighbours, read at most once a second. */
export function neighborsOf(sim: Simulation): Cached<Map<string, FrrNeighbor[]>> {
  return sim.objects.state(
    NEIGHBORS,
    () =>
      new Cached(1000, async () => {
        const routers = [...sim.nodes.values()].filter(
          (n): n is RouterNode => n instanceof RouterNode && !!n.frr,
        );
        const res = await Promise.all(
          routers.map(async (r) => [r.name, await frrNeighbors(r).catch(() => [])] as const),
        );
        return new Map(res);
      }),
  );
}

export function frrMetrics(sim: Simulation): MetricFamily[] {
  return [
    {
      name: 'netsim_frr_neighbor_up',
      help: 'FRR neighbours: 1 when the OSPF or OSPFv3 adjacency is Full (2-Way between DROthers) or the BGP session Established; the state is a label',
      type: 'gauge',
      labels: ['node', 'protocol', 'neighbor', 'state'],
      async collect() {
        const out = [];
        for (const [node, list] of await neighborsOf(sim).get())
          for (const n of list)
            out.push({
              labels: { node, protocol: n.protocol, neighbor: n.neighbor, state: n.state },
              value: n.up ? 1 : 0,
            });
        return out;
      },
    },
  ];
}
