// How a cluster comes up in the build's start phase. The engine starts nodes a few at a time,
// but a cluster's workers are not independent: every agent is started at once (whichever worker's
// start runs first), its Node start-up overlapping etcd's, and the topology's pods
// (`pods:`) are made in one batch across all workers once every worker has its subnet, so that
// one plan fragment and one run of CNI calls wires them all instead of one per worker.
import { ObjectKey } from '../../runtime/objects.js';
import type { Cluster } from './cluster.js';
import { resolveWorker } from './spec.js';

interface Boot {
  agents?: Promise<void>;
  pods?: Promise<void>;
}

const BOOTS = new ObjectKey<Map<string, Boot>>('k8s-boot');

function bootOf(c: Cluster): Boot {
  const all = c.sim.objects.state(BOOTS, () => new Map<string, Boot>());
  let b = all.get(c.name);
  if (!b) {
    b = {};
    all.set(c.name, b);
  }
  return b;
}

/**
 * Every worker's agent, started at once (while etcd elects its first leader: each agent waits
 * for a healthy member itself, then for the network config), then the network config written
 * (once per cluster).
 */
export function startClusterAgents(c: Cluster): Promise<void> {
  const b = bootOf(c);
  b.agents ??= (async () => {
    for (const w of c.workers) w.startAgent();
    await c.ensureNetworkConfig();
  })();
  return b.agents;
}

/** The topology's pods of the cluster, every worker's in one batch (once per cluster). */
export function createTopologyPods(c: Cluster): Promise<void> {
  const b = bootOf(c);
  b.pods ??= (async () => {
    const reqs = Object.entries(c.config.pods).map(([name, p]) => ({
      name,
      ...p,
      worker: resolveWorker(c.config, p.worker) ?? p.worker,
    }));
    await c.createPods(reqs);
  })();
  return b.pods;
}
