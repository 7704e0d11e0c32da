// Deleting a Namespace as Kubernetes' namespace controller does: it turns Terminating, what is
// in it goes (pods with their processes, services with their endpoints, network policies),
// then the namespace itself. `default`, `kube-system` and `kube-public` may not be deleted.
import { POLICY_PREFIX } from '../agent/policy.js';
import { getNamespace, namespaceKey } from '../namespaces.js';
import { SPECS_PREFIX } from '../services/objects.js';
import type { Desired, ManifestCluster } from './types.js';

/** The namespaces the API server refuses to delete. */
export const UNDELETABLE = new Set(['default', 'kube-system', 'kube-public']);

export const undeletable = (name: string) =>
  `namespaces "${name}" is forbidden: this namespace may not be deleted`;

/** Deletes a namespace and everything in it; whether it existed. `applied` forgets its objects. */
export async function deleteNamespace(
  c: ManifestCluster,
  name: string,
  applied: Map<string, Desired>,
): Promise<boolean> {
  const ns = await getNamespace(c.etcd, name);
  if (ns)
    await c.etcd
      .put(namespaceKey(name))
      .value(JSON.stringify({ ...ns, status: { ...ns.status, phase: 'Terminating' } }));
  for (const p of c.localPods().filter((x) => x.object.metadata.namespace === name))
    await c.deletePod(p.name);
  const services = await c.etcd.getAll().prefix(`${SPECS_PREFIX}${name}/`).keys();
  for (const key of services) await c.deleteService(key.slice(key.lastIndexOf('/') + 1), name);
  await c.etcd.delete().prefix(`${POLICY_PREFIX}${name}/`);
  for (const [key, o] of applied) if (o.namespace === name) applied.delete(key);
  await c.etcd.delete().key(namespaceKey(name));
  return ns !== undefined;
}
