// The ingress controller's routes and nginx.conf from Ingress objects: hosts merged into
// servers, Exact before Prefix, ports by number or name, conflicts and unknown backends refused
// with the field at fault (the whole object), another class left alone, headless backends
// proxied to their endpoints.
import t from 'tap';
import { renderIngressConf } from '../../src/features/k8s/ingress/render.js';
import { buildRoutes, type IngressInput, pickLocation } from '../../src/features/k8s/ingress/routes.js';

const services = new Map([
  ['default/a', { clusterIP: '10.96.0.10', ports: [{ name: 'web', port: 80 }] }],
  ['default/b', { clusterIP: '10.96.0.11', ports: [{ port: 8080 }] }],
  ['default/h', { clusterIP: 'None', ports: [{ port: 80, targetPort: 8000 }], endpoints: ['10.244.1.2'] }],
]);
const be = (name: string, port: number | string) => ({
  service: { name, port: typeof port === 'number' ? { number: port } : { name: port } },
});
const ing = (name: string, spec: IngressInput['spec']): IngressInput => ({
  namespace: 'default',
  name,
  spec,
});

t.test('servers, locations and what nginx picks', async (t) => {
  const r = buildRoutes(
    [
      ing('one', {
        rules: [
          {
            host: 'shop.example',
            http: {
              paths: [
                { path: '/x', pathType: 'Exact', backend: be('a', 'web') },
                { path: '/x/', pathType: 'Prefix', backend: be('b', 8080) },
              ],
            },
          },
        ],
      }),
      ing('two', { defaultBackend: be('h', 80), ingressClassName: 'nginx' }),
      ing('other', { ingressClassName: 'traefik', defaultBackend: be('a', 80) }),
    ],
    services,
  );
  t.same(r.errors, []);
  t.same(r.skipped, ['default/other']);
  t.equal(pickLocation(r, 'shop.example', '/x').loc?.backend.service, 'default/a', 'Exact first');
  t.equal(pickLocation(r, 'shop.example', '/x/y').loc?.backend.service, 'default/b');
  t.equal(pickLocation(r, 'shop.example', '/xy').loc, undefined, 'a prefix matches whole path elements');
  const conf = renderIngressConf(
    r,
    {
      dir: '/d',
      certOf: (s) => ({ crt: `/c/${s}.crt`, key: `/c/${s}.key` }),
      fallback: { crt: '/c/f.crt', key: '/c/f.key' },
    },
    'test',
  );
  t.match(conf, /location = \/x \{[^}]*proxy_pass http:\/\/default_a_80;/);
  t.match(conf, /location \/x\/ \{[^}]*proxy_pass http:\/\/default_b_8080;/);
  t.notMatch(conf, /location = \/x \{[^}]*default_b_8080/, 'no second `= /x` for the Prefix');
  t.match(
    conf,
    /upstream default_h_80 \{\n {4}server 10\.244\.1\.2:8000 max_fails=0;\n {2}\}/,
    'headless: its endpoints',
  );
  t.match(conf, /pid \/d\/nginx.pid;/);
  t.match(conf, /listen 80 default_server;/);
});

t.test('refusals name the object and the field; the object is left out whole', async (t) => {
  const r = buildRoutes(
    [
      ing('first', {
        rules: [
          { host: 'h.example', http: { paths: [{ path: '/p', pathType: 'Prefix', backend: be('a', 80) }] } },
        ],
      }),
      ing('second', {
        rules: [
          {
            host: 'h.example',
            http: {
              paths: [
                { path: '/p/', pathType: 'Prefix', backend: be('b', 8080) },
                { path: '/q', pathType: 'Prefix', backend: be('nosuch', 80) },
                { path: '/r', pathType: 'Prefix', backend: be('a', 'nope') },
                { path: '/s', pathType: 'Prefix', backend: be('b', 8080) },
              ],
            },
          },
        ],
      }),
    ],
    services,
  );
  t.same(
    r.errors.map((e) => [e.ingress, e.path.join('.'), e.message]),
    [
      [
        'default/second',
        'spec.rules.0.http.paths.0.path',
        'Prefix path /p of host h.example is already served by Ingress default/first',
      ],
      [
        'default/second',
        'spec.rules.0.http.paths.1.backend.service.name',
        'no service "nosuch" in namespace default',
      ],
      [
        'default/second',
        'spec.rules.0.http.paths.2.backend.service.port.name',
        'service "a" has no port named "nope" (its ports: web:80)',
      ],
    ],
  );
  t.equal(pickLocation(r, 'h.example', '/s').loc, undefined, 'nothing of the refused object is served');
});
