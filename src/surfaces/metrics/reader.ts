// What the web view and /metrics read from a running simulation, each in as few processes as
// possible (kernel counters through the kernel layer, one process per namespace; FRR through
// one vtysh per router; nftables counters of every worker at once), and cached briefly so a
// page refresh and a Prometheus scrape in the same moment read the kernel once.
import { RouterNode } from '../../features/frr/node.js';
import { parseBgpSummary } from '../../features/frr/show-bgp.js';
import { parseOspfNeighbors } from '../../features/frr/show-ospf.js';
import { vtyshSections } from '../../features/frr/vtysh.js';
import { Cluster } from '../../features/k8s/cluster.js';
import { type NetnsStats, netnsStats, nftTables } from '../../kernel/stats.js';
import type { Simulation } from '../../runtime/simulation.js';

export interface FrrNeighbor {
  protocol: 'ospf' | 'bgp';
  /** OSPF: the neighbour's router id; BGP: the peer address */
  neighbor: string;
  state: string;
  /** Full (or 2-Way between DROthers) / Established */
  up: boolean;
  iface?: string;
  address?: string;
  remoteAs?: number;
}

export interface EndpointCounter {
  cluster: string;
  namespace: string;
  service: string;
  protocol: string;
  endpoint: string;
  packets: number;
  bytes: number;
}

const OSPF_NBR = 'show ip ospf neighbor json';
const BGP_SUM = 'show bgp summary json';

/** OSPF neighbours and BGP peers of one router, from the daemons that run (none without FRR). */
export async function frrNeighbors(r: RouterNode): Promise<FrrNeighbor[]> {
  const frr = r.frr;
  if (!frr?.isRunning('zebra')) return [];
  const cmds: string[] = [];
  if (frr.isRunning('ospfd')) cmds.push(OSPF_NBR);
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

/** `endpoint-<hash>-<ns>/<svc>/<proto>[:<port name>]__<ip>/<port>`, as kube-proxy names them. */
const ENDPOINT_CHAIN =
  /^endpoint-[A-Z2-7]{8}-([^/]+)\/([^/]+)\/(tcp|udp|sctp|icmp)[^_]*__([\d.]+(?:\/\d+)?)$/;

interface NftRule {
  rule?: { chain: string; expr: { counter?: { packets: number; bytes: number } }[] };
}

/** Packets and bytes DNATed to each endpoint, summed over the cluster's workers. */
export function endpointCounters(cluster: string, tables: unknown[][]): EndpointCounter[] {
  const out = new Map<string, EndpointCounter>();
  for (const table of tables)
    for (const x of table as NftRule[]) {
      const m = x.rule ? ENDPOINT_CHAIN.exec(x.rule.chain) : null;
      const c = m && x.rule!.expr.find((e) => e.counter)?.counter;
      if (!m || !c) continue;
      const key = `${m[1]}/${m[2]}/${m[3]}/${m[4]}`;
      const e = out.get(key) ?? {
        cluster,
        namespace: m[1],
        service: m[2],
        protocol: m[3],
        endpoint: m[4],
        packets: 0,
        bytes: 0,
      };
      e.packets += c.packets;
      e.bytes += c.bytes;
      out.set(key, e);
    }
  return [...out.values()];
}

/** The clusters of a simulation (live objects with workers). */
export function clustersOf(sim: Simulation): Cluster[] {
  return [...sim.objects.values()].filter((o): o is Cluster => o instanceof Cluster);
}

class Cached<T> {
  private at = 0;
  private value?: Promise<T>;
  constructor(
    private readonly maxAgeMs: number,
    private readonly load: () => Promise<T>,
  ) {}

  get(): Promise<T> {
    if (!this.value || performance.now() - this.at > this.maxAgeMs) {
      this.at = performance.now();
      this.value = this.load();
      this.value.catch(() => {
        this.value = undefined;
      });
    }
    return this.value;
  }

  /** The next get() reads again (the state just changed). */
  invalidate(): void {
    this.value = undefined;
  }
}

export class SimReader {
  readonly netns: Cached<Map<string, NetnsStats>>;
  readonly frr: Cached<Map<string, FrrNeighbor[]>>;
  readonly endpoints: Cached<EndpointCounter[]>;
  readonly etcd: Cached<{ cluster: string; member: string; healthy: boolean }[]>;

  constructor(readonly sim: Simulation) {
    // fewer shells than a build uses: this runs beside whatever the user does
    this.netns = new Cached(400, () =>
      netnsStats(
        [...sim.nodes.values()].map((n) => n.ns),
        2,
      ),
    );
    this.frr = new Cached(1000, async () => {
      const routers = [...sim.nodes.values()].filter(
        (n): n is RouterNode => n instanceof RouterNode && !!n.frr,
      );
      const res = await Promise.all(
        routers.map(async (r) => [r.name, await frrNeighbors(r).catch(() => [])] as const),
      );
      return new Map(res);
    });
    this.endpoints = new Cached(400, async () => {
      const out: EndpointCounter[] = [];
      for (const c of clustersOf(sim)) {
        const tables = await nftTables(
          c.workers.map((w) => w.ns),
          'ip',
          'kube-proxy',
          2,
        );
        out.push(...endpointCounters(c.name, [...tables.values()]));
      }
      return out;
    });
    this.etcd = new Cached(1000, async () => {
      const out: { cluster: string; member: string; healthy: boolean }[] = [];
      for (const c of clustersOf(sim)) {
        const h = await Promise.all(
          c.etcdMembers.map(async (m) => [m.name, await m.health(500).catch(() => false)] as const),
        );
        for (const [member, healthy] of h) out.push({ cluster: c.name, member, healthy });
      }
      return out;
    });
  }
}
