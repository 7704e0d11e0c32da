// Kubernetes manifests through the real kernel: every malformed manifest of the corpus is
// refused with one located error and nothing applied; a file of Pods + Service (named
// targetPort) + NetworkPolicy applied with the REPL's `apply -f` serves HTTP through its
// ClusterIP to an allowed pod and not to a blocked one; applying it again changes nothing
// (same pod IPs and processes); a changed pod is replaced and a changed service keeps its
// ClusterIP; `delete -f` removes it all; `manifests:` in a topology is applied at `up` (and
// refused at once when wrong); `netsim apply -f` reaches a `netsim up --no-repl`.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { POLICY_PREFIX } from '../../src/features/k8s/agent/policy.js';
import type { Cluster } from '../../src/features/k8s/cluster.js';
import type { PodNode } from '../../src/features/k8s/pod.js';
import { SPECS_PREFIX } from '../../src/features/k8s/services/objects.js';
import type { WorkerNode } from '../../src/features/k8s/worker.js';
import { TopologyError } from '../../src/model/errors.js';
import { waitFor } from '../../src/util/wait.js';
import { runNetsim, startUp, tempDir, waitReady, writeFile } from '../lib/cli.js';
import { CORPUS_DIR } from '../lib/corpus.js';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';
import { repl } from '../lib/repl.js';

const TOPOLOGY = (subnet: string, manifests?: string) => `
name: m
nodes:
  s1: {kind: switch, subnet: ${subnet}}
  C0: {kind: cluster, underlay: s1, etcd: 1, workers: 2${manifests ? `, manifests: [${manifests}]` : ''}}
`;

// each web pod answers a TCP connection with its version and its own address (socat's SOCAT_SOCKADDR)
const deployment = (replicas: number, version = 'v1') => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: ${replicas}
  strategy: {type: RollingUpdate}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: busybox
        command: [sh, -c, "socat TCP-LISTEN:8000,fork,reuseaddr SYSTEM:'echo ${version} $SOCAT_SOCKADDR'"]
        ports: [{name: http, containerPort: 8000}]
        resources: {limits: {cpu: 100m}}
