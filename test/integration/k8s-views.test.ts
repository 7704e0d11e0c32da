// Headless services, Ingress, nodeSelector and the deploy/endpointslice/ingress views on a live
// 2-worker cluster whose second worker carries zone=b: a headless service over a Deployment of 3
// resolves from a pod (getent, through the cluster DNS) to the 3 pod IPs, each answering on its
// port, and to 1 after scaling to 1; it has no ClusterIP and no kube-proxy rules; the same from
// `C0.addService` with clusterIP None. A Deployment with nodeSelector zone=b lands only on C0w2
// (its pods' IPs in C0w2's subnet). An Ingress is stored, served (k8s-ingress tests how) and shown by `get ingress`;
// `get deploy`, `get endpointslices`, `get nodes --show-labels`, -o json/yaml read what is live;
// `delete -f` removes the stored Deployment and Ingress.
import t from 'tap';
import type { Cluster } from '../../src/features/k8s/cluster.js';
import { INGRESS_PREFIX } from '../../src/features/k8s/manifests/ingress.js';
import { DEPLOYMENTS_PREFIX } from '../../src/features/k8s/manifests/stored.js';
import type { PodNode } from '../../src/features/k8s/pod.js';
import { SERVICE_IPAM_PREFIX } from '../../src/features/k8s/services/objects.js';
import type { WorkerNode } from '../../src/features/k8s/worker.js';
import { contains, networkOf, parseIp } from '../../src/util/ipv4.js';
import { waitFor } from '../../src/util/wait.js';
import { tempDir, writeFile } from '../lib/cli.js';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';
import { repl } from '../lib/repl.js';

const TOPOLOGY = `
name: v
nodes:
  s1: {kind: switch, subnet: 192.168.69.0/24}
  C0:
    kind: cluster
    underlay: s1
    workers: 2
    etcd: 1
    workerLabels:
      w2: {zone: b, disktype: ssd}
`;

const deployment = (name: string, replicas: number, extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:${extra}
      containers:
      - name: ${name}
        image: busybox:1.36
        command: [socat, 'TCP-LISTEN:8000,fork,reuseaddr', 'SYSTEM:echo $SOCAT_SOCKADDR']
        ports: [{name: http, containerPort: 8000}]
`;
const app = (replicas: number) =>
  [
    deployment('web', replicas),
    deployment('zoned', 3, '\n      nodeSelector: {zone: b}'),
    `apiVersion: v1
kind: Service
metadata: {name: web-h}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{port: 8000, targetPort: http}]
`,
    `apiVersion: v1
kind: Service
metadata: {name: web-c}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
`,
    `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  ingressClassName: nginx
  rules:
  - host: web.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web-h, port: {number: 8000}}}}
