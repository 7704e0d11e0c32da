// Ingress served by real nginx on a live 2-worker cluster, reached from a client pod through the
// NodePort 80/443 of either worker: host and path routing (two hosts, Exact vs Prefix, a port by
// name), the default backend, TLS from a Secret netsim generates (curl --resolve with the
// certificate as CA), a changed Ingress and a scaled backend picked up while 200 requests run
// (none fails), wrong Ingresses refused at apply with a located error, one nginx -t refuses left
// out while the previous config keeps serving, and knetsim's run_ingress on a worker.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { Cluster } from '../../src/features/k8s/cluster.js';
import { storeSecret, TLS_SECRET } from '../../src/features/k8s/manifests/secret.js';
import type { WorkerNode } from '../../src/features/k8s/worker.js';
import { waitFor } from '../../src/util/wait.js';
import { tempDir, writeFile } from '../lib/cli.js';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';
import { repl } from '../lib/repl.js';

const HTTPD = join(dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'http-server.js');

const TOPOLOGY = `
name: ing
nodes:
  s1: {kind: switch, subnet: 192.168.71.0/24}
  C0: {kind: cluster, underlay: s1, workers: 2, etcd: 1}
`;

const app = (name: string, replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - name: web
        command: [node, ${HTTPD}, '${name} {addr}', '8000']
        ports: [{name: http, containerPort: 8000}]
---
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec:
  selector: {app: ${name}}
  ports: [{name: web, port: 80, targetPort: http}]
`;

const ingress = (extraPath = '', tls = '') => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop}
spec:
  ingressClassName: nginx${tls}
  rules:
  - host: shop.example
    http:
      paths:
      - {path: /exact, pathType: Exact, backend: {service: {name: alpha, port: {number: 80}}}}
      - {path: /api, pathType: Prefix, backend: {service: {name: beta, port: {name: web}}}}
      - {path: /, pathType: Prefix, backend: {service: {name: gamma, port: {number: 80}}}}${extraPath}
  - host: blog.example
    http:
      paths:
      - {path: /, pathType: ImplementationSpecific, backend: {service: {name: beta, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: fallback}
spec:
  defaultBackend: {service: {name: dflt, port: {number: 80}}}
`;
const NEW_PATH =
  '\n      - {path: /new, pathType: Prefix, backend: {service: {name: alpha, port: {number: 80}}}}';
const TLS = '\n  tls:\n  - {hosts: [shop.example], secretName: shop-example-tls}';

if (requireRoot(t)) {
  t.test('ingress-nginx: routing, TLS, reloads, refusals', async (t) => {
    const sim = await up(t, modelFromYaml(TOPOLOGY));
    const C0 = sim.objects.get('C0') as Cluster;
    const dir = tempDir(t);
    const apps = ['alpha', 'beta', 'gamma', 'dflt'].map((n) => app(n, 1)).join('---\n');
    await C0.apply(apps);
    await C0.apply(
      `apiVersion: v1\nkind: Pod\nmetadata: {name: client}\nspec: {containers: [{name: c, command: [sleep, infinity]}]}\n`,
    );
    const shopFile = writeFile(dir, 'shop.yaml', ingress());
    const res = await C0.apply(shopFile);
    t.match(res.lines, [
      'ingress.networking.k8s.io/shop created',
      'ingress.networking.k8s.io/fallback created',
    ]);
    const status = await C0.ingressStatus();
    t.equal(status.pod, 'ingress-nginx-controller.ingress-nginx', 'nginx runs in its own pod');
    t.same(status.served, ['default/fallback', 'default/shop']);
    const client = C0.pod('client');
    const [w1, w2] = C0.workers;
    const get = async (host: string, path: string, worker = w1) =>
      (await client.cmd(`curl -s -m 5 -H 'Host: ${host}' http://${worker.ip}${path}`)).trim().split(' ')[0];

    t.test('host and path routing, Exact vs Prefix, default backend, on every worker', async (t) => {
      const cases: [string, string, string][] = [
        ['shop.example', '/exact', 'alpha'],
        ['shop.example', '/exact/more', 'gamma'],
        ['shop.example', '/api', 'beta'],
        ['shop.example', '/api/v1/items', 'beta'],
        ['shop.example', '/apix', 'gamma'],
        ['shop.example', '/', 'gamma'],
        ['blog.example', '/anything', 'beta'],
        ['other.example', '/', 'dflt'],
      ];
      for (const [host, path, want] of cases) {
        t.equal(await get(host, path), want, `${host}${path} → ${want}`);
        t.equal(await get(host, path, w2), want, `${host}${path} → ${want} through ${w2.name}`);
      }
      t.same(C0.ingressRoute('shop.example', '/api/v1'), {
        ingress: 'default/shop',
        service: 'default/beta',
        address: `${(await C0.services()).find((s) => s.name === 'beta')!.clusterIP}:80`,
      });
      const log = readFileSync(join(sim.dir, 'ingress', 'C0', 'access.log'), 'utf8');
      t.match(
        log,
        /"shop.example" "GET \/api\/v1\/items HTTP\/1.1" 200 .*ingress=default\/shop service=default\/beta:80/,
      );
    });

    t.test('trace: NodePort to the nginx pod, the route nginx picks, on to an endpoint', async (t) => {
      const { run } = repl(sim);
      const r = await run(`trace client ${w2.name} 80 --host shop.example --path /api/v1`);
      t.equal(r.code, 0, r.err);
      t.match(r.out, /ingress-nginx-controller\.ingress-nginx \(ingress\)/);
      t.match(
        r.out,
        /ingress\s+nginx \(C0's ingress controller\): Host shop\.example → server shop\.example/,
      );
      t.match(r.out, /ingress\s+path \/api\/v1 → Prefix \/api of Ingress default\/shop/);
      t.match(r.out, /ingress\s+proxies to service default\/beta:80 at 10\.\d+\.\d+\.\d+:80/);
      const beta = C0.localPods().find((p) => p.labels.app === 'beta')!;
      t.match(
        r.out,
        new RegExp(`\\d+\\. ${beta.name.replaceAll('.', '\\.')} \\(pod\\)`),
        'on to the beta pod',
      );
      t.match(r.out, /result: delivered: shop\.example\/api\/v1 through nginx/);
      const none = await run(`trace client ${w1.name} 80 --host nowhere.example --path /`);
      t.match(none.out, /the default backend of Ingress default\/fallback/);
    });

    t.test('TLS from a generated Secret, the certificate as CA', async (t) => {
      const cert = await C0.ingressCert('shop.example');
      t.equal(cert.secret, 'default/shop-example-tls');
      await C0.apply(writeFile(dir, 'shop.yaml', ingress('', TLS)));
      await C0.ingressSettled();
      const out = await client.cmd(
        `curl -sS -m 5 --cacert ${cert.crt} --resolve shop.example:443:${w2.ip} https://shop.example/api 2>&1`,
      );
      t.match(out, /^beta /, 'HTTPS through the NodePort 443, verified against the generated CA');
      const bad = await client.cmd(
        `curl -s -m 5 --cacert ${cert.crt} --resolve blog.example:443:${w1.ip} https://blog.example/ ; echo rc=$?`,
      );
      t.match(bad, /rc=60/, 'another host gets the fallback certificate, which the CA does not sign');
    });

    t.test('a changed Ingress and a scaled backend, 200 requests without a failure', async (t) => {
      const codes = join(dir, 'codes');
      const loop = client.cmd(
        `for i in $(seq 200); do curl -s -o /dev/null -m 5 -w '%{http_code}\\n' -H 'Host: shop.example' http://${w1.ip}/api >> ${codes}; done`,
      );
      const lines = () => {
        try {
          return readFileSync(codes, 'utf8').split('\n').filter(Boolean).length;
        } catch {
          return 0;
        }
      };
      await waitFor(() => lines() >= 30, { timeoutMs: 30000 });
      const reloads = (await C0.ingressStatus()).reloads;
      await C0.apply(writeFile(dir, 'shop.yaml', ingress(NEW_PATH, TLS)));
      await C0.ingressSettled();
      t.ok((await C0.ingressStatus()).reloads > reloads, 'nginx was reloaded');
      await waitFor(() => lines() >= 80, { timeoutMs: 30000 });
      await C0.apply(app('beta', 3));
      await loop;
      const all = readFileSync(codes, 'utf8').split('\n').filter(Boolean);
      const failed = all.filter((c) => c !== '200');
      t.equal(all.length, 200);
      t.equal(
        failed.length,
        0,
        `failed requests: ${failed.length} of ${all.length} (${all
          .map((c, i) => (c === '200' ? '' : `${i}:${c}`))
          .filter(Boolean)
          .join(' ')})`,
      );
      t.comment(`reload + scale during 200 requests: ${failed.length} failed`);
      t.equal(await get('shop.example', '/new/x'), 'alpha', 'the new path is served');
      const seen = new Set<string>();
      await waitFor(
        async () => {
          seen.add((await client.cmd(`curl -s -m 5 -H 'Host: shop.example' http://${w1.ip}/api`)).trim());
          return seen.size === 3;
        },
        { timeoutMs: 20000, what: 'the 3 beta pods to answer through the ingress' },
      );
      t.equal(seen.size, 3, 'kube-proxy spreads the ingress traffic over the scaled backend');
    });

    t.test('wrong Ingresses are refused, located; the previous config keeps serving', async (t) => {
      const bad = writeFile(
        dir,
        'bad.yaml',
        `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: bad}
spec:
  rules:
  - host: shop.example
    http:
      paths:
      - {path: /api/, pathType: Prefix, backend: {service: {name: gamma, port: {number: 80}}}}
      - {path: /x, pathType: Exact, backend: {service: {name: nosuch, port: {number: 80}}}}
`,
      );
      const err = await C0.apply(bad).then(
        () => '',
        (e: Error) => e.message,
      );
      t.match(
        err,
        /bad\.yaml:9:\d+: spec\.rules\[0\]\.http\.paths\[0\]\.path: Ingress default\/bad: Prefix path \/api of host shop\.example is already served by Ingress default\/shop/,
      );
      t.match(
        err,
        /bad\.yaml:10:\d+: spec\.rules\[0\]\.http\.paths\[1\]\.backend\.service\.name: Ingress default\/bad: no service "nosuch" in namespace default/,
      );
      const { run } = repl(sim);
      t.match((await run('kubectl get ingress')).out, /^(?![\s\S]*\bbad\b)/, 'nothing of it was stored');
      // a Secret nginx cannot load: nginx -t refuses the config, the previous one keeps serving
      await storeSecret(C0.etcd, {
        name: 'broken',
        namespace: 'default',
        type: TLS_SECRET,
        data: { 'tls.crt': Buffer.from('not a certificate').toString('base64'), 'tls.key': 'eA==' },
      });
      await C0.apply(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: broken}
spec:
  tls: [{hosts: [broken.example], secretName: broken}]
  rules: [{host: broken.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: alpha, port: {number: 80}}}}]}}]
`);
      const s = await C0.ingressStatus();
      t.match(s.rejected, /nginx -t refused the new config \(the previous one keeps serving\): .*broken/);
      t.equal(await get('shop.example', '/api'), 'beta', 'still served');
      t.not(await get('broken.example', '/'), 'alpha', 'the refused config is not live');
      const verb = await run('ingress C0');
      t.match(verb.out, /nginx in pod ingress-nginx-controller\.ingress-nginx/);
      t.match(verb.out, /nginx -t refused/);
      await C0.delete(
        `apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: broken}\nspec: {defaultBackend: {service: {name: alpha, port: {number: 80}}}}\n`,
      );
      await C0.ingressSettled();
      t.notOk((await C0.ingressStatus()).rejected, 'without it nginx takes the config again');
    });

    t.test("knetsim's run_ingress on a worker", async (t) => {
      const alpha = (await C0.services()).find((s) => s.name === 'alpha')!;
      const w = sim.node('C0w1') as WorkerNode;
      const ing = await w.run_ingress('ing1', 8001, [{ path: '/svc1', endpoint: alpha.clusterIP }]);
      t.equal(ing.url, `http://${w.ip}:8001`);
      t.match(await client.cmd(`curl -s -m 5 http://${w.ip}:8001/svc1/x`), /^alpha /);
      t.match(await client.cmd(`curl -s -m 5 http://${w.ip}:8001/other`), /no route/);
      t.equal(
        (await w.runIngress('ing2', 8002, [{ path: '/a', endpoint: `${alpha.clusterIP}:80` }])).name,
        'ing2',
      );
      t.match(await client.cmd(`curl -s -m 5 http://${w.ip}:8002/a`), /^alpha /);
    });
  });
}
