// NetworkPolicy objects of a cluster: validated here, stored in etcd, enforced by every
// worker's agent for its own pods (agent/policy.ts).
import { formatPath } from '../../model/errors.js';
import { type NetworkPolicyObject, POLICY_PREFIX } from './agent/policy.js';
import type { ClusterCore } from './cluster-core.js';
import { requireNamespace } from './namespaces.js';
import { policySpecSchema } from './services/schema.js';

export async function addNetworkPolicy(
  c: ClusterCore,
  name: string,
  spec: unknown,
  namespace: string,
): Promise<NetworkPolicyObject> {
  const res = policySpecSchema.safeParse(spec);
  if (!res.success)
    throw new Error(
      `network policy "${name}": ${res.error.issues.map((i) => `${formatPath(i.path as (string | number)[]) || '(spec)'}: ${i.message}`).join('; ')}`,
    );
  const obj: NetworkPolicyObject = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace, creationTimestamp: new Date().toISOString() },
    spec: res.data as NetworkPolicyObject['spec'],
  };
  await c.ensureNetworkConfig();
  await requireNamespace(c.etcd, namespace);
  await c.etcd.put(`${POLICY_PREFIX}${namespace}/${name}`).value(JSON.stringify(obj));
  return obj;
}

export async function deleteNetworkPolicy(c: ClusterCore, name: string, namespace: string): Promise<void> {
  await c.etcd.delete().key(`${POLICY_PREFIX}${namespace}/${name}`);
}
