// Kubernetes manifests read and checked without a cluster: every file of the manifest corpus
// (test/bad-input/manifests) gives exactly one located error, a good file maps to the
// cluster's pods, services and policies with its not-emulated fields noted, and the REPL's
// argument parsing.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { schedule } from '../../src/features/k8s/manifests/deployment.js';
import { manifestDocs } from '../../src/features/k8s/manifests/input.js';
import {
  shellLine,
  type ValidationContext,
  validateManifests,
} from '../../src/features/k8s/manifests/validate.js';
import { parseManifestArgs } from '../../src/features/k8s/manifests/verbs.js';
import { parseServiceCidr } from '../../src/features/k8s/services/objects.js';
import { formatIssue, TopologyError } from '../../src/model/errors.js';
import { CORPUS_DIR, checkError, readExpectation } from '../lib/corpus.js';

const WORKERS = ['C0w1', 'C0w2'];
const ctx = (extra: Partial<ValidationContext> = {}): ValidationContext => ({
  workers: WORKERS,
  resolveWorker: (n) => (WORKERS.includes(n) ? n : WORKERS.includes(`C0${n}`) ? `C0${n}` : undefined),
  serviceCidr: parseServiceCidr('10.96.0.0/12'),
  knownPods: [],
  podNameTaken: () => undefined,
  ...extra,
});

function errorsOf(input: Parameters<typeof manifestDocs>[0], c = ctx()): string {
  try {
    validateManifests(manifestDocs(input), c);
  } catch (err) {
    if (err instanceof TopologyError) return err.issues.map((i) => `error: ${formatIssue(i)}\n`).join('');
    throw err;
  }
  return '';
}

const DIR = join(CORPUS_DIR, 'manifests');
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));

t.test('the manifest corpus: one located error per file', async (t) => {
  t.ok(files.length >= 15, `${files.length} bad manifests`);
  for (const f of files) {
    t.test(f, async (t) => {
      const exp = readExpectation(join(DIR, f));
      checkError(t, exp, errorsOf(exp.file));
    });
  }
});

const GOOD = `apiVersion: v1
kind: Pod
metadata:
  name: web-1
  labels: {app: web}
spec:
  nodeName: w2
  containers:
  - name: web
    image: busybox
    command: [sh, -c]
    args: ["echo 'hi there'"]
    ports: [{name: http, containerPort: 8000}]
    resources: {limits: {cpu: "1"}}
  - name: sidecar
    command: [sleep, infinity]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}
  externalTrafficPolicy: Local
  ports: [{port: 80, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {matchLabels: {role: client}}}], ports: [{port: 8000}]}]
`;

t.test('a good file maps to the cluster objects, with its notes', async (t) => {
  const { objects, notes } = validateManifests(manifestDocs(GOOD), ctx());
  const [pod, svc, pol] = objects.map((o) => ({ ...o, source: undefined }));
  t.same(pod, {
    kind: 'Pod',
    name: 'web-1',
    namespace: 'default',
    source: undefined,
    labels: { app: 'web' },
    command: `sh -c 'echo '\\''hi there'\\'''`,
    nodeName: 'C0w2',
    ports: [{ name: 'http', containerPort: 8000, protocol: 'TCP' }],
  });
  t.same(svc.kind === 'Service' && svc.spec, {
    type: 'NodePort',
    selector: { app: 'web' },
    ports: [{ port: 80, targetPort: 8000 }],
    sessionAffinity: 'ClientIP',
    affinityTimeoutSeconds: 60,
    externalTrafficPolicy: 'Local',
  });
  t.equal(pol.kind, 'NetworkPolicy');
  t.equal(notes.length, 1, 'one note for the file');
  for (const f of ['spec.containers[].image', 'spec.containers[].resources', 'only the first container runs'])
    t.match(notes[0], f);
});

