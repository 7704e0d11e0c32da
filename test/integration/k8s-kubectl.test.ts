// kubectl-shaped views of a live cluster of 2 workers (src/features/k8s/kubectl): `get pods -o
// wide` shows each pod's real address and worker, `get svc`/`get ep` the services and their
// endpoints' real addresses, -l filters, -o json parses; `kubectl exec` reaches a pod (and a
// service) through the kernel and the policy refuses another pod; `kubectl logs` prints a pod
// command's output; `netsim kubectl` from another process prints what the REPL prints, and an
// unknown resource or a missing pod exits 1 with kubectl's words.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Cluster } from '../../src/features/k8s/cluster.js';
import type { PodNode } from '../../src/features/k8s/pod.js';
import type { WorkerNode } from '../../src/features/k8s/worker.js';
import { serveControl } from '../../src/surfaces/web/cli.js';
import { waitFor } from '../../src/util/wait.js';
import { runNetsim } from '../lib/cli.js';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';
import { repl } from '../lib/repl.js';

const server = (name: string) => `socat TCP-LISTEN:8000,fork,reuseaddr SYSTEM:'echo ${name}'`;

/** A table's rows as objects keyed by its header (columns split on 2+ spaces). */
function rows(text: string): Record<string, string>[] {
  const [head, ...lines] = text.trimEnd().split('\n');
  const cols = head.split(/ {2,}/);
  return lines.map((l) => Object.fromEntries(l.split(/ {2,}/).map((v, i) => [cols[i], v])));
}

