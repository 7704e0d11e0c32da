// Namespaces as Kubernetes keeps them in etcd: /registry/namespaces/<name>, each labelled
// kubernetes.io/metadata.name=<name> (the API server sets it on every namespace, and a
// NetworkPolicy's namespaceSelector matches it). `default`, `kube-system`, `kube-public` and
// `kube-node-lease` exist from the start. Shared with the worker agents (policy): no heavy imports.
import type { Etcd3 } from 'etcd3';

export const NAMESPACES_PREFIX = '/registry/namespaces/';
export const NAME_LABEL = 'kubernetes.io/metadata.name';
/** The namespaces every cluster starts with, as kubeadm's does. */
export const SYSTEM_NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];
/** A namespace name: a DNS label (RFC 1123), at most 63. */
export const NAMESPACE_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export interface NamespaceObject {
  apiVersion: 'v1';
  kind: 'Namespace';
  metadata: {
    name: string;
    uid?: string;
    labels: Record<string, string>;
    creationTimestamp?: string;
  };
  spec: { finalizers: string[] };
  status: { phase: 'Active' | 'Terminating' };
}

export const namespaceKey = (name: string) => `${NAMESPACES_PREFIX}${name}`;

/** A namespace's labels as the API server keeps them: the given ones and its name label, sorted. */
export function namespaceLabels(name: string, labels: Record<string, string> = {}): Record<string, string> {
  return Object.fromEntries(
    Object.entries({ ...labels, [NAME_LABEL]: name }).sort(([a], [b]) => (a < b ? -1 : 1)),
  );
}

export function namespaceObject(
  name: string,
  labels: Record<string, string> = {},
  creationTimestamp = new Date().toISOString(),
): NamespaceObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: namespaceLabels(name, labels), creationTimestamp },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

/** The error the API server gives for an object in a namespace that does not exist. */
export const namespaceNotFound = (name: string) => `namespaces "${name}" not found`;

export async function listNamespaces(etcd: Etcd3): Promise<NamespaceObject[]> {
  const all = await etcd.getAll().prefix(NAMESPACES_PREFIX).strings();
  return Object.keys(all)
    .sort()
    .map((k) => JSON.parse(all[k]) as NamespaceObject);
}

export async function getNamespace(etcd: Etcd3, name: string): Promise<NamespaceObject | undefined> {
  const v = await etcd.get(namespaceKey(name)).string();
  return v ? (JSON.parse(v) as NamespaceObject) : undefined;
}

/** Creates the system namespaces that are not there yet (each only if absent). */
export async function ensureSystemNamespaces(etcd: Etcd3): Promise<void> {
  const now = new Date().toISOString();
  for (const name of SYSTEM_NAMESPACES)
    await etcd
      .if(namespaceKey(name), 'Create', '==', 0)
      .then(etcd.put(namespaceKey(name)).value(JSON.stringify(namespaceObject(name, {}, now))))
      .commit();
}

/**
 * Creates a namespace or sets its labels (keeping its creation time); whether it was created,
 * changed or left as it was.
 */
export async function putNamespace(
  etcd: Etcd3,
  name: string,
  labels: Record<string, string> = {},
): Promise<'created' | 'configured' | 'unchanged'> {
  const before = await getNamespace(etcd, name);
  const want = namespaceLabels(name, labels);
  const sorted = (l: Record<string, string>) => JSON.stringify(Object.entries(l).sort());
  if (before && sorted(before.metadata.labels) === sorted(want)) return 'unchanged';
  const obj = before
    ? { ...before, metadata: { ...before.metadata, labels: want } }
    : namespaceObject(name, labels);
  await etcd.put(namespaceKey(name)).value(JSON.stringify(obj));
  return before ? 'configured' : 'created';
}

/** Creates a namespace (without labels) unless it exists. */
export async function ensureNamespace(etcd: Etcd3, name: string): Promise<void> {
  if (!(await getNamespace(etcd, name))) await putNamespace(etcd, name);
}

/** Throws `namespaces "x" not found` unless the namespace exists. */
export async function requireNamespace(etcd: Etcd3, name: string): Promise<void> {
  if (!(await getNamespace(etcd, name))) throw new Error(namespaceNotFound(name));
}
