// Namespaces through the real kernel, etcd and nftables: two namespaces (prod, team=a; dev,
// team=b) applied from YAML, each with a pod `web` (ports 80 and 8080) and a pod `client`,
// plus `client` in default: the same pod name in three namespaces. Cluster DNS resolves a
// service by its short name within the namespace and as `web.prod` across; kubectl and
// `netsim exec` reach pods outside default; then the Kubernetes documentation's NetworkPolicy
// recipes behave as documented between the namespaces (default deny ingress, allow from one
// namespace by its label, following a label change, allow one port); deleting a namespace
// deletes what is in it.
import t from 'tap';
import type { Cluster } from '../../src/features/k8s/cluster.js';
import type { PodNode } from '../../src/features/k8s/pod.js';
import type { WorkerNode } from '../../src/features/k8s/worker.js';
import { waitFor } from '../../src/util/wait.js';
import { runNetsim } from '../lib/cli.js';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';
import { repl } from '../lib/repl.js';

const NS = (name: string, team: string) => `apiVersion: v1
kind: Namespace
metadata:
  name: ${name}
  labels: {team: ${team}}
`;
// web answers each connection with its namespace and the port it came in on
const WEB = (ns: string) => `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: ${ns}, labels: {app: web}}
spec:
  containers:
  - name: web
    command: [sh, -c, "socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:'echo ${ns} 8080' & exec socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo ${ns} 80'"]
    ports: [{containerPort: 80}, {containerPort: 8080}]
`;
const CLIENT = (ns: string) => `apiVersion: v1
kind: Pod
metadata: {name: client, namespace: ${ns}, labels: {role: client}}
spec:
  containers: [{name: c, command: [sh, -c, "echo client in ${ns}; exec sleep infinity"]}]
`;
const SVC = (ns: string) => `apiVersion: v1
kind: Service
metadata: {name: web, namespace: ${ns}}
spec:
  selector: {app: web}
  ports: [{port: 80}]
`;
const APP = [
  NS('prod', 'a'),
  NS('dev', 'b'),
  ...['prod', 'dev'].flatMap((ns) => [WEB(ns), CLIENT(ns), SVC(ns)]),
].join('---\n');

// the recipes of https://kubernetes.io/docs/concepts/services-networking/network-policies/
const DENY_PROD = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-ingress, namespace: prod}
spec:
  podSelector: {}
  policyTypes: [Ingress]
`;
const PROD_FROM_TEAM_B = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-from-team-b, namespace: prod}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: b}}
`;
const DEV_PORT_80 = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-port-80, namespace: dev}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - ports: [{protocol: TCP, port: 80}]
`;

/** What a TCP connection from `pod` to host:port gets (its last line), '' when refused or dropped. */
async function get(pod: PodNode, host: string, port: number): Promise<string> {
  const r = await pod.exec(
    `socat -T2 - TCP:${host}:${port},connect-timeout=2 </dev/null 2>/dev/null | tail -1`,
    {
      timeoutMs: 15000,
    },
  );
  return r.stdout.trim();
}

if (requireRoot(t)) {
  t.test('namespaces in a 2-worker cluster', async (t) => {
    const sim = await up(
      t,
      modelFromYaml(`
name: ns
nodes:
  s1: {kind: switch, subnet: 192.168.73.0/24}
  C0: {kind: cluster, underlay: s1, etcd: 1, workers: 2}
