// `C0.apply(...)` / `C0.delete(...)`: manifests validated as a whole (nothing is applied when one
// object is wrong), then compared with what the cluster has: an object that is the same is left
// alone (applying a file twice changes nothing), a changed one is replaced, a new one created.
// What was applied is remembered per cluster, as kubectl's last-applied-configuration.
import { ObjectKey } from '../../../runtime/objects.js';
import { POLICY_PREFIX } from '../agent/policy.js';
import type { PodRequest } from '../cluster-pods.js';
import { admitIngresses } from '../ingress/admit.js';
import { listNamespaces, putNamespace } from '../namespaces.js';
import { PodNode } from '../pod.js';
import { podNodeName } from '../registry.js';
import { HEADLESS, type ServiceObject, serviceFamilies, specKey } from '../services/objects.js';
import {
  resolveFamilies,
  type ServiceRanges,
  type ServiceSpec,
  serviceRangesOf,
} from '../services/schema.js';
import { resolveWorker, workerNodeLabels } from '../spec.js';
import { deleteDeployment, ownedPods, reconcileDeployment, schedule } from './deployment.js';
import { ingressKey, storeIngress } from './ingress.js';
import { type ManifestInput, manifestDocs } from './input.js';
import { deleteNamespace } from './namespace.js';
import { secretKey, storeSecret } from './secret.js';
import { deploymentKey, storeDeployment } from './stored.js';
import {
  type Desired,
  type DesiredPod,
  type ManifestCluster,
  type ManifestDoc,
  podSources,
  type ValidationContext,
} from './types.js';
import { validateManifests } from './validate.js';

export type { ManifestCluster } from './types.js';

export interface ApplyResult {
  /** `pod/web-1 created`, `service/web unchanged`, ... in the order done */
  lines: string[];
  notes: string[];
}

/** Per cluster: object key -> the object as last applied. */
const APPLIED = new ObjectKey<Map<string, Map<string, Desired>>>('k8s-manifests');

const keyOf = (o: Desired) => `${o.kind}/${o.namespace}/${o.name}`;
const GROUPED: Partial<Record<Desired['kind'], string>> = {
  Deployment: 'deployment.apps',
  Ingress: 'ingress.networking.k8s.io',
};
const resource = (o: Desired) => `${GROUPED[o.kind] ?? o.kind.toLowerCase()}/${o.name}`;
/** An object as compared: without where it was written. */
const canonical = (o: Desired) => JSON.stringify({ ...o, source: undefined });

function applied(c: ManifestCluster): Map<string, Desired> {
  const all = c.sim.objects.state(APPLIED, () => new Map<string, Map<string, Desired>>());
  let mine = all.get(c.name);
  if (!mine) {
    mine = new Map();
    all.set(c.name, mine);
  }
  return mine;
}

/**
 * A changed Service keeps its ClusterIPs unless the manifest gives some: all of them while its
 * families stay the same, else the primary one while the primary family does.
 */
function keepClusterIps(spec: ServiceSpec, old: ServiceObject, ranges: ServiceRanges): void {
  if (spec.clusterIP !== undefined || spec.clusterIPs !== undefined) return;
  const before = serviceFamilies(old);
  const after = resolveFamilies(spec, ranges).families;
  if (old.spec.clusterIP !== HEADLESS && before.join() === after.join())
    spec.clusterIPs = old.spec.clusterIPs ?? [old.spec.clusterIP];
  else if (old.spec.clusterIP === HEADLESS || before[0] === after[0]) spec.clusterIP = old.spec.clusterIP;
}

async function context(c: ManifestCluster, forDelete: boolean): Promise<ValidationContext> {
  await c.ensureNetworkConfig();
  const namespaces = new Set((await listNamespaces(c.etcd)).map((n) => n.metadata.name));
  const live = new Set(c.localPods().map((p) => p.name));
  return {
    workers: c.config.workers,
    resolveWorker: (n) => resolveWorker(c.config, n),
    nodeLabels: (w) => workerNodeLabels(c.config, w),
    serviceCidr: c.serviceCidr,
    serviceCidr6: serviceRangesOf(c.config).v6,
    cni: c.config.cni,
    namespaces,
    knownPods: podSources(
      [...applied(c).values()].filter((o) => o.kind !== 'Pod' || live.has(podNodeName(o.name, o.namespace))),
    ),
    podNameTaken(name) {
      const n = c.sim.nodes.get(name);
      if (!n || (n instanceof PodNode && n.cluster === c.name)) return undefined;
      return n instanceof PodNode ? `a pod of cluster ${n.cluster}` : `the name of a node (${n.kind})`;
    },
    forDelete,
  };
}

