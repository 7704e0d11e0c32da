// `manifests: [files]` on a cluster in a topology: checked with the topology (errors located in
// the manifest files, so `netsim validate` and `up` refuse them before building anything), and
// applied once every worker of the cluster has its subnet.
import type { IssueSink } from '../../../model/errors.js';
import { TopologyError } from '../../../model/errors.js';
import type { Model, NodeModel } from '../../../model/model.js';
import { topologyPath } from '../../frr/setup.js';
import { parseServiceCidr } from '../services/objects.js';
import { serviceRangesOf } from '../services/schema.js';
import { type ClusterConfig, resolveWorker, workerNodeLabels } from '../spec.js';
import { applyManifests } from './apply.js';
import { parseManifestTexts, readManifestFiles } from './input.js';
import type { ManifestCluster, ManifestDoc, ValidationContext } from './types.js';
import { validateManifests } from './validate.js';

function docsOf(cfg: ClusterConfig, model: Model): ManifestDoc[] {
  return cfg.manifests.flatMap((p) => parseManifestTexts(readManifestFiles(topologyPath(model, p))));
}

/** Validation of the topology (on the cluster's first worker): the manifests as the cluster will get them. */
export function checkTopologyManifests(node: NodeModel, model: Model, sink: IssueSink): void {
  const cfg = (node.spec as { clusterConfig?: ClusterConfig }).clusterConfig;
  if (!cfg?.manifests.length || node.name !== cfg.workers[0]) return;
  const ctx: ValidationContext = {
    workers: cfg.workers,
    resolveWorker: (n) => resolveWorker(cfg, n),
    nodeLabels: (w) => workerNodeLabels(cfg, w),
    serviceCidr: parseServiceCidr(cfg.serviceCidr),
    serviceCidr6: serviceRangesOf(cfg).v6,
    cni: cfg.cni,
    knownPods: [],
    podNameTaken(name) {
      const other = model.nodes.get(name);
      if (other) return `the name of a node (${other.kind})`;
      return cfg.pods[name] ? `a pod of the topology's ${cfg.name}.pods` : undefined;
    },
  };
  try {
    validateManifests(docsOf(cfg, model), ctx);
  } catch (err) {
    if (!(err instanceof TopologyError)) throw err;
    // a file that cannot be read is reported at the topology's manifests entry
    for (const i of err.issues) {
      const unreadable = i.path.length === 0 && !i.pos?.line && i.message.startsWith('cannot read');
      if (unreadable) sink.add(['nodes', cfg.name, 'manifests'], i.message);
      else sink.issues.push(i);
    }
  }
}

/** At start-up (from the cluster's last worker): waits for every worker's subnet, then applies. */
export async function applyTopologyManifests(c: ManifestCluster, model: Model): Promise<void> {
  if (!c.config.manifests.length) return;
  await Promise.all(c.workers.map((w) => w.waitReady()));
  await applyManifests(c, docsOf(c.config, model));
}
