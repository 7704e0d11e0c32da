// Workload profiles as a feature: the workload verbs, each pod's current sample at /metrics
// and in the web view.
import type { MetricFamily, Plugin } from '../../runtime/plugin.js';
import type { Simulation } from '../../runtime/simulation.js';
import { type WorkloadSample, workloadsOf } from './player.js';
import { SERIES_UNITS } from './template.js';
import { workloadVerbs } from './verbs.js';

const LABELS = ['cluster', 'node', 'pod', 'workload'] as const;
const labelsOf = (s: WorkloadSample) => ({
  cluster: s.cluster ?? '',
  node: s.node ?? '',
  pod: s.pod,
  workload: s.workload,
});

/** The current sample of each series, labelled by where the pod runs now. */
function workloadMetrics(sim: Simulation): MetricFamily[] {
  const gauge = (
    name: string,
    help: string,
    value: (s: WorkloadSample) => number | undefined,
  ): MetricFamily => ({
    name,
    help,
    type: 'gauge',
    labels: LABELS,
    async collect() {
      const out = [];
      for (const s of workloadsOf(sim).samples()) {
        const v = value(s);
        if (v !== undefined) out.push({ labels: labelsOf(s), value: v });
      }
      return out;
    },
  });
  return [
    ...(Object.entries(SERIES_UNITS) as [keyof typeof SERIES_UNITS, string][]).map(([series, unit]) =>
      gauge(
        `netsim_workload_${series}_${unit}`,
        `The ${series} a pod's workload profile says it uses now (${unit})`,
        (s) => s.values[series],
      ),
    ),
    gauge(
      'netsim_workload_traffic_bits_per_second',
      'The rate a pod is sending at now, as its workload profile says (real traffic: iperf3 UDP)',
      (s) => s.trafficBps,
    ),
    gauge(
      'netsim_workload_step',
      "The step of its profile each pod's workload is at (0-based)",
      (s) => s.step,
    ),
  ];
}

export const workloadPlugin: Plugin = {
  name: 'workload',
  verbs: ({ sim, io }) => workloadVerbs(sim, io),
  metrics: workloadMetrics,
  async nodeDetails(sim, node) {
    const w = workloadsOf(sim).get(node.name);
    return w ? { workload: w } : undefined;
  },
};
