// The built-in features as the model sees them before their code loads: their node kinds'
// static descriptors, and how to load each feature (its plugin.ts and the runtime code it
// imports). The CLI registers these (validating or building a topology of plain hosts loads no
// FRR or Kubernetes code) and loads a feature when a topology uses its kinds or a verb reaches
// it (loadPlugins in src/runtime/plugin.ts); src/features/index.ts registers them all at once.

import { registerFormat } from '../model/formats.js';
import { MODEL_KINDS } from '../model/kinds/builtin.js';
import { registerKind, registerLazyKinds } from '../model/kinds/registry.js';
import { registerLazyPlugin } from '../runtime/plugin.js';
import { clabFormatOnDemand } from './clab/format.js';

/** the cluster kinds (src/features/k8s/kinds): what makes a simulation need the k8s feature and those that extend clusters */
const CLUSTER_KINDS = ['cluster', 'etcd', 'worker', 'pod'];

/** the cluster kinds' descriptors (their validation imports much of the manifests' code) */
async function clusterKinds() {
  const [c, e, w, p] = await Promise.all([
    import('./k8s/kinds/cluster.js'),
    import('./k8s/kinds/etcd.js'),
    import('./k8s/kinds/worker.js'),
    import('./k8s/kinds/pod.js'),
  ]);
  return [c.clusterKind, e.etcdKind, w.workerKind, p.podKind];
}

/**
 * Registers the built-in kinds and features, each feature's code still unloaded, and the
 * containerlab format that loads its importer when a lab is read (idempotent): the CLI's way.
 */
export function registerBuiltinKinds(): void {
  registerBuiltinDescriptors();
  registerFormat(clabFormatOnDemand);
}

/** The kinds (by name) and features (by descriptor), nothing of their code loaded. */
export function registerBuiltinDescriptors(): void {
  for (const k of MODEL_KINDS) registerKind(k);
  // in the order features register (one feature's install may extend another's objects)
  registerLazyKinds(['router'], async () => [(await import('./frr/kind.js')).routerKind]);
  registerLazyPlugin({
    name: 'frr',
    uses: ['router'],
    load: async () => (await import('./frr/plugin.js')).frrPlugin,
  });
  registerLazyKinds(CLUSTER_KINDS, clusterKinds);
  registerLazyPlugin({
    name: 'k8s',
    uses: CLUSTER_KINDS,
    load: async () => (await import('./k8s/plugin.js')).k8sPlugin,
  });
  registerLazyPlugin({
    name: 'multicluster',
    uses: CLUSTER_KINDS,
    load: async () => (await import('./multicluster/plugin.js')).multiclusterPlugin,
  });
  registerLazyPlugin({
    name: 'trace',
    uses: [],
    load: async () => (await import('./trace/plugin.js')).tracePlugin,
  });
  registerLazyPlugin({
    name: 'workload',
    uses: CLUSTER_KINDS,
    load: async () => (await import('./workload/plugin.js')).workloadPlugin,
  });
  registerLazyPlugin({
    name: 'clab',
    uses: [],
    load: async () => (await import('./clab/plugin.js')).clabPlugin,
  });
}