t.test('bandwidth annotations are read, the others kept and noted', async (t) => {
  const yaml = `apiVersion: v1
kind: Pod
metadata:
  name: slow
  annotations:
    kubernetes.io/ingress-bandwidth: 5M
    kubernetes.io/egress-bandwidth: 10Mi
    example.com/owner: me
spec:
  containers: [{name: slow}]
`;
  const { objects, notes } = validateManifests(manifestDocs(yaml), ctx());
  const pod = objects[0] as { annotations?: Record<string, string> };
  t.same(pod.annotations, {
    'kubernetes.io/ingress-bandwidth': '5M',
    'kubernetes.io/egress-bandwidth': '10Mi',
    'example.com/owner': 'me',
  });
  t.match(notes[0], 'metadata.annotations.example.com/owner');
  t.notMatch(notes[0], 'bandwidth', 'the bandwidth annotations are emulated, not noted');
  t.match(
    errorsOf(yaml, ctx({ cni: false })),
    /metadata\.annotations: bandwidth annotations need the CNI plugins \(bandwidth\), which cni: false/,
    'refused on a cluster with cni: false',
  );
});

t.test('a named targetPort resolves from pods applied before', async (t) => {
  const svc = GOOD.split('---')[1];
  t.match(errorsOf(svc), /no pod selected by app=web has a container port named "http"/);
  const known = validateManifests(manifestDocs(GOOD.split('---')[0]), ctx()).objects;
  const { objects } = validateManifests(manifestDocs(svc), ctx({ knownPods: known as never }));
  t.equal(objects[0].kind === 'Service' && objects[0].spec.ports[0].targetPort, 8000);
});

t.test('objects from a script: errors name the object and the field', async (t) => {
  t.equal(
    errorsOf({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', command: 'sleep 1' }] },
    }),
    'error: <object>: spec.containers[0].command: a list of words\n',
  );
  t.match(
    errorsOf(
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c' }] } },
      ctx({ podNameTaken: () => 'the name of a node (host)' }),
    ),
    /metadata.name: "p" is already the name of a node/,
  );
});

t.test('shell lines and REPL arguments', async (t) => {
  t.equal(
    shellLine(['socat', 'TCP-LISTEN:80,fork', "SYSTEM:echo 'x'"]),
    `socat TCP-LISTEN:80,fork 'SYSTEM:echo '\\''x'\\'''`,
  );
  t.same(parseManifestArgs('apply', ['-f', 'a.yaml', '--filename=b', '--context', 'C1']), {
    files: ['a.yaml', 'b'],
    context: 'C1',
  });
  t.throws(() => parseManifestArgs('apply', []), /give the manifests with -f/);
  t.throws(() => parseManifestArgs('apply', ['a.yaml']), /unexpected "a.yaml"/);
});

