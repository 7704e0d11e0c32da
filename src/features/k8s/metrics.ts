// What clusters export at /metrics: kube-proxy's per-endpoint nftables counters (and their sum
// per service), etcd members' health and pods per worker. Reads are cached briefly, so a page
// and a scrape arriving together read the workers' tables once.
import { nftTables } from '../../kernel/stats.js';
import { ObjectKey } from '../../runtime/objects.js';
import type { MetricFamily } from '../../runtime/plugin.js';
import type { Simulation } from '../../runtime/simulation.js';
import { Cached } from '../../util/cached.js';
import { parseEndpointChain } from './agent/chain-names.js';
import { proxyObjects } from './agent/proxy-tables.js';
import { clustersOf } from './cluster.js';
import { serviceRangesOf } from './services/schema.js';

export interface EndpointCounter {
  cluster: string;
  namespace: string;
  service: string;
  protocol: string;
  endpoint: string;
  packets: number;
  bytes: number;
}

interface NftRule {
  rule?: { chain: string; expr: { counter?: { packets: number; bytes: number } }[] };
}

/** Packets and bytes DNATed to each endpoint, summed over the cluster's workers. */
export function endpointCounters(cluster: string, tables: unknown[][]): EndpointCounter[] {
  const out = new Map<string, EndpointCounter>();
  for (const table of tables)
    for (const x of table as NftRule[]) {
      // the chain's name says which endpoint (agent/chain-names.ts writes and reads it)
      const m = x.rule ? parseEndpointChain(x.rule.chain) : undefined;
      const c = m && x.rule!.expr.find((e) => e.counter)?.counter;
      if (!m || !c) continue;
      const key = `${m.namespace}/${m.service}/${m.protocol}/${m.endpoint}`;
      const e = out.get(key) ?? {
        cluster,
        namespace: m.namespace,
        service: m.service,
        protocol: m.protocol,
        endpoint: m.endpoint,
        packets: 0,
        bytes: 0,
      };
      e.packets += c.packets;
      e.bytes += c.bytes;
      out.set(key, e);
    }
  return [...out.values()];
}

interface Readers {
  endpoints: Cached<EndpointCounter[]>;
  etcd: Cached<{ cluster: string; member: string; healthy: boolean }[]>;
}

const READERS = new ObjectKey<Readers>('cluster readers');

function readersOf(sim: Simulation): Readers {
  return sim.objects.state(READERS, () => ({
    endpoints: new Cached(400, async () => {
      const out: EndpointCounter[] = [];
      for (const c of clustersOf(sim)) {
        // two shells, not a build's eight: this runs beside whatever the user does
        // a dual-stack cluster's workers also have table ip6 kube-proxy
        for (const family of serviceRangesOf(c.config).v6 ? ['ip', 'ip6'] : ['ip']) {
          // every table of the family: kube-proxy's shards too, above a number of services
          const tables = await nftTables(
            c.workers.map((w) => w.ns),
            family,
            undefined,
            2,
          );
          out.push(
            ...endpointCounters(
              c.name,
              [...tables.values()].map((t) => proxyObjects(t)),
            ),
          );
        }
      }
      return out;
    }),
    etcd: new Cached(1000, async () => {
      const out: { cluster: string; member: string; healthy: boolean }[] = [];
      for (const c of clustersOf(sim)) {
        const h = await Promise.all(
          c.etcdMembers.map(async (m) => [m.name, await m.health(500).catch(() => false)] as const),
        );
        for (const [member, healthy] of h) out.push({ cluster: c.name, member, healthy });
      }
      return out;
    }),
  }));
}

type Field = 'packets' | 'bytes';
const Field = (f: Field) => (f === 'bytes' ? 'Bytes' : 'Packets');
const SERVICE_LABELS = ['cluster', 'namespace', 'service', 'protocol'] as const;

export function k8sMetrics(sim: Simulation): MetricFamily[] {
  const readers = readersOf(sim);
  const perEndpoint = (field: Field): MetricFamily => ({
    name: `netsim_service_endpoint_${field}_total`,
    help: `${Field(field)} of new connections kube-proxy DNATed to each endpoint (nftables counters, summed over the workers)`,
    type: 'counter',
    labels: [...SERVICE_LABELS, 'endpoint'],
    async collect() {
      return (await readers.endpoints.get()).map((e) => ({
        labels: {
          cluster: e.cluster,
          namespace: e.namespace,
          service: e.service,
          protocol: e.protocol,
          endpoint: e.endpoint,
        },
        value: e[field],
      }));
    },
  });
  const perService = (field: Field): MetricFamily => ({
    name: `netsim_service_${field}_total`,
    help: `${Field(field)} of new connections to each service (the sum over its endpoints)`,
    type: 'counter',
    labels: SERVICE_LABELS,
    async collect() {
      const sums = new Map<string, { labels: Record<string, string>; value: number }>();
      for (const e of await readers.endpoints.get()) {
        const labels = {
          cluster: e.cluster,
          namespace: e.namespace,
          service: e.service,
          protocol: e.protocol,
        };
        const key = JSON.stringify(labels);
        const s = sums.get(key) ?? { labels, value: 0 };
        s.value += e[field];
        sums.set(key, s);
      }
      return [...sums.values()];
    },
  });
  return [
    perEndpoint('packets'),
    perEndpoint('bytes'),
    perService('packets'),
    perService('bytes'),
    {
      name: 'netsim_etcd_member_healthy',
      help: "etcd's /health of each member: 1 when it is part of a healthy quorum",
      type: 'gauge',
      labels: ['cluster', 'member'],
      async collect() {
        return (await readers.etcd.get()).map((m) => ({
          labels: { cluster: m.cluster, member: m.member },
          value: m.healthy ? 1 : 0,
        }));
      },
    },
    {
      name: 'netsim_pods',
      help: 'Pods running on each worker',
      type: 'gauge',
      labels: ['cluster', 'node'],
      async collect() {
        const out = [];
        for (const c of clustersOf(sim)) {
          const count = new Map<string, number>(c.workers.map((w) => [w.name, 0]));
          for (const p of c.localPods()) count.set(p.worker, (count.get(p.worker) ?? 0) + 1);
          for (const [node, value] of count) out.push({ labels: { cluster: c.name, node }, value });
        }
        return out;
      },
    },
  ];
}