`,
  ].join('---\n');
const CLIENT = `apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers: [{name: c, command: [sleep, infinity]}]
`;

/** A table's rows as objects keyed by its header (columns split on 2+ spaces). */
function rows(text: string): Record<string, string>[] {
  const [head, ...lines] = text.trimEnd().split('\n');
  const cols = head.split(/ {2,}/);
  return lines.map((l) => Object.fromEntries(l.split(/ {2,}/).map((v, i) => [cols[i], v])));
}

if (requireRoot(t)) {
  t.test('headless services, ingress, nodeSelector and the views', async (t) => {
    const sim = await up(t, modelFromYaml(TOPOLOGY));
    const C0 = sim.objects.get('C0') as Cluster;
    const { run } = repl(sim);
    const dir = tempDir(t);
    const client = () => sim.node('client') as PodNode;
    const podsOf = (app: string) => C0.localPods().filter((p) => p.labels.app === app);
    const ipsOf = (app: string) =>
      podsOf(app)
        .map((p) => p.ip!)
        .sort();
    /** The A records the client's resolver gets for a name (through the cluster DNS). */
    const resolve = async (name: string) =>
      [
        ...new Set(
          (await client().cmd(`getent ahostsv4 ${name} || true`))
            .split('\n')
            .map((l) => l.split(/\s+/)[0])
            .filter(Boolean),
        ),
      ].sort();

    t.equal((await run(`kubectl apply -f ${writeFile(dir, 'client.yaml', CLIENT)}`)).code, 0);
    const first = await run(`kubectl apply -f ${writeFile(dir, 'app.yaml', app(3))}`);
    t.equal(first.code, 0, first.err);
    t.notMatch(first.out, /note: .*Ingress/, 'an Ingress is served now: nothing to note');
    t.same((await C0.ingressStatus()).served, ['default/web'], 'the ingress controller serves it');
    t.match(first.out, /ingress\.networking\.k8s\.io\/web created/);
    t.equal(podsOf('web').length, 3);

    t.test('a headless service: no ClusterIP, no rules, every pod in DNS', async (t) => {
      const svc = (await C0.services()).find((s) => s.name === 'web-h')!;
      t.equal(svc.clusterIP, 'None');
      const ipam = await C0.etcd.getAll().prefix(SERVICE_IPAM_PREFIX).strings();
      t.notOk(
        Object.values(ipam).includes('default/web-h'),
        'no address of the service CIDR is taken for it',
      );
      await waitFor(
        async () => svc && (await C0.services()).find((s) => s.name === 'web-h')!.endpoints.length === 3,
        {
          what: 'three endpoints for web-h',
        },
      );
      for (const w of C0.workers as WorkerNode[]) {
        const table = await w.cmd('nft list table ip kube-proxy');
        t.notMatch(table, 'default/web-h', `${w.name}: no kube-proxy chain for it`);
      }
      const want = ipsOf('web');
      await waitFor(async () => JSON.stringify(await resolve('web-h')) === JSON.stringify(want), {
        what: 'web-h resolving to the 3 pod IPs',
        timeoutMs: 10000,
      });
      t.same(await resolve('web-h.default.svc.cluster.local'), want, 'the FQDN: one A record per pod');
      // each address it gives is a pod that answers
      const answers = await Promise.all(
        want.map(async (ip) =>
          (await client().cmd(`socat -T2 - TCP:${ip}:8000,connect-timeout=2 </dev/null`)).trim(),
        ),
      );
      t.same(answers, want, 'each resolved address answers with its own address');
      const got = rows((await run('kubectl get svc web-h')).out);
      t.equal(got[0]['CLUSTER-IP'], 'None');
      const slices = rows((await run('kubectl get endpointslices -l kubernetes.io/service-name=web-h')).out);
      t.equal(slices.length, 1);
      t.match(slices[0].NAME, /^web-h-[a-z0-9]{5}$/);
      t.equal(slices[0].ADDRESSTYPE, 'IPv4');
      t.equal(slices[0].PORTS, '8000');
      t.same(slices[0].ENDPOINTS.split(',').sort(), want);
      const traced = await run('trace client web-h');
      t.not(traced.code, 0, 'a trace to a headless service fails');
      t.match(traced.err + traced.out, /headless \(clusterIP: None\).*trace to one of those pods/);
    });

    t.test('from the JS API: C0.addService with clusterIP None', async (t) => {
      await C0.addService('api-h', {
        clusterIP: 'None',
        selector: { app: 'web' },
        ports: [{ port: 80, targetPort: 8000 }],
      });
      await waitFor(async () => JSON.stringify(await resolve('api-h')) === JSON.stringify(ipsOf('web')), {
        what: 'api-h resolving to the 3 pod IPs',
        timeoutMs: 10000,
      });
      t.pass('api-h resolves to every pod');
      await C0.deleteService('api-h');
      await waitFor(async () => (await resolve('api-h')).length === 0, { what: 'api-h gone from DNS' });
    });

    t.test('nodeSelector: the zoned replicas only on the zone=b worker', async (t) => {
      const w2 = C0.worker('w2');
      const { subnet: s } = w2.subnet()!;
      const subnet = networkOf(s.ip, s.prefix);
      const zoned = podsOf('zoned');
      t.equal(zoned.length, 3);
      for (const p of zoned) {
        t.equal(p.object.spec.nodeName, 'C0w2', `${p.name} on C0w2`);
        t.ok(contains(subnet, parseIp(p.ip!)!), `${p.name}'s ${p.ip} in C0w2's subnet`);
      }
      t.ok(
        podsOf('web').some((p) => p.worker === 'C0w1'),
        'pods without a nodeSelector still spread over both workers',
      );
      const nodes = rows((await run('kubectl get nodes --show-labels')).out);
      t.match(nodes.find((n) => n.NAME === 'C0w2')!.LABELS, 'disktype=ssd,kubernetes.io/arch=');
      t.match(nodes.find((n) => n.NAME === 'C0w2')!.LABELS, 'kubernetes.io/os=linux,zone=b');
      t.notMatch(nodes.find((n) => n.NAME === 'C0w1')!.LABELS, 'zone=');
      const yaml = (await run('kubectl get node C0w2 -o yaml')).out;
      t.match(yaml, /\n {4}zone: b\n/);
    });

    t.test('get deploy, ingress, -o json', async (t) => {
      const d = rows((await run('kubectl get deploy')).out);
      t.same(
        d.map((x) => [x.NAME, x.READY, x['UP-TO-DATE'], x.AVAILABLE]),
        [
          ['web', '3/3', '3', '3'],
          ['zoned', '3/3', '3', '3'],
        ],
      );
      const wide = rows((await run('kubectl get deployment web -o wide')).out);
      t.same([wide[0].CONTAINERS, wide[0].IMAGES, wide[0].SELECTOR], ['web', 'busybox:1.36', 'app=web']);
      const list = JSON.parse((await run('kubectl get deployments -o json')).out);
      t.equal(list.kind, 'List');
      t.same(
        list.items.map((x: { kind: string; status: { readyReplicas: number } }) => [
          x.kind,
          x.status.readyReplicas,
        ]),
        [
          ['Deployment', 3],
          ['Deployment', 3],
        ],
      );
      const one = JSON.parse((await run('kubectl get deploy zoned -o json')).out);
      t.same(one.spec.template.spec.nodeSelector, { zone: 'b' });
      const [head, row] = (await run('kubectl get ing')).out.split('\n');
      t.equal(head, 'NAME   CLASS   HOSTS             ADDRESS   PORTS   AGE');
      t.match(row, /^web {4}nginx {3}web\.example\.com {13}80 {6}\d+s$/, 'no ADDRESS: nothing serves it');
      t.match((await run('kubectl get ingress web -o yaml')).out, /kind: Ingress\n/);
      const dd = await run('kubectl describe deploy zoned');
      t.match(dd.out, /\nReplicas: +3 desired \| 3 updated \| 3 total \| 3 available \| 0 unavailable\n/);
      t.match(dd.out, /\n {2}Node-Selectors: {2}zone=b\n/);
      const dn = (await run('kubectl describe node C0w2')).out;
      t.match(dn, /\n +zone=b\n/);
      for (const p of podsOf('zoned'))
        t.match(dn, `  default     ${p.name}`, `describe node lists ${p.name}`);
      for (const r of ['endpointslices', 'ingresses', 'deploy'])
        t.equal((await run(`kubectl get ${r} -A -o yaml`)).code, 0, `${r} -A -o yaml`);
    });

    t.test('scaled to 1: the headless name follows; apply twice is a no-op', async (t) => {
      const r = await run(`kubectl apply -f ${writeFile(dir, 'app.yaml', app(1))}`);
      t.equal(r.code, 0, r.err);
      t.match(r.out, /deployment\.apps\/web configured/);
      t.equal(podsOf('web').length, 1);
      const want = ipsOf('web');
      await waitFor(async () => JSON.stringify(await resolve('web-h')) === JSON.stringify(want), {
        what: 'web-h resolving to the 1 pod left',
        timeoutMs: 10000,
      });
      t.pass(`web-h resolves to ${want.join(',')} only`);
      const clusterIp = (await C0.services()).find((x) => x.name === 'web-c')!.clusterIP;
      t.same(
        await resolve('web-c'),
        [clusterIp],
        'a ClusterIP service keeps its one name as its endpoints change',
      );
      t.equal(rows((await run('kubectl get deploy web')).out)[0].READY, '1/1');
      const again = await run(`kubectl apply -f ${writeFile(dir, 'app.yaml', app(1))}`);
      t.match(again.out, /ingress\.networking\.k8s\.io\/web unchanged/);
      t.match(again.out, /deployment\.apps\/web unchanged/);
    });

    t.test('delete -f removes the stored deployments and ingress', async (t) => {
      const r = await run(`kubectl delete -f ${writeFile(dir, 'app.yaml', app(1))}`);
      t.equal(r.code, 0, r.err);
      t.match(r.out, /ingress\.networking\.k8s\.io\/web deleted/);
      t.same(await C0.etcd.getAll().prefix(DEPLOYMENTS_PREFIX).keys(), []);
      t.same(await C0.etcd.getAll().prefix(INGRESS_PREFIX).keys(), []);
      // the ingress controller's pod (namespace ingress-nginx) stays, as ingress-nginx does
      t.same(
        C0.localPods()
          .filter((p) => p.object.metadata.namespace === 'default')
          .map((p) => p.name),
        ['client'],
      );
      await waitFor(async () => (await resolve('web-h')).length === 0, { what: 'web-h gone from DNS' });
      t.match((await run('kubectl get deploy')).err, /No resources found in default namespace/);
    });
  });
}