/** Parses and validates the whole input (TopologyError when anything is wrong). */
export async function checkManifests(
  c: ManifestCluster,
  input: ManifestInput | ManifestDoc[],
  forDelete = false,
) {
  const docs = isDocs(input) ? input : manifestDocs(input);
  return validateManifests(docs, await context(c, forDelete));
}

function isDocs(input: unknown): input is ManifestDoc[] {
  return (
    Array.isArray(input) && input.every((d) => d && typeof d === 'object' && 'source' in d && 'value' in d)
  );
}

/** Is a pod as wanted? Its labels and command, and its worker when the manifest names one. */
function podMatches(p: PodNode, want: DesiredPod): boolean {
  const o = p.object;
  return (
    JSON.stringify(o.metadata.labels) === JSON.stringify(want.labels) &&
    (o.spec.command ?? '') === (want.command ?? '') &&
    JSON.stringify(o.metadata.annotations ?? {}) === JSON.stringify(want.annotations ?? {}) &&
    (!want.nodeName || o.spec.nodeName === want.nodeName)
  );
}

export async function applyManifests(
  c: ManifestCluster,
  input: ManifestInput | ManifestDoc[],
): Promise<ApplyResult> {
  const { objects, notes } = await checkManifests(c, input);
  // the ingress controller's admission: backends that exist, no host/path served twice
  if (c.config.ingress !== false) await admitIngresses(c.etcd, objects);
  const memory = applied(c);
  const lines: string[] = [];
  // 0. namespaces, before what goes into them
  for (const o of objects) {
    if (o.kind !== 'Namespace') continue;
    lines.push(`${resource(o)} ${await putNamespace(c.etcd, o.name, o.labels)}`);
    memory.set(keyOf(o), o);
  }
  // 1. policies first, so that new pods are never unprotected
  for (const o of objects) {
    if (o.kind !== 'NetworkPolicy') continue;
    const raw = await c.etcd.get(`${POLICY_PREFIX}${o.namespace}/${o.name}`).string();
    const same =
      raw !== null && JSON.stringify((JSON.parse(raw) as { spec: unknown }).spec) === JSON.stringify(o.spec);
    if (!same) await c.addNetworkPolicy(o.name, o.spec, o.namespace);
    memory.set(keyOf(o), o);
    lines.push(`${resource(o)} ${same ? 'unchanged' : raw === null ? 'created' : 'configured'}`);
  }
  // 2. pods: changed ones are replaced (delete, then create), new ones spread over the workers
  const live = new Map(c.localPods().map((p) => [p.name, p]));
  const create: DesiredPod[] = [];
  const replaced = new Set<string>();
  for (const o of objects) {
    if (o.kind !== 'Pod') continue;
    const node = podNodeName(o.name, o.namespace);
    const p = live.get(node);
    const before = memory.get(keyOf(o));
    if (p && podMatches(p, o) && (!before || canonical(before) === canonical(o))) {
      memory.set(keyOf(o), o);
      lines.push(`${resource(o)} unchanged`);
      continue;
    }
    if (p) {
      await c.deletePod(node);
      live.delete(node);
      replaced.add(node);
    }
    create.push(o);
  }
  const workers = schedule(c, create);
  const reqs: PodRequest[] = create.map((o, i) => ({
    name: o.name,
    ...(o.namespace !== 'default' ? { namespace: o.namespace } : {}),
    worker: workers[i],
    labels: o.labels,
    ...(o.command ? { command: o.command } : {}),
    ...(o.annotations ? { annotations: o.annotations } : {}),
  }));
  await c.createPods(reqs);
  for (const o of create) {
    lines.push(`${resource(o)} ${replaced.has(podNodeName(o.name, o.namespace)) ? 'configured' : 'created'}`);
    memory.set(keyOf(o), o);
  }
  // 3. deployments: their pods to `replicas` of the current template
  for (const o of objects) {
    if (o.kind !== 'Deployment') continue;
    const before = memory.get(keyOf(o));
    const isNew = !before && ownedPods(c, o.name, o.selector, o.namespace).length === 0;
    const changed = await reconcileDeployment(c, o);
    await storeDeployment(c.etcd, o);
    memory.set(keyOf(o), o);
    const same = !changed && before && canonical(before) === canonical(o);
    lines.push(`${resource(o)} ${isNew ? 'created' : same ? 'unchanged' : 'configured'}`);
  }
  // 4. services: a changed one is made again, keeping its ClusterIP unless the manifest gives one
  for (const o of objects) {
    if (o.kind !== 'Service') continue;
    const raw = await c.etcd.get(specKey(o.namespace, o.name)).string();
    const before = memory.get(keyOf(o));
    if (raw !== null && before && canonical(before) === canonical(o)) {
      lines.push(`${resource(o)} unchanged`);
      continue;
    }
    const spec = { ...o.spec, ...(o.namespace !== 'default' ? { namespace: o.namespace } : {}) };
    if (raw !== null) {
      const old = JSON.parse(raw) as ServiceObject;
      await c.deleteService(o.name, o.namespace);
      keepClusterIps(spec, old, serviceRangesOf(c.config));
    }
    await c.addService(o.name, spec);
    memory.set(keyOf(o), o);
    lines.push(`${resource(o)} ${raw === null ? 'created' : 'configured'}`);
  }
  // 5. secrets, then the ingresses that name them (the ingress controller watches both)
  for (const o of objects) {
    if (o.kind !== 'Secret') continue;
    lines.push(`${resource(o)} ${await storeSecret(c.etcd, o)}`);
    memory.set(keyOf(o), o);
  }
  for (const o of objects) {
    if (o.kind !== 'Ingress') continue;
    const what = await storeIngress(c.etcd, o);
    memory.set(keyOf(o), o);
    lines.push(`${resource(o)} ${what}`);
  }
  return { lines, notes };
}