`),
    );
    const C0 = sim.objects.get('C0') as Cluster;
    const r = repl(sim);
    const pod = (n: string) => sim.node(n) as PodNode;
    const ip = (n: string) => pod(n).ip!;
    const worker = (n: string) => sim.node(pod(n).worker) as WorkerNode;
    /** waits until the agent of `node`'s worker has programmed `chain` */
    const chainIn = (node: string, chain: string) =>
      waitFor(async () => (await worker(node).cmd('nft list table ip netsim-policy')).includes(chain), {
        what: `${chain} in ${pod(node).worker}'s policy table`,
        timeoutMs: 15000,
      });

    t.test('applied from YAML: Namespace objects, the same pod name in three namespaces', async (t) => {
      const res = await C0.apply(APP);
      t.same(res.lines, [
        'namespace/prod created',
        'namespace/dev created',
        'pod/web created',
        'pod/client created',
        'pod/web created',
        'pod/client created',
        'service/web created',
        'service/web created',
      ]);
      await C0.addPod('w1', 'client', { labels: { role: 'client' } });
      await t.rejects(C0.addPod('w2', 'lost', { namespace: 'nope' }), /namespaces "nope" not found/);
      for (const [node, ns, name] of [
        ['web.prod', 'prod', 'web'],
        ['web.dev', 'dev', 'web'],
        ['client.prod', 'prod', 'client'],
        ['client.dev', 'dev', 'client'],
        ['client', 'default', 'client'],
      ]) {
        const p = pod(node);
        t.same([p.object.metadata.namespace, p.object.metadata.name], [ns, name], `${node}: ${ns}/${name}`);
        const stored = await C0.etcd.get(`/registry/pods/${ns}/${name}`).json();
        t.equal((stored as { status: { podIP: string } }).status.podIP, p.ip, `${node}'s object in etcd`);
      }
      t.equal(new Set(C0.localPods().map((p) => p.ns)).size, 5, 'five network namespaces');
      const prod = (await C0.etcd.get('/registry/namespaces/prod').json()) as {
        metadata: { labels: Record<string, string> };
        status: { phase: string };
      };
      t.same(prod.metadata.labels, { team: 'a', 'kubernetes.io/metadata.name': 'prod' });
      t.equal(prod.status.phase, 'Active');
      const again = await C0.apply(APP);
      t.same(
        again.lines.filter((l) => !l.endsWith(' unchanged')),
        [],
        'applying again changes nothing',
      );
      await t.rejects(C0.apply(WEB('qa')), /metadata\.namespace: namespaces "qa" not found/);
    });

    t.test('kubectl -n, exec, logs and netsim exec reach pods outside default', async (t) => {
      const names = (await r.run('kubectl get ns')).out
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(/\s+/)[0]);
      t.same(names, ['default', 'dev', 'kube-node-lease', 'kube-public', 'kube-system', 'prod']);
      t.match(
        (await r.run('kubectl get ns prod -o yaml')).out,
        /labels:\n\s+kubernetes\.io\/metadata\.name: prod\n\s+team: a\n/,
      );
      t.match(
        (await r.run('kubectl get ns dev --show-labels')).out,
        /\ndev\s+Active\s+\S+\s+kubernetes\.io\/metadata\.name=dev,team=b\n/,
      );
      const pods = (await r.run('kubectl get pods -n prod -o wide')).out;
      t.match(pods, new RegExp(`\\nweb\\s+1/1\\s+Running.*${ip('web.prod').replaceAll('.', '\\.')}`));
      const ex = await r.run('kubectl exec -n dev web -- ip -4 -o addr show eth0');
      t.equal(ex.code, 0, ex.err);
      t.match(ex.out, `inet ${ip('web.dev')}/`, 'kubectl exec -n dev web: the pod of dev');
      await waitFor(async () => (await r.run('kubectl logs -n prod client')).out !== '', {
        what: "client.prod's log",
      });
      t.equal((await r.run('kubectl logs -n prod client')).out, 'client in prod\n');
      t.equal((await r.run('kubectl logs client')).out, '', 'the client of default has no command');
      const listed = (await r.run('pods')).out;
      for (const n of ['web.prod', 'web.dev', 'client.prod', 'client.dev'])
        t.match(
          listed,
          new RegExp(
            `^C0  ${n.replace('.', '\\.')}\\s+C0w\\d\\s+${ip(n).replaceAll('.', '\\.')}\\s+Running`,
            'm',
          ),
        );
      t.equal(C0.pod('web', 'prod'), pod('web.prod'), 'C0.pod(name, namespace)');
      const missing = await r.run('kubectl logs -n qa client');
      t.same([missing.code, missing.err], [1, 'Error from server (NotFound): pods "client" not found\n']);
      const cli = await runNetsim([
        'exec',
        '--sim',
        sim.name,
        `${pod('web.prod').worker}/web.prod`,
        '--',
        'ip',
        '-4',
        '-o',
        'addr',
        'show',
        'eth0',
      ]);
      t.equal(cli.code, 0, cli.stderr);
      t.match(cli.stdout, `inet ${ip('web.prod')}/`, 'netsim exec C0wN/web.prod');
    });

    t.test('DNS: the short name within the namespace, <svc>.<ns> across', async (t) => {
      const conf = await pod('client.prod').exec('cat /etc/resolv.conf');
      t.match(conf.stdout, /^search prod\.svc\.cluster\.local svc\.cluster\.local cluster\.local$/m);
      t.match((await pod('client.dev').exec('cat /etc/resolv.conf')).stdout, /^search dev\.svc\./m);
      t.match((await pod('client').exec('cat /etc/resolv.conf')).stdout, /^search default\.svc\./m);
      await waitFor(async () => (await get(pod('client.prod'), 'web', 80)) === 'prod 80', {
        what: 'web from client.prod (service, DNS and kube-proxy in place)',
        timeoutMs: 30000,
      });
      await waitFor(async () => (await get(pod('client.dev'), 'web', 80)) === 'dev 80', {
        what: 'web from client.dev',
        timeoutMs: 30000,
      });
      t.equal(await get(pod('client.dev'), 'web.prod', 80), 'prod 80', 'web.prod from dev');
      t.equal(await get(pod('client.prod'), 'web.dev', 80), 'dev 80', 'web.dev from prod');
      t.equal(
        await get(pod('client'), 'web.dev.svc.cluster.local', 80),
        'dev 80',
        'the full name from default',
      );
      const svc = (await C0.services()).find((s) => s.namespace === 'prod' && s.name === 'web')!;
      const host = await pod('client.dev').exec('getent hosts web.prod');
      t.match(
        host.stdout,
        new RegExp(`^${svc.clusterIP.replaceAll('.', '\\.')}\\s+web\\.prod\\.svc\\.cluster\\.local`),
      );
      t.equal(
        await get(pod('client'), 'web', 80),
        '',
        'default has no service web: the short name does not leave the namespace',
      );
      const dns = (await C0.services()).find((s) => s.name === 'kube-dns')!;
      t.equal(dns.namespace, 'kube-system');
      t.equal(dns.clusterIP, '10.96.0.10');
    });

    t.test('without policies every client reaches every web on both ports', async (t) => {
      for (const c of ['client', 'client.prod', 'client.dev'])
        for (const ns of ['prod', 'dev'])
          for (const port of [80, 8080])
            t.equal(await get(pod(c), ip(`web.${ns}`), port), `${ns} ${port}`, `${c} -> web.${ns}:${port}`);
    });

    t.test('default deny ingress in prod: nothing gets in, dev is not touched', async (t) => {
      t.same((await C0.apply(DENY_PROD)).lines, ['networkpolicy/default-deny-ingress created']);
      await chainIn('web.prod', 'ingress-prod/web');
      for (const c of ['client', 'client.prod', 'client.dev'])
        t.equal(await get(pod(c), ip('web.prod'), 80), '', `${c} -> web.prod refused`);
      t.equal(await get(pod('client.prod'), ip('web.dev'), 80), 'dev 80', 'prod still reaches dev');
      t.same((await C0.delete(DENY_PROD)).lines, ['networkpolicy/default-deny-ingress deleted']);
      await waitFor(async () => (await get(pod('client.prod'), ip('web.prod'), 80)) === 'prod 80', {
        what: 'prod open again',
        timeoutMs: 15000,
      });
    });

    t.test(
      "allow from one namespace: its label admits dev's client, and follows a label change",
      async (t) => {
        await C0.apply(PROD_FROM_TEAM_B);
        await chainIn('web.prod', 'ingress-prod/web');
        t.equal(await get(pod('client.dev'), ip('web.prod'), 80), 'prod 80', 'client.dev (team=b) gets in');
        t.equal(await get(pod('client.dev'), ip('web.prod'), 8080), 'prod 8080', 'on any port');
        t.equal(await get(pod('client.prod'), ip('web.prod'), 80), '', 'client.prod (team=a) does not');
        t.equal(await get(pod('client'), ip('web.prod'), 80), '', 'client of default does not');
        t.same((await C0.apply(NS('dev', 'c'))).lines, ['namespace/dev configured']);
        await waitFor(async () => (await get(pod('client.dev'), ip('web.prod'), 80)) === '', {
          what: "dev relabelled team=c: the agents re-render prod's chains",
          timeoutMs: 15000,
        });
        t.pass('relabelled dev is refused');
        t.same((await C0.apply(NS('prod', 'c'))).lines, ['namespace/prod configured']);
        t.equal(await get(pod('client.prod'), ip('web.prod'), 80), '', 'team=c does not match team=b');
        await C0.apply([NS('dev', 'b'), NS('prod', 'a')].join('---\n'));
        await waitFor(async () => (await get(pod('client.dev'), ip('web.prod'), 80)) === 'prod 80', {
          what: 'dev admitted again with team=b',
          timeoutMs: 15000,
        });
        await C0.delete(PROD_FROM_TEAM_B);
      },
    );

    t.test('allow one port in dev: 80 answers, 8080 is refused', async (t) => {
      await C0.apply(DEV_PORT_80);
      await chainIn('web.dev', 'ingress-dev/web');
      for (const c of ['client', 'client.prod', 'client.dev']) {
        t.equal(await get(pod(c), ip('web.dev'), 80), 'dev 80', `${c} -> web.dev:80`);
        t.equal(await get(pod(c), ip('web.dev'), 8080), '', `${c} -> web.dev:8080 refused`);
      }
      t.equal(await get(pod('client.dev'), ip('web.prod'), 8080), 'prod 8080', 'prod is not touched');
    });

    t.test('deleting a namespace deletes what is in it', async (t) => {
      const res = await C0.delete(NS('prod', 'a'));
      t.same(res.lines, ['namespace/prod deleted']);
      t.notOk(sim.nodes.has('web.prod') || sim.nodes.has('client.prod'), "prod's pods are gone");
      for (const prefix of [
        '/registry/pods/prod/',
        '/registry/services/specs/prod/',
        '/registry/services/endpoints/prod/',
        '/registry/namespaces/prod',
      ])
        t.same(await C0.etcd.getAll().prefix(prefix).keys(), [], `nothing under ${prefix}`);
      t.ok(sim.nodes.has('web.dev') && sim.nodes.has('client'), 'dev and default keep theirs');
      t.equal(await get(pod('client.dev'), 'web', 80), 'dev 80', "dev's service still answers");
      const rest = await C0.delete([APP, DEV_PORT_80].join('---\n'));
      t.ok(rest.lines.includes('namespace/dev deleted'), rest.lines.join(', '));
      t.ok(rest.lines.includes('namespace/prod not found'));
      t.same(
        C0.localPods().map((p) => p.name),
        ['client'],
        'only the client of default is left',
      );
      const kept = await C0.delete(`apiVersion: v1\nkind: Namespace\nmetadata: {name: default}\n`).catch(
        (e: Error) => e.message,
      );
      t.match(kept, /namespaces "default" is forbidden: this namespace may not be deleted/);
    });
  });
}