t.test('a deployment: its template with pod-template-hash, which changes with the template', async (t) => {
  const doc = (cmd: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, command: [${cmd}], ports: [{name: http, containerPort: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 8080, targetPort: http}]
`;
  const [d, svc] = validateManifests(manifestDocs(doc('sleep, "1"')), ctx()).objects;
  if (d.kind !== 'Deployment' || svc.kind !== 'Service') throw new Error('kinds');
  t.equal(d.replicas, 3);
  t.match(d.hash, /^[bcdfghjklmnpqrstvwxz2456789]{10}$/);
  t.same(d.template.labels, { app: 'web', 'pod-template-hash': d.hash });
  t.equal(d.template.command, 'sleep 1');
  t.equal(svc.spec.ports[0].targetPort, 80, "named targetPort from the deployment's template");
  const [d2] = validateManifests(manifestDocs(doc('sleep, "2"')), ctx()).objects;
  t.not(d2.kind === 'Deployment' && d2.hash, d.hash, 'another template, another hash');
  const [d3] = validateManifests(manifestDocs(doc('sleep, "1"')), ctx()).objects;
  t.equal(d3.kind === 'Deployment' && d3.hash, d.hash, 'the same template, the same hash');
});

const INGRESS = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, labels: {app: web}}
spec:
  ingressClassName: nginx
  tls: [{hosts: [web.example.com], secretName: web-tls}]
  defaultBackend: {service: {name: web, port: {name: http}}}
  rules:
  - host: "*.example.com"
    http:
      paths:
      - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {number: 8080}}}}
`;

t.test('an Ingress is kept as written (TLS included, no notes); a headless service passes', async (t) => {
  const { objects, notes } = validateManifests(
    manifestDocs(`${INGRESS}---
apiVersion: v1
kind: Service
metadata: {name: db}
spec: {clusterIP: None, selector: {app: db}, ports: [{port: 5432}]}
`),
    ctx(),
  );
  const [ing, svc] = objects;
  t.equal(ing.kind, 'Ingress');
  t.same(ing.kind === 'Ingress' && ing.spec.rules?.[0].http?.paths[0].backend, {
    service: { name: 'api', port: { number: 8080 } },
  });
  t.same(ing.kind === 'Ingress' && ing.labels, { app: 'web' });
  t.equal(svc.kind === 'Service' && svc.spec.clusterIP, 'None');
  t.same(notes, [], 'served by the ingress controller: nothing to note');
  t.match(
    errorsOf(INGRESS.replace('"*.example.com"', '10.0.0.1')),
    /spec.rules\[0\].host: a host is a DNS name, not an IP address/,
  );
  t.match(
    errorsOf(INGRESS.replace('{name: api, port: {number: 8080}}', '{name: api}')),
    /:12:\d+: spec.rules\[0\].http.paths\[0\].backend.service.port: required: port.number or port.name/,
  );
});

t.test('nodeSelector: the workers whose labels fit', async (t) => {
  const pod = (sel: string, nodeName = '') => `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  ${nodeName ? `nodeName: ${nodeName}` : ''}
  nodeSelector: ${sel}
  containers: [{name: c}]
`;
  const labelled = ctx({
    nodeLabels: (w) => ({ 'kubernetes.io/hostname': w, ...(w === 'C0w2' ? { zone: 'b' } : {}) }),
  });
  const { objects } = validateManifests(manifestDocs(pod('{zone: b}')), labelled);
  t.same(objects[0].kind === 'Pod' && objects[0].nodeSelector, { zone: 'b' });
  t.same(
    validateManifests(manifestDocs(pod('{kubernetes.io/hostname: C0w1}')), labelled).objects.length,
    1,
    'the hostname label',
  );
  t.match(
    errorsOf(pod('{zone: b}', 'w1'), labelled),
    /:6:\d+: spec.nodeSelector: worker C0w1 \(nodeName\) does not have the labels zone=b/,
  );
  t.match(errorsOf(pod('{zone: c}'), labelled), /spec.nodeSelector: no worker has the labels zone=c/);
  t.match(
    errorsOf(pod("{'bad key!': x}"), labelled),
    /spec.nodeSelector\["bad key!"\]: label key "bad key!"/,
  );
});

t.test('scheduling: replicas spread over the workers whose labels fit', async (t) => {
  const config = {
    name: 'C0',
    workers: ['C0w1', 'C0w2', 'C0w3'],
    workerLabels: { C0w2: { zone: 'b' }, C0w3: { zone: 'b' } },
  };
  const c = { name: 'C0', config, localPods: () => [{ worker: 'C0w2' }] } as unknown as Parameters<
    typeof schedule
  >[0];
  const zoned = { labels: {}, ports: [], nodeSelector: { zone: 'b' } };
  t.same(schedule(c, [zoned, zoned, zoned]), ['C0w3', 'C0w2', 'C0w3'], 'the least loaded of C0w2 and C0w3');
  t.same(schedule(c, [{ labels: {}, ports: [] }]), ['C0w1'], 'without a selector: any worker');
  t.same(
    schedule(c, [{ labels: {}, ports: [], nodeSelector: { 'kubernetes.io/hostname': 'C0w1' } }]),
    ['C0w1'],
    'the hostname label',
  );
  t.throws(() => schedule(c, [{ labels: {}, ports: [], nodeSelector: { zone: 'x' } }]), /no worker of C0/);
});

t.test('a Secret: stringData folded into base64 data; a TLS one needs tls.crt and tls.key', async (t) => {
  const [s] = validateManifests(
    manifestDocs(`apiVersion: v1
kind: Secret
metadata: {name: shop-tls}
type: kubernetes.io/tls
data: {tls.crt: Y2VydA==}
stringData: {tls.key: key}
`),
    ctx(),
  ).objects;
  t.same(s.kind === 'Secret' && s.data, { 'tls.crt': 'Y2VydA==', 'tls.key': 'a2V5' });
  t.match(
    errorsOf(`apiVersion: v1
kind: Secret
metadata: {name: shop-tls}
type: kubernetes.io/tls
data: {tls.crt: Y2VydA==}
`),
    /:5:\d+: data: a kubernetes.io\/tls Secret needs tls.key/,
  );
});