`;
const plainPod = (name: string, labels: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {${labels}}}
spec:
  containers: [{name: c, command: [sleep, infinity]}]
`;
const service = (port: number) => `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: 10.96.0.80
  selector: {app: web}
  ports: [{port: ${port}, targetPort: http}]
`;
const POLICY = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-client}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {matchLabels: {role: client}}}], ports: [{protocol: TCP, port: 8000}]}]
`;
const app = (opts: { replicas?: number; version?: string; port?: number } = {}) =>
  [
    deployment(opts.replicas ?? 2, opts.version),
    plainPod('client', 'role: client'),
    plainPod('stranger', 'role: other'),
    service(opts.port ?? 80),
    POLICY,
  ].join('---\n');

/** What a TCP connection from `pod` to ip:port gets (its last line), '' when refused or dropped. */
async function get(pod: PodNode, ip: string, port: number): Promise<string> {
  const r = await pod.exec(
    `socat -T2 - TCP:${ip}:${port},connect-timeout=2 </dev/null 2>/dev/null | tail -1`,
    {
      timeoutMs: 10000,
    },
  );
  return r.stdout.trim();
}

if (requireRoot(t)) {
  t.test('manifests applied to a 2-worker cluster', async (t) => {
    const sim = await up(t, modelFromYaml(TOPOLOGY('192.168.67.0/24')));
    const C0 = sim.objects.get('C0') as Cluster;
    const r = repl(sim);
    const dir = tempDir(t);
    const file = writeFile(dir, 'app.yaml', app());
    const keys = async () =>
      [
        ...(await C0.pods()).map((p) => p.metadata.name),
        ...(await C0.etcd.getAll().prefix(`${SPECS_PREFIX}default/`).keys()),
        ...(await C0.etcd.getAll().prefix(POLICY_PREFIX).keys()),
      ].sort();

    t.test('every malformed manifest: one located error, nothing applied', async (t) => {
      const before = await keys();
      const corpus = join(CORPUS_DIR, 'manifests');
      for (const f of readdirSync(corpus).filter((x) => x.endsWith('.yaml'))) {
        const err = await C0.apply(join(corpus, f)).then(
          () => undefined,
          (e: unknown) => e,
        );
        t.ok(err instanceof TopologyError && err.issues.length === 1, `${f}: one error`, { err });
        t.match(
          String((err as Error).message),
          new RegExp(`^${join(corpus, f)}:\\d+:\\d+: `),
          `${f}: located`,
        );
      }
      t.same(await keys(), before, 'no pod, service or policy was made');
      t.equal(C0.localPods().length, 0, 'no pod namespace was made');
      const bad = await r.run(`apply -f ${join(corpus, 'bad_third_document.yaml')}`);
      t.equal(bad.code, 2, 'the REPL verb exits 2');
      t.match(
        bad.err,
        /^error: .*bad_third_document\.yaml:28:5: spec\.ingress\[0\]\.form: unknown field "form"/,
      );
    });

    const client = () => sim.node('client') as PodNode;
    const webIps = () =>
      C0.localPods()
        .filter((p) => p.labels.app === 'web')
        .map((p) => p.ip!)
        .sort();
    const endpoints = async () =>
      ((await C0.services()).find((s) => s.name === 'web')?.endpoints ?? [])
        .map((e) => e.split(' ')[0])
        .sort();
    /** the addresses that answer the client through the ClusterIP, over `n` connections */
    const answering = async (port: number, n: number, version = 'v1') => {
      const seen = new Set<string>();
      for (let i = 0; i < n; i++) {
        const [v, ip] = (await get(client(), '10.96.0.80', port)).split(' ');
        if (v === version) seen.add(ip);
      }
      return [...seen].sort();
    };

    t.test('apply -f: the service answers the allowed pod, the policy blocks the other', async (t) => {
      const res = await r.run(`apply -f ${file}`);
      t.equal(res.code, 0, res.err);
      t.match(
        res.out,
        /^note: .*app\.yaml: not emulated by netsim .*spec\.strategy.*spec\.template\.spec\.containers\[\]\.resources/,
      );
      for (const l of [
        'networkpolicy/web-from-client created',
        'deployment.apps/web created',
        'pod/stranger created',
        'service/web created',
      ])
        t.match(res.out, l);
      const web = C0.localPods().filter((p) => p.labels.app === 'web');
      t.equal(web.length, 2, 'two replicas');
      for (const p of web)
        t.match(p.name, /^web-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      t.equal(new Set(C0.localPods().map((p) => p.worker)).size, 2, 'pods spread over both workers');
      const svc = (await C0.services()).find((s) => s.name === 'web')!;
      t.match(svc.ports, '80/TCP→8000', 'named targetPort http resolved to 8000');
      t.same(await endpoints(), webIps(), 'the replicas are the endpoints');
      await waitFor(async () => (await answering(80, 1)).length === 1, {
        what: 'the client to get an answer through 10.96.0.80',
        timeoutMs: 15000,
      });
      t.same(await answering(80, 12), webIps(), 'both replicas answer the client through the ClusterIP');
      // the agents program the policy for their own pods: wait for each web pod's ingress chain
      for (const p of web) {
        const w = sim.node(p.worker) as WorkerNode;
        await waitFor(
          async () => (await w.cmd('nft list table ip netsim-policy')).includes(`ingress-default/${p.name}`),
          {
            what: `${p.name}'s ingress chain in its worker's policy table`,
          },
        );
      }
      t.equal(
        await get(sim.node('stranger') as PodNode, '10.96.0.80', 80),
        '',
        'stranger (role=other) is blocked by the policy',
      );
      t.ok((await answering(80, 2)).length > 0, 'the client still gets an answer');
    });

    t.test('applying again changes nothing', async (t) => {
      const snapshot = () =>
        Object.fromEntries(C0.localPods().map((p) => [p.name, `${p.ip} ${p.object.status.pid ?? ''}`]));
      const before = snapshot();
      const again = await r.run(`apply -f ${dir}`);
      t.equal(again.code, 0, again.err);
      t.notMatch(again.out, /created|configured|deleted/, 'everything unchanged');
      t.equal(again.out.match(/unchanged/g)?.length, 5, again.out);
      t.same(snapshot(), before, 'same pods, IPs and processes');
    });

    t.test('scaling the deployment 2 -> 5 -> 1 changes the endpoints', async (t) => {
      for (const replicas of [5, 1]) {
        writeFileSync(file, app({ replicas }));
        const res = await C0.apply(file);
        t.ok(res.lines.includes('deployment.apps/web configured'), res.lines.join(', '));
        t.equal(webIps().length, replicas, `${replicas} replicas`);
        await waitFor(async () => JSON.stringify(await endpoints()) === JSON.stringify(webIps()), {
          what: `${replicas} endpoints of web`,
          timeoutMs: 30000,
        });
        t.pass(`web's endpoints are the ${replicas} replicas`);
      }
      t.same(await answering(80, 3), webIps(), 'the one replica answers');
    });

    t.test('a changed template replaces the pods; a changed service keeps its ClusterIP', async (t) => {
      const old = webIps();
      const stranger = (sim.node('stranger') as PodNode).ip;
      writeFileSync(file, app({ replicas: 1, version: 'v2', port: 8080 }));
      const res = await C0.apply(file);
      t.same(
        res.lines.filter((l) => !l.endsWith('unchanged')),
        ['deployment.apps/web configured', 'service/web configured'],
      );
      t.equal(webIps().length, 1);
      t.not(webIps()[0], old[0], 'a new pod');
      t.equal((sim.node('stranger') as PodNode).ip, stranger, 'other pods left alone');
      t.equal((await C0.services()).find((s) => s.name === 'web')!.clusterIP, '10.96.0.80');
      await waitFor(async () => (await answering(8080, 1, 'v2')).length === 1, {
        what: 'the new template through port 8080',
        // a new pod, its endpoint and the recreated service reach every worker's kube-proxy:
        // seconds on a quiet machine, more while the whole suite runs beside it
        timeoutMs: 30000,
      });
      t.same(await answering(8080, 2, 'v2'), webIps());
    });

    t.test('delete -f removes it all', async (t) => {
      const res = await r.run(`delete -f ${file}`);
      t.equal(res.code, 0, res.err);
      t.equal(res.out.match(/deleted/g)?.length, 5, res.out);
      t.same(await keys(), [], 'no pod, service or policy left');
      t.equal(C0.localPods().length, 0);
      const twice = await r.run(`delete -f ${file}`);
      t.equal(twice.out.match(/not found/g)?.length, 5, 'deleting again: not found');
    });
  });

  t.test('manifests: in a topology, then netsim apply -f from another shell', async (t) => {
    const dir = tempDir(t);
    const name = `mf${process.pid % 10000}`;
    const file = writeFile(
      dir,
      'app.yaml',
      [deployment(1), plainPod('client', 'role: client'), service(80)].join('---\n'),
    );
    const topo = writeFile(dir, 'c.yml', TOPOLOGY('192.168.68.0/24', 'app.yaml'));
    const fg = startUp(t, topo, name);
    await waitReady(fg, name, 120000);
    const exec = (cmd: string) => runNetsim(['exec', '--sim', name, 'client', '--', 'sh', '-c', cmd]);
    const got = await exec('socat -T2 - TCP:10.96.0.80:80,connect-timeout=3 </dev/null');
    t.match(
      got.stdout,
      /^v1 10\.244\./,
      `the topology's manifests were applied: the service answers the client ${got.stderr}`,
    );
    const same = await runNetsim(['apply', '-f', file, '--sim', name], { timeoutMs: 120000 });
    t.equal(same.code, 0, same.stderr);
    t.equal(same.stdout.match(/unchanged/g)?.length, 3, `netsim apply of the same file: ${same.stdout}`);
    writeFileSync(file, [deployment(1, 'v2'), plainPod('client', 'role: client'), service(80)].join('---\n'));
    const changed = await runNetsim(['apply', '-f', file, '--sim', name], { timeoutMs: 120000 });
    t.match(changed.stdout, /deployment\.apps\/web configured\n/, changed.stderr);
    const v2 = await exec('socat -T2 - TCP:10.96.0.80:80,connect-timeout=3 </dev/null');
    t.match(v2.stdout, /^v2 10\.244\./, 'the new template answers');
    const bad = await runNetsim([
      'apply',
      '-f',
      join(CORPUS_DIR, 'manifests', 'unknown_worker.yaml'),
      '--sim',
      name,
    ]);
    t.equal(bad.code, 2, 'a bad manifest exits 2');
    t.match(bad.stderr, /^error: .*unknown_worker\.yaml:8:13: spec\.nodeName: unknown worker "w9"/m);
    const del = await runNetsim(['delete', '-f', file, '--sim', name]);
    t.equal(del.code, 0, del.stderr);
    t.equal(del.stdout.match(/deleted/g)?.length, 3, del.stdout);
    const gone = await exec('socat -T2 - TCP:10.96.0.80:80,connect-timeout=3 </dev/null');
    t.not(gone.code, 0, 'the client is gone');
  });

  t.test('a topology whose manifest is wrong is refused before anything is built', async (t) => {
    const dir = tempDir(t);
    writeFile(dir, 'bad.yaml', plainPod('p', 'a: b').replace('command: [sleep, infinity]', 'command: sleep'));
    const topo = writeFile(dir, 'c.yml', TOPOLOGY('192.168.70.0/24', 'bad.yaml'));
    const r = await runNetsim(['up', topo, '--no-repl', '-n', `mfbad${process.pid % 1000}`], {
      timeoutMs: 30000,
    });
    t.equal(r.code, 2, r.stderr);
    t.match(r.stderr, /^error: .*bad\.yaml:5:35: spec\.containers\[0\]\.command: a list of words/m);
  });
}
