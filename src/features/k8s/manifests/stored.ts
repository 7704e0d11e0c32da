// Applied Deployments as the API server keeps them: /registry/deployments/<ns>/<name>, written
// when a manifest is applied and removed by `delete -f`. Their status is not stored: it is
// counted from the pods the deployment owns whenever it is read (kubectl get deploy).
import type { Etcd3 } from 'etcd3';
import type { PodObject } from '../registry.js';
import { HASH_LABEL, ownedBy } from './deployment.js';
import { type StoredMeta, storedMetadata } from './stored-meta.js';
import type { ContainerView, DesiredDeployment } from './types.js';

const TEMPLATE_HASH = 'netsim.io/pod-template-hash';
export const DEPLOYMENTS_PREFIX = '/registry/deployments/';
export const deploymentKey = (ns: string, name: string) => `${DEPLOYMENTS_PREFIX}${ns}/${name}`;

export interface DeploymentObject {
  apiVersion: 'apps/v1';
  kind: 'Deployment';
  metadata: StoredMeta & {
    /** the current template's pod-template-hash (netsim's: Kubernetes keeps it on the ReplicaSet) */
    annotations: Record<string, string>;
  };
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: { containers: ContainerView[]; nodeName?: string; nodeSelector?: Record<string, string> };
    };
  };
  status?: {
    observedGeneration: number;
    replicas: number;
    updatedReplicas: number;
    readyReplicas: number;
    availableReplicas: number;
  };
}

/** The object of an applied deployment; `before` (the stored one) keeps its uid and age. */
export function deploymentObject(o: DesiredDeployment, before?: DeploymentObject): DeploymentObject {
  const { [HASH_LABEL]: _hash, ...labels } = o.template.labels;
  const spec: DeploymentObject['spec'] = {
    replicas: o.replicas,
    selector: { matchLabels: o.selector },
    template: {
      metadata: { labels },
      spec: {
        containers: o.containers,
        ...(o.template.nodeName ? { nodeName: o.template.nodeName } : {}),
        ...(o.template.nodeSelector ? { nodeSelector: o.template.nodeSelector } : {}),
      },
    },
  };
  const same = before && JSON.stringify(before.spec) === JSON.stringify(spec);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      ...storedMetadata(o, before, !!same),
      annotations: { [TEMPLATE_HASH]: o.hash },
    },
    spec,
  };
}

/** Stores the deployment (unless it is stored as it is); whether it was written. */
export async function storeDeployment(etcd: Etcd3, o: DesiredDeployment): Promise<boolean> {
  const key = deploymentKey(o.namespace, o.name);
  const raw = await etcd.get(key).string();
  const before = raw ? (JSON.parse(raw) as DeploymentObject) : undefined;
  const obj = deploymentObject(o, before);
  if (before && JSON.stringify(before) === JSON.stringify(obj)) return false;
  await etcd.put(key).value(JSON.stringify(obj));
  return true;
}

/** The deployment with its status counted from these pods (all namespaces). */
export function withStatus(d: DeploymentObject, pods: PodObject[]): DeploymentObject {
  const mine = pods.filter(
    (p) =>
      p.metadata.namespace === d.metadata.namespace &&
      !(p.metadata as { deletionTimestamp?: string }).deletionTimestamp &&
      ownedBy(d.metadata.name, d.spec.selector.matchLabels, {
        name: p.metadata.name,
        labels: p.metadata.labels,
      }),
  );
  const hash = d.metadata.annotations[TEMPLATE_HASH];
  const ready = mine.filter((p) => p.status.phase === 'Running').length;
  return {
    ...d,
    status: {
      observedGeneration: d.metadata.generation,
      replicas: mine.length,
      updatedReplicas: mine.filter((p) => p.metadata.labels[HASH_LABEL] === hash).length,
      readyReplicas: ready,
      availableReplicas: ready,
    },
  };
}