/**
 * `delete -f`: services, deployments (their pods), pods, policies, then namespaces (with
 * whatever else is in them); what does not exist is said so.
 */
export async function deleteManifests(
  c: ManifestCluster,
  input: ManifestInput | ManifestDoc[],
): Promise<ApplyResult> {
  const { objects, notes } = await checkManifests(c, input, true);
  const memory = applied(c);
  const lines: string[] = [];
  const order = ['Ingress', 'Secret', 'Service', 'Deployment', 'Pod', 'NetworkPolicy', 'Namespace'];
  const sorted = [...objects].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  for (const o of sorted) {
    let found = true;
    if (o.kind === 'Namespace') {
      found = await deleteNamespace(c, o.name, memory);
    } else if (o.kind === 'Ingress') {
      found = (await c.etcd.delete().key(ingressKey(o.namespace, o.name))).deleted !== '0';
    } else if (o.kind === 'Secret') {
      found = (await c.etcd.delete().key(secretKey(o.namespace, o.name))).deleted !== '0';
    } else if (o.kind === 'Service') {
      found = (await c.etcd.get(specKey(o.namespace, o.name)).string()) !== null;
      if (found) await c.deleteService(o.name, o.namespace);
    } else if (o.kind === 'Deployment') {
      const stored = (await c.etcd.delete().key(deploymentKey(o.namespace, o.name))).deleted !== '0';
      found = (await deleteDeployment(c, o.name, o.selector, o.namespace)) || memory.has(keyOf(o)) || stored;
    } else if (o.kind === 'Pod') {
      const node = podNodeName(o.name, o.namespace);
      found = c.localPods().some((p) => p.name === node);
      if (found) await c.deletePod(node);
    } else {
      found = (await c.etcd.get(`${POLICY_PREFIX}${o.namespace}/${o.name}`).string()) !== null;
      if (found) await c.deleteNetworkPolicy(o.name, o.namespace);
    }
    memory.delete(keyOf(o));
    lines.push(`${resource(o)} ${found ? 'deleted' : 'not found'}`);
  }
  return { lines, notes };
}

/** The result as kubectl prints it, notes first. */
export function formatApply(r: ApplyResult): string {
  return [...r.notes.map((n) => `note: ${n}`), ...r.lines].map((l) => `${l}\n`).join('');
}