if (requireRoot(t)) {
  t.test('kubectl views of a cluster', async (t) => {
    const model = modelFromYaml(`
name: x
nodes:
  s1: {kind: switch, subnet: 192.168.67.0/24}
  C0:
    kind: cluster
    underlay: s1
    workers: 2
    etcd: 1
    pods:
      web1: {worker: w1, labels: {app: web}, command: "${server('web1')}"}
      web2: {worker: w2, labels: {app: web}, command: "${server('web2')}"}
      client: {worker: w1, labels: {role: client}}
      talker: {worker: w2, command: 'sh -c "echo hello from talker; exec sleep 3600"'}
    services:
      web: {selector: {app: web}, ports: [{port: 80, targetPort: 8000}]}
      front: {type: NodePort, selector: {app: web}, ports: [{port: 80, targetPort: 8000, nodePort: 30080}]}
`);
    const sim = await up(t, model);
    const C0 = sim.objects.get('C0') as Cluster;
    await C0.addNetworkPolicy('web-from-clients', {
      podSelector: { matchLabels: { app: 'web' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }] }],
    });
    await serveControl(sim, {});
    const { run } = repl(sim);
    const pod = (n: string) => sim.node(n) as PodNode;
    const ip = (n: string) => pod(n).ip!;
    const mine = async () => (await C0.services()).filter((s) => s.namespace === 'default');
    await waitFor(async () => (await mine()).every((s) => s.endpoints.length === 2), {
      what: 'two endpoints for each service',
    });

    t.test('get pods -o wide: real addresses and workers', async (t) => {
      const r = await run('kubectl get pods -o wide');
      t.equal(r.code, 0);
      t.match(
        r.out,
        /^NAME {5}READY {3}STATUS {4}RESTARTS {3}AGE {3,}IP {11,}NODE {3,}NOMINATED NODE {3}READINESS GATES\n/,
      );
      const got = rows(r.out);
      t.same(
        got.map((x) => x.NAME),
        ['client', 'talker', 'web1', 'web2'],
      );
      for (const x of got) {
        t.equal(x.IP, ip(x.NAME), `${x.NAME}'s IP`);
        t.equal(x.NODE, pod(x.NAME).worker, `${x.NAME}'s node`);
        t.equal(x.STATUS, 'Running');
        t.equal(x.READY, '1/1');
        t.match(x.AGE, /^\d+s$/);
      }
      const k = await run('k get po -l app=web');
      t.same(
        rows(k.out).map((x) => x.NAME),
        ['web1', 'web2'],
        '-l filters',
      );
      const none = await run('kubectl get pods -l app=nothing');
      t.equal(none.out, '');
      t.equal(none.err, 'No resources found in default namespace.\n');
      const other = await run('kubectl get pods -n kube-system');
      t.equal(other.err, 'No resources found in kube-system namespace.\n');
      const all = await run('kubectl get pods -A');
      t.same(
        rows(all.out).map((x) => `${x.NAMESPACE}/${x.NAME}`),
        ['default/client', 'default/talker', 'default/web1', 'default/web2'],
      );
    });

    t.test('get svc and ep: cluster IPs, NodePort, endpoint addresses', async (t) => {
      const views = await C0.services();
      const svc = rows((await run('kubectl get svc')).out);
      t.same(
        svc.map((x) => x.NAME),
        ['front', 'web'],
      );
      for (const x of svc) t.equal(x['CLUSTER-IP'], views.find((v) => v.name === x.NAME)!.clusterIP);
      t.equal(svc[0].TYPE, 'NodePort');
      t.equal(svc[0]['PORT(S)'], '80:30080/TCP');
      t.equal(svc[1].TYPE, 'ClusterIP');
      t.equal(svc[1]['PORT(S)'], '80/TCP');
      t.equal(svc[1]['EXTERNAL-IP'], '<none>');
      const wide = rows((await run('kubectl get svc -o wide')).out);
      t.equal(wide[1].SELECTOR, 'app=web');
      const ep = rows((await run('kubectl get ep')).out);
      for (const x of ep)
        t.same(
          x.ENDPOINTS.split(',').sort(),
          [`${ip('web1')}:8000`, `${ip('web2')}:8000`].sort(),
          `${x.NAME}'s endpoints`,
        );
      const desc = await run('kubectl describe svc front');
      t.match(desc.out, /\nNodePort: +<unset> {2}30080\/TCP\n/);
      t.match(desc.out, new RegExp(`\\nEndpoints: +[\\d.:,]*${ip('web1').replace(/\./g, '\\.')}:8000`));
    });

    t.test('get netpol, nodes, ns', async (t) => {
      const pol = rows((await run('kubectl get netpol')).out);
      t.same(
        pol.map((x) => [x.NAME, x['POD-SELECTOR']]),
        [['web-from-clients', 'app=web']],
      );
      t.match(pol[0].AGE, /^\d+s$/);
      const nodes = rows((await run('kubectl get nodes -o wide')).out);
      t.same(
        nodes.map((x) => [x.NAME, x.STATUS, x.ROLES]),
        [
          ['C0w1', 'Ready', '<none>'],
          ['C0w2', 'Ready', '<none>'],
        ],
      );
      for (const x of nodes) t.equal(x['INTERNAL-IP'], (sim.node(x.NAME) as WorkerNode).ip);
      t.same(
        rows((await run('kubectl get ns')).out).map((x) => [x.NAME, x.STATUS]),
        [
          ['default', 'Active'],
          ['kube-node-lease', 'Active'],
          ['kube-public', 'Active'],
          ['kube-system', 'Active'],
        ],
        "the Namespace objects in etcd: a new cluster's four (kube-system holds the cluster DNS's service)",
      );
      const dns = rows((await run('kubectl get svc -A')).out).find((x) => x.NAME === 'kube-dns');
      t.equal(dns?.NAMESPACE, 'kube-system');
    });

    t.test('-o json and -o yaml print the stored objects', async (t) => {
      const list = JSON.parse((await run('kubectl get pods -o json')).out);
      t.equal(list.kind, 'List');
      t.same(
        list.items.map((p: { metadata: { name: string }; status: { podIP: string } }) => [
          p.metadata.name,
          p.status.podIP,
        ]),
        ['client', 'talker', 'web1', 'web2'].map((n) => [n, ip(n)]),
      );
      const one = JSON.parse((await run('kubectl get pod web1 -o json')).out);
      t.same(one, await C0.etcd.get('/registry/pods/default/web1').json());
      t.match((await run('kubectl get svc web -o yaml')).out, /^apiVersion: v1\nkind: Service\n/);
    });

    t.test('exec reaches pods and services through the kernel; the policy refuses a pod', async (t) => {
      const ok = await run(`kubectl exec client -- socat -T2 - TCP:${ip('web1')}:8000,connect-timeout=2`);
      t.equal(ok.code, 0);
      t.equal(ok.out.trim(), 'web1', 'client reaches web1');
      const clusterIp = (await C0.services()).find((s) => s.name === 'web')!.clusterIP;
      const viaSvc = await run(`kubectl exec client -- socat -T2 - TCP:${clusterIp}:80,connect-timeout=2`);
      t.match(viaSvc.out.trim(), /^web[12]$/, 'through the service');
      // the pod's resolv.conf is bound in exec as in the pod itself (without it the host's
      // resolver answers, and never for a service); the DNS agent may still be taking web in
      const named = await waitFor(
        async () => {
          const r = await run('kubectl exec client -- getent hosts web.default.svc.cluster.local');
          return r.code === 0 ? r : undefined;
        },
        { what: 'web.default.svc.cluster.local to resolve in kubectl exec' },
      );
      t.match(
        named.out,
        new RegExp(`^${clusterIp.replaceAll('.', '\\.')}\\s`),
        "the pod's DNS answers in exec",
      );
      const short = await run('kubectl exec client -- getent hosts web');
      t.match(short.out, clusterIp, "the pod's search path too");
      await waitFor(
        async () =>
          (await run(`kubectl exec talker -- socat -T1 - TCP:${ip('web1')}:8000,connect-timeout=1`)).code !==
          0,
        { what: 'the policy to refuse talker' },
      );
      const refused = await run(
        `kubectl exec talker -- socat -T1 - TCP:${ip('web1')}:8000,connect-timeout=1`,
      );
      t.not(refused.code, 0, 'talker is not a client');
      t.equal(refused.out, '');
    });

    t.test("logs: the pod command's output", async (t) => {
      await waitFor(async () => (await run('kubectl logs talker')).out.includes('hello from talker'), {
        what: "talker's log",
      });
      t.equal((await run('kubectl logs talker')).out, 'hello from talker\n');
      t.equal((await run('kubectl logs client')).out, '', 'no command, no log');
    });

    t.test('kubectl apply/delete -f: the manifests verbs, then get sees the pod', async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'kubectl-apply-'));
      t.teardown(() => rmSync(dir, { recursive: true, force: true }));
      const file = join(dir, 'extra.yaml');
      writeFileSync(
        file,
        'apiVersion: v1\nkind: Pod\nmetadata:\n  name: extra\n  labels: {app: extra}\nspec:\n  containers: [{name: c, image: busybox}]\n',
      );
      const applied = await run(`kubectl apply -f ${file}`);
      t.equal(applied.code, 0, `apply: ${applied.out}${applied.err}`);
      const got = rows((await run('kubectl get pods -l app=extra -o wide')).out);
      t.same(
        got.map((x) => x.NAME),
        ['extra'],
        'the applied pod is listed',
      );
      t.ok(/^10\./.test(got[0]?.IP ?? ''), `with an address from the pod network: ${got[0]?.IP}`);
      const deleted = await run(`kubectl delete -f ${file}`);
      t.equal(deleted.code, 0, `delete: ${deleted.out}${deleted.err}`);
      t.same(rows((await run('kubectl get pods -l app=extra')).out), [], 'and gone after delete -f');
    });

    t.test('errors as kubectl words them', async (t) => {
      const foo = await run('kubectl get foo');
      t.same([foo.code, foo.err], [1, 'error: the server doesn\'t have a resource type "foo"\n']);
      const missing = await run('kubectl get pods nosuch');
      t.same([missing.code, missing.err], [1, 'Error from server (NotFound): pods "nosuch" not found\n']);
      const ctx = await run('kubectl --context C9 get pods');
      t.same([ctx.code, ctx.err], [1, 'error: context "C9" does not exist (clusters: C0)\n']);
      const ex = await run('kubectl exec nosuch -- true');
      t.same([ex.code, ex.err], [1, 'Error from server (NotFound): pods "nosuch" not found\n']);
    });

    t.test('netsim kubectl from another process prints what the REPL prints', async (t) => {
      const cli = (...args: string[]) => runNetsim(['kubectl', '--sim', sim.name, ...args]);
      // the two runs are a moment apart: AGE (and the width of its column) may differ
      const noAge = (s: string) =>
        s.replace(/(^|\s)\d+[smhdy](\d+[smhd])?(?=\s|$)/gm, '$1AGE').replace(/ +/g, ' ');
      for (const line of [
        'get ep',
        'get svc -o json',
        'get pods -o wide',
        'get netpol',
        '--context C0 get pods -l app=web',
      ]) {
        const [r, c] = [await run(`kubectl ${line}`), await cli(...line.split(' '))];
        t.equal(c.code, 0, line);
        t.equal(noAge(c.stdout), noAge(r.out), line);
      }
      const foo = await cli('get', 'foo');
      t.same([foo.code, foo.stderr], [1, 'error: the server doesn\'t have a resource type "foo"\n']);
      const missing = await cli('get', 'pods', 'nosuch');
      t.same([missing.code, missing.stderr], [1, 'Error from server (NotFound): pods "nosuch" not found\n']);
      const ex = await cli(
        'exec',
        'client',
        '--',
        'socat',
        '-T2',
        '-',
        `TCP:${ip('web2')}:8000,connect-timeout=2`,
      );
      t.same([ex.code, ex.stdout.trim()], [0, 'web2'], 'exec from another shell reaches web2');
      const named = await cli('exec', 'client', '--', 'getent', 'hosts', 'web');
      t.equal(named.code, 0, 'a service name resolves in exec from another shell');
      const direct = await runNetsim([
        'exec',
        '--sim',
        sim.name,
        'C0w1/client',
        '--',
        'getent',
        'hosts',
        'web',
      ]);
      t.equal(direct.code, 0, "netsim exec WORKER/POD: the pod's resolv.conf, service names resolve");
      const many = await runNetsim([
        'exec',
        '--sim',
        sim.name,
        'C0w1/client',
        'C0w2/talker',
        '--',
        'getent hosts web',
      ]);
      t.equal(many.code, 0, 'and on several pods at once');
      const failing = await cli('exec', 'client', '--', 'sh', '-c', 'exit 3');
      t.equal(failing.code, 3, "exec exits with the command's status");
    });
  });
}
