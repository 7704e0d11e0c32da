// The LoadBalancer pool of a cluster: given or the default block at the top of the workers'
// underlay subnet, one block per cluster on the same subnet.
import t from 'tap';
import { resolveLbPool } from '../../src/features/k8s/lb-pool.js';
import { formatPool } from '../../src/features/k8s/services/lb-ipam.js';
import type { ClusterConfig } from '../../src/features/k8s/spec.js';
import { modelFromYaml } from '../lib/harness.js';

const poolOf = (yaml: string, cluster: string) => {
  const model = modelFromYaml(yaml);
  const cfg = (model.nodes.get(`${cluster}w1`)!.spec as { clusterConfig: ClusterConfig }).clusterConfig;
  const r = resolveLbPool(cfg, model);
  return r.pool ? formatPool(r.pool) : r.problem;
};

t.test('default pools: the top 8 of the subnet, the next 8 for the second cluster', async (t) => {
  const yaml = `
name: x
nodes:
  s1: {kind: switch, subnet: 10.1.0.0/24}
  A: {kind: cluster, underlay: s1, workers: 1, etcd: 1}
  B: {kind: cluster, underlay: s1, workers: 1, etcd: 1}
`;
  t.equal(poolOf(yaml, 'A'), '10.1.0.247-10.1.0.254');
  t.equal(poolOf(yaml, 'B'), '10.1.0.239-10.1.0.246');
});

t.test('a given pool, as a CIDR or a range', async (t) => {
  const yaml = (pool: string) => `
name: x
nodes:
  s1: {kind: switch, subnet: 10.1.0.0/24}
  A: {kind: cluster, underlay: s1, workers: 1, etcd: 1, loadBalancerPool: "${pool}"}
`;
  t.equal(poolOf(yaml('10.1.0.200/29'), 'A'), '10.1.0.201-10.1.0.206', 'a CIDR: its host addresses');
  t.equal(poolOf(yaml('10.1.0.100-10.1.0.102'), 'A'), '10.1.0.100-10.1.0.102');
});
