// Deployments as a ReplicaSet would run them: `replicas` pods named <deploy>-<hash>-<rand5>
// (the hash of the pod template, as pod-template-hash), spread over the workers. Changing
// replicas adds or removes pods; changing the template replaces the pods one at a time (a new
// one up, then an old one gone), so the service keeps endpoints throughout.
import { createHash, randomInt } from 'node:crypto';
import type { PodNode } from '../pod.js';
import { podNodeName } from '../registry.js';
import { selects } from '../services/objects.js';
import { workerNodeLabels } from '../spec.js';
import { checkPodSpec, fitsSelector, present } from './pod-spec.js';
import { type DeploymentManifest, IGNORED } from './schema.js';
import type {
  Add,
  DesiredDeployment,
  ManifestCluster,
  Note,
  PodTemplate,
  ValidationContext,
} from './types.js';

export const HASH_LABEL = 'pod-template-hash';
/** Kubernetes' alphabet for generated names (no vowels, no look-alikes) */
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
/** <name>-<10>-<5> must stay within netsim's 32-character pod names */
const MAX_NAME = 32 - 17;

function alphabetString(bytes: Buffer, n: number): string {
  return [...bytes.subarray(0, n)].map((b) => ALPHABET[b % ALPHABET.length]).join('');
}

export function templateHash(t: PodTemplate): string {
  return alphabetString(createHash('sha256').update(JSON.stringify(t)).digest(), 10);
}

/** A container's image, when it names one (not emulated: kept for the views). */
function imageOf(c: object): { image?: string } {
  const image = (c as { image?: unknown }).image;
  return typeof image === 'string' ? { image } : {};
}

export function checkDeployment(
  m: DeploymentManifest,
  base: Pick<DesiredDeployment, 'name' | 'namespace' | 'source'>,
  ctx: ValidationContext,
  add: Add,
  note: Note,
): DesiredDeployment | undefined {
  const { spec } = m;
  if (base.name.length > MAX_NAME) {
    add(
      ['metadata', 'name'],
      `deployment names are at most ${MAX_NAME} characters in netsim (its pods' names, ${MAX_NAME} + 17, at most 32)`,
    );
    return undefined;
  }
  for (const f of present(spec, IGNORED.deploymentSpec)) note(`spec.${f}`);
  for (const f of present(spec.template.metadata, ['name', ...IGNORED.metadata]))
    note(`spec.template.metadata.${f}`);
  const labels = spec.template.metadata.labels ?? {};
  if (labels[HASH_LABEL] !== undefined) {
    add(['spec', 'template', 'metadata', 'labels', HASH_LABEL], `${HASH_LABEL} is set by the deployment`);
    return undefined;
  }
  if (!selects(spec.selector.matchLabels, labels)) {
    add(['spec', 'selector', 'matchLabels'], "the selector does not match the template's labels");
    return undefined;
  }
  const t = checkPodSpec(spec.template.spec, labels, ['spec', 'template', 'spec'], ctx, add, note, {
    annotations: spec.template.metadata.annotations,
    at: ['spec', 'template', 'metadata'],
  });
  if (!t) return undefined;
  const hash = templateHash(t);
  return {
    kind: 'Deployment',
    ...base,
    ...(m.metadata.labels ? { labels: m.metadata.labels } : {}),
    containers: spec.template.spec.containers.map((c) => ({
      name: c.name,
      ...imageOf(c),
      ...(c.command ? { command: c.command } : {}),
      ...(c.args ? { args: c.args } : {}),
      ...(c.ports ? { ports: c.ports } : {}),
    })),
    replicas: spec.replicas ?? 1,
    selector: spec.selector.matchLabels,
    template: { ...t, labels: { ...labels, [HASH_LABEL]: hash } },
    hash,
  };
}

/** Is this pod one of the deployment's: named after it, selected by its selector? */
export function ownedBy(
  name: string,
  selector: Record<string, string>,
  pod: { name: string; labels: Record<string, string> },
): boolean {
  return (
    new RegExp(`^${name}-[${ALPHABET}]{10}-[${ALPHABET}]{5}$`).test(pod.name) && selects(selector, pod.labels)
  );
}

