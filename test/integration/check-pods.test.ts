// `netsim check` as Mininet's pingall on a simulation with clusters, through the real binary:
// one matrix between the hosts (hosts, workers, etcd members) and one between the pods of each
// cluster, never a pod of one cluster with a pod of another; a pod whose NetworkPolicy denies
// all ingress fails exactly the pairs towards it; the text and the JSON name each pair's matrix.
import t from 'tap';
import { waitFor } from '../../src/util/wait.js';
import { readSimState, runNetsim, startUp, tempDir, waitReady, writeFile } from '../lib/cli.js';
import { requireRoot, uniqueName } from '../lib/harness.js';

const DENY_LOCKED = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-locked}
spec:
  podSelector: {matchLabels: {role: locked}}
  policyTypes: [Ingress]
`;

const TOPOLOGY = `name: cp
nodes:
  s1: {kind: switch, subnet: 192.168.74.0/24}
  h1: {kind: host}
  C0:
    kind: cluster
    underlay: s1
    workers: 2
    etcd: 1
    podCidr: 10.244.0.0/16
    pods:
      a: {worker: w1}
      b: {worker: w2}
      c: {worker: w1, labels: {role: locked}}
    manifests: [deny.yaml]
  C1:
    kind: cluster
    underlay: s1
    workers: 1
    etcd: 1
    podCidr: 10.245.0.0/16
    prefix: /c1/network
    pods:
      x: {worker: w1}
      y: {worker: w1}
links:
  - endpoints: [h1, s1]
`;

interface CheckJson {
  scope: string;
  pairs: number;
  passed: number;
  failed: number;
  nodes: { name: string; kind: string; ip: string; matrix: string; cluster?: string }[];
  matrices: { name: string; nodes: string[]; pairs: number; passed: number; failed: number }[];
  results: { src: string; dst: string; dstIp: string; ok: boolean; matrix: string }[];
}

if (requireRoot(t)) {
  const dir = tempDir(t);
  writeFile(dir, 'deny.yaml', DENY_LOCKED);
  const file = writeFile(dir, 'cp.yml', TOPOLOGY);
  const name = uniqueName('cp');
  // the subtests are queued once the simulation is settled: the root test ends (and tears the
  // simulation down) as soon as its queue is empty
  const fg = startUp(t, file, name);
  await waitReady(fg, name, 120000);
  // pods are made once their worker has its subnet, the policy once the manifests are applied
  const ipOf = (pod: string) =>
    readSimState(name)
      ?.nodes.find((n) => n.name === pod)
      ?.ifaces[0]?.addr?.split('/')[0];
  await waitFor(() => ['a', 'b', 'c', 'x', 'y'].every((p) => ipOf(p)), {
    timeoutMs: 60000,
    what: 'the five pods',
  });
  const ping = (from: string, to: string) =>
    runNetsim(['exec', '--sim', name, from, '--', 'ping', '-c1', '-W1', ipOf(to)!]).then((r) => r.code === 0);
  await waitFor(async () => (await ping('a', 'b')) && (await ping('c', 'a')) && !(await ping('a', 'c')), {
    timeoutMs: 60000,
    what: 'a -> b and c -> a to pass, a -> c to be denied by the policy',
  });

  t.test('one matrix of hosts, one of pods per cluster; the denied pairs fail', async (t) => {
    const r = await runNetsim(['check', '--sim', name, '--json', '--timeout', '0.5']);
    t.equal(r.code, 1, 'exit 1: two pairs failed');
    const c = JSON.parse(r.stdout) as CheckJson;
    t.same(
      c.matrices.map((m) => [m.name, m.nodes.join(' '), m.pairs, m.passed, m.failed]),
      [
        ['hosts', 'h1 C0e1 C0w1 C0w2 C1e1 C1w1', 30, 30, 0],
        ['pods:C0', 'a b c', 6, 4, 2],
        ['pods:C1', 'x y', 2, 2, 0],
      ],
      'hosts (workers and etcd members among them) and each cluster’s pods',
    );
    t.match(c, { scope: 'hosts', pairs: 38, passed: 36, failed: 2 }, 'the totals over the three matrices');
    t.same(
      c.results.filter((x) => !x.ok).map((x) => `${x.src}->${x.dst} ${x.matrix}`),
      ['a->c pods:C0', 'b->c pods:C0'],
      'exactly the pairs towards the pod the policy locks',
    );
    t.same(
      c.nodes.filter((n) => n.kind === 'pod').map((n) => `${n.name}:${n.cluster}:${n.matrix}`),
      ['a:C0:pods:C0', 'b:C0:pods:C0', 'c:C0:pods:C0', 'x:C1:pods:C1', 'y:C1:pods:C1'],
      'each pod with its kind, cluster and matrix',
    );
    const podsOf = (m: string) => new Set(c.nodes.filter((n) => n.matrix === m).map((n) => n.name));
    t.ok(
      c.results.every((x) => podsOf(x.matrix).has(x.src) && podsOf(x.matrix).has(x.dst)),
      'every pair within one matrix: no pod of C0 paired with a pod of C1',
    );

    const text = await runNetsim(['check', '--sim', name, '--timeout', '0.5']);
    t.equal(text.code, 1);
    const lines = text.stdout.trimEnd().split('\n');
    t.same(
      lines.slice(0, -1),
      [
        `FAIL a -> c (${ipOf('c')}) [pods:C0]`,
        `FAIL b -> c (${ipOf('c')}) [pods:C0]`,
        '  hosts: 30/30 pairs reachable, 0 failed, between 6 nodes (etcd, host, worker)',
        '  pods:C0: 4/6 pairs reachable, 2 failed, between 3 nodes (pod)',
        '  pods:C1: 2/2 pairs reachable, 0 failed, between 2 nodes (pod)',
      ],
      'the failing pairs with their matrix, then a line per matrix',
    );
    t.match(
      lines.at(-1),
      new RegExp(
        `^${name}: 36/38 pairs reachable, 2 failed, between 11 nodes \\(etcd, host, pod, worker; routers left out: --all\\) \\(\\d+\\.\\d\\d s\\)$`,
      ),
      'the total',
    );
  });
}

t.test('check --help says exactly what is checked', async (t) => {
  const r = await runNetsim(['check', '--help']);
  t.equal(r.code, 0);
  const flat = r.stdout.replace(/\s+/g, ' ');
  t.match(
    flat,
    "Usage: netsim check [options] ping matrix of a running simulation (Mininet's pingall): one between its hosts (the kinds that do not forward: host, worker, etcd) and one between the pods of each cluster (pods of different clusters are not paired); --all adds the routers to the hosts' matrix; each IP family on its own (--family); a matrix of more than 20,000 pairs (142 nodes or more) is sampled, 1,000 random pairs, unless --full or --sample N Options:",
    'the description, word for word',
  );
  t.match(
    flat,
    '--sample <pairs> ping this many random pairs of each matrix (the text lists them)',
    '--sample',
  );
  t.match(
    flat,
    "-a, --all add the routers to the hosts' matrix (their link addresses need not be announced)",
    '--all',
  );
});
