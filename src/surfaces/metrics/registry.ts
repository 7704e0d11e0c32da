// /metrics of a running simulation in Prometheus' text format (prom-client). Everything is
// read at scrape time: interface counters from the kernel (one process per namespace, through
// the kernel layer), the nodes and the build's phase timings (core.ts), and every family the
// features export (FRR neighbours, kube-proxy counters, etcd health, pods, workloads: each
// feature's metrics.ts). Every family is a MetricFamily; this file only speaks Prometheus.
import client from 'prom-client';
import { allPlugins, groupIndex, type MetricFamily } from '../../runtime/plugin.js';
import type { Simulation } from '../../runtime/simulation.js';
import { coreMetrics } from './core.js';
import { SimReader } from './reader.js';

export interface SimMetrics {
  registry: client.Registry;
  reader: SimReader;
  /** the text exposition (what GET /metrics answers) */
  text(): Promise<string>;
  contentType: string;
}

/** Where a node belongs, for labels: its group (cluster) or "". */
export function clusterLabel(sim: Simulation, node: string): string {
  return groupIndex(sim).get(node)?.name ?? '';
}

/** A family as a prom-client metric, read at scrape time. */
function register(family: MetricFamily, registers: client.Registry[]): void {
  const common = { name: family.name, help: family.help, labelNames: family.labels, registers };
  // the samples are read before the old ones are dropped: a failed read keeps the last values
  const refill = async (m: { reset(): void }, put: (labels: Record<string, string>, v: number) => void) => {
    const samples = await family.collect();
    m.reset();
    for (const s of samples) put(s.labels, s.value);
  };
  if (family.type === 'counter')
    new client.Counter({
      ...common,
      collect() {
        return refill(this, (l, v) => this.inc(l, v));
      },
    });
  else
    new client.Gauge({
      ...common,
      collect() {
        return refill(this, (l, v) => this.set(l, v));
      },
    });
}

export function simMetrics(sim: Simulation, reader = new SimReader(sim)): SimMetrics {
  const registry = new client.Registry();
  registry.setDefaultLabels({ sim: sim.name });
  const families = [...coreMetrics(sim, reader), ...allPlugins().flatMap((p) => p.metrics?.(sim) ?? [])];
  for (const family of families) register(family, [registry]);
  return {
    registry,
    reader,
    text: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