/** The pods of a deployment: in its namespace, named after it, selected by its selector. */
export function ownedPods(
  c: ManifestCluster,
  name: string,
  selector: Record<string, string>,
  namespace = 'default',
): PodNode[] {
  return c
    .localPods()
    .filter(
      (p) =>
        p.object.metadata.namespace === namespace &&
        ownedBy(name, selector, { name: p.object.metadata.name, labels: p.labels }),
    );
}

/** A generated name's random part: `n` letters of Kubernetes' alphabet from a seed. */
export function suffixOf(seed: string, n = 5): string {
  return alphabetString(createHash('sha256').update(seed).digest(), n);
}

/** Workers for new pods: the one named, else the one with the fewest pods among those whose labels fit its nodeSelector. */
export function schedule(c: ManifestCluster, pods: PodTemplate[]): string[] {
  const load = new Map(c.config.workers.map((w) => [w, 0]));
  for (const p of c.localPods()) if (load.has(p.worker)) load.set(p.worker, load.get(p.worker)! + 1);
  const fits = (w: string, p: PodTemplate) =>
    !p.nodeSelector || fitsSelector(p.nodeSelector, workerNodeLabels(c.config, w));
  return pods.map((p) => {
    const candidates = [...load].filter(([w]) => fits(w, p));
    if (!p.nodeName && candidates.length === 0)
      throw new Error(`no worker of ${c.name} has the labels of this pod's nodeSelector`);
    const worker = p.nodeName ?? candidates.sort((a, b) => a[1] - b[1])[0][0];
    load.set(worker, (load.get(worker) ?? 0) + 1);
    return worker;
  });
}

async function createReplicas(c: ManifestCluster, o: DesiredDeployment, n: number): Promise<void> {
  const taken = new Set(c.localPods().map((p) => p.name));
  const names: string[] = [];
  while (names.length < n) {
    const name = `${o.name}-${o.hash}-${alphabetString(Buffer.from(Array.from({ length: 5 }, () => randomInt(256))), 5)}`;
    const node = podNodeName(name, o.namespace);
    if (!taken.has(node) && !c.sim.nodes.has(node)) names.push(name);
    taken.add(node);
  }
  const workers = schedule(
    c,
    names.map(() => o.template),
  );
  await c.createPods(
    names.map((name, i) => ({
      name,
      namespace: o.namespace,
      worker: workers[i],
      labels: o.template.labels,
      ...(o.template.command ? { command: o.template.command } : {}),
      ...(o.template.annotations ? { annotations: o.template.annotations } : {}),
    })),
  );
}

/** Brings the deployment's pods to `replicas` of its template; whether anything changed. */
export async function reconcileDeployment(c: ManifestCluster, o: DesiredDeployment): Promise<boolean> {
  const owned = () => ownedPods(c, o.name, o.selector, o.namespace);
  const current = () => owned().filter((p) => p.labels[HASH_LABEL] === o.hash);
  const old = () => owned().filter((p) => p.labels[HASH_LABEL] !== o.hash);
  let changed = false;
  // a changed template: one new pod up, then one old pod gone, until none is left
  while (old().length > 0) {
    if (current().length < o.replicas) await createReplicas(c, o, 1);
    await c.deletePod(old()[0].name);
    changed = true;
  }
  const have = current();
  if (have.length < o.replicas) await createReplicas(c, o, o.replicas - have.length);
  // scaling down: the newest pods go first (as a ReplicaSet does)
  const extra = have
    .sort((a, b) => b.object.metadata.creationTimestamp.localeCompare(a.object.metadata.creationTimestamp))
    .slice(0, Math.max(0, have.length - o.replicas));
  for (const p of extra) await c.deletePod(p.name);
  return changed || have.length !== o.replicas;
}

export async function deleteDeployment(
  c: ManifestCluster,
  name: string,
  selector: Record<string, string>,
  namespace = 'default',
): Promise<boolean> {
  const pods = ownedPods(c, name, selector, namespace);
  for (const p of pods) await c.deletePod(p.name);
  return pods.length > 0;
}
