// The views added for deployments, endpoint slices, ingresses, headless services and node labels:
// each table's header and one row compared literally (AGE from a fixed clock), the slice made
// from an Endpoints object, a deployment's status counted from its pods, and the command line.
import t from 'tap';
import { parseKubectl } from '../../src/features/k8s/kubectl/args.js';
import { describeDeployment, describeNode } from '../../src/features/k8s/kubectl/describe.js';
import type { NodeObject } from '../../src/features/k8s/kubectl/objects.js';
import { ingressHosts, tableOf } from '../../src/features/k8s/kubectl/printers.js';
import { endpointSliceOf, sliceEndpoints } from '../../src/features/k8s/kubectl/slices.js';
import { renderTable } from '../../src/features/k8s/kubectl/table.js';
import type { IngressObject } from '../../src/features/k8s/manifests/ingress.js';
import { type DeploymentObject, withStatus } from '../../src/features/k8s/manifests/stored.js';
import type { PodObject } from '../../src/features/k8s/registry.js';
import type { EndpointsObject, ServiceObject } from '../../src/features/k8s/services/objects.js';

const NOW = Date.parse('2026-12-06T12:00:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();

const render = (
  r: Parameters<typeof tableOf>[0],
  objects: Parameters<typeof tableOf>[1],
  opts: { wide?: boolean; withNamespace?: boolean; showLabels?: boolean } = {},
) => {
  const x = tableOf(r, objects, { wide: false, withNamespace: false, now: NOW, ...opts });
  return renderTable(x.header, x.rows).split('\n');
};

const HASH = 'bcdfghjklm';
const deployment: DeploymentObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: 'default',
    uid: 'u',
    generation: 1,
    creationTimestamp: ago(182),
    annotations: { 'netsim.io/pod-template-hash': HASH },
  },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image: 'nginx:1.27' }, { name: 'log' }] },
    },
  },
};

const pod = (name: string, hash: string, phase: PodObject['status']['phase'] = 'Running'): PodObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    namespace: 'default',
    uid: 'u',
    labels: { app: 'web', 'pod-template-hash': hash },
    creationTimestamp: ago(60),
  },
  spec: { nodeName: 'C0w1' },
  status: { phase, podIP: '10.244.1.2', netns: 'n' },
});

t.test('deployments: READY UP-TO-DATE AVAILABLE, -o wide CONTAINERS IMAGES SELECTOR', async (t) => {
  const d = withStatus(deployment, [
    pod(`web-${HASH}-bcdfg`, HASH),
    pod(`web-${HASH}-hjklm`, HASH, 'Pending'),
    pod('web-mlkjhgfdcb-bcdfg', 'mlkjhgfdcb'),
    pod(`other-${HASH}-bcdfg`, HASH),
  ]);
  t.same(
    d.status,
    { observedGeneration: 1, replicas: 3, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 },
    "counted from its own pods: the template's hash is up to date, Running is ready",
  );
  const lines = render('deployments', [d]);
  t.equal(lines[0], 'NAME   READY   UP-TO-DATE   AVAILABLE   AGE');
  t.equal(lines[1], 'web    2/3     2            2           3m2s');
  const wide = render('deployments', [d], { wide: true });
  t.equal(
    wide[0],
    'NAME   READY   UP-TO-DATE   AVAILABLE   AGE    CONTAINERS   IMAGES              SELECTOR',
  );
  t.equal(wide[1], 'web    2/3     2            2           3m2s   web,log      nginx:1.27,<none>   app=web');
});

const svc = (clusterIP: string): ServiceObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default', uid: 'uid-of-web', creationTimestamp: ago(600) },
  spec: {
    type: 'ClusterIP',
    clusterIP,
    selector: { app: 'web' },
    ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
    sessionAffinity: 'None',
  },
});

t.test('endpoint slices from the Endpoints netsim keeps', async (t) => {
  const ep: EndpointsObject = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'web', namespace: 'default' },
    subsets: [
      {
        addresses: ['10.244.1.2', '10.244.1.3', '10.244.2.2', '10.244.2.3'].map((ip) => ({
          ip,
          nodeName: 'C0w1',
          targetRef: { kind: 'Pod' as const, name: `p-${ip}`, namespace: 'default' },
        })),
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    ],
  };
  const s = endpointSliceOf(svc('10.96.0.20'), ep);
  t.match(s.metadata.name, /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/, '<service>-<5 letters>');
  t.equal(
    endpointSliceOf(svc('10.96.0.20'), ep).metadata.name,
    s.metadata.name,
    'the same name on every read',
  );
  t.equal(s.metadata.labels['kubernetes.io/service-name'], 'web');
  t.equal(s.endpoints.length, 4);
  t.same(s.endpoints[0].conditions, { ready: true, serving: true, terminating: false });
  const lines = render('endpointslices', [s]);
  t.equal(lines[0], 'NAME        ADDRESSTYPE   PORTS   ENDPOINTS                                      AGE');
  t.equal(
    lines[1],
    `${s.metadata.name}   IPv4          8080    10.244.1.2,10.244.1.3,10.244.2.2 + 1 more...   10m`,
  );
  const empty = endpointSliceOf(svc('10.96.0.20'), undefined);
  t.equal(empty.ports, null, 'no endpoints yet: no ports');
  t.equal(sliceEndpoints(empty), '<unset>');
  t.equal(
    render('endpointslices', [empty])[1],
    `${s.metadata.name}   IPv4          <unset>   <unset>     10m`,
  );
});

t.test('ingresses: CLASS HOSTS ADDRESS PORTS', async (t) => {
  const ing = (rules: { host?: string }[], tls = false, cls?: string): IngressObject => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'web', namespace: 'default', uid: 'u', generation: 1, creationTimestamp: ago(30) },
    spec: {
      ...(cls ? { ingressClassName: cls } : {}),
      rules,
      ...(tls ? { tls: [{ hosts: ['a.example.com'] }] } : {}),
    },
    status: { loadBalancer: {} },
  });
  const lines = render('ingresses', [ing([{ host: 'a.example.com' }], false, 'nginx')]);
  t.equal(lines[0], 'NAME   CLASS   HOSTS           ADDRESS   PORTS   AGE');
  t.equal(lines[1], 'web    nginx   a.example.com             80      30s');
  t.equal(render('ingresses', [ing([{}], true)])[1], 'web    <none>   *                 80, 443   30s');
  const many = ing([{ host: 'a' }, {}, { host: 'b' }, { host: 'c' }, { host: 'd' }]);
  t.equal(ingressHosts(many), 'a,b,c + 2 more...', "kubectl's count: rules beyond the third");
});

t.test('a headless service shows None; nodes --show-labels', async (t) => {
  const lines = render('services', [svc('None')]);
  t.equal(lines[0], 'NAME   TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE');
  t.equal(lines[1], 'web    ClusterIP   None         <none>        80/TCP    10m');
  const node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: 'C0w1',
      labels: { 'kubernetes.io/hostname': 'C0w1', 'kubernetes.io/os': 'linux', zone: 'a' },
      creationTimestamp: ago(600),
    },
    spec: {},
    status: {
      conditions: [{ type: 'Ready', status: 'True', reason: 'AgentReady', message: '' }],
      addresses: [],
      nodeInfo: {
        kubeletVersion: 'netsim-v1.0.0',
        osImage: 'Debian',
        kernelVersion: '6.1.0',
        containerRuntimeVersion: 'netsim://netns',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  } satisfies NodeObject;
  const n = render('nodes', [node], { showLabels: true });
  t.equal(n[0], 'NAME   STATUS   ROLES    AGE   VERSION         LABELS');
  t.equal(
    n[1],
    'C0w1   Ready    <none>   10m   netsim-v1.0.0   kubernetes.io/hostname=C0w1,kubernetes.io/os=linux,zone=a',
  );
});

t.test('describe deploy and describe node', async (t) => {
  const d = describeDeployment(withStatus(deployment, [pod(`web-${HASH}-bcdfg`, HASH)]));
  t.match(d, /^Name: +web\n/);
  t.match(d, /\nReplicas: +3 desired \| 1 updated \| 1 total \| 1 available \| 0 unavailable\n/);
  t.match(d, /\nSelector: +app=web\n/);
  t.match(
    d,
    /\nPod Template:\n {2}Labels: {2}app=web\n {2}Containers:\n {3}web:\n {4}Image: {2}nginx:1\.27\n/,
  );
  const node: NodeObject = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'C0w1', labels: { 'kubernetes.io/hostname': 'C0w1', zone: 'a' } },
    spec: { podCIDR: '10.244.1.0/24' },
    status: {
      conditions: [{ type: 'Ready', status: 'True', reason: 'AgentReady', message: 'ok' }],
      addresses: [{ type: 'InternalIP', address: '10.0.0.2' }],
      nodeInfo: {
        kubeletVersion: 'netsim-v1.0.0',
        osImage: 'Debian',
        kernelVersion: '6.1.0',
        containerRuntimeVersion: 'netsim://netns',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
  const n = describeNode(node, [
    pod(`web-${HASH}-bcdfg`, HASH),
    { ...pod('elsewhere', HASH), spec: { nodeName: 'C0w2' } },
  ]);
  t.match(n, /\nLabels: +kubernetes\.io\/hostname=C0w1\n +zone=a\n/);
  t.match(
    n,
    /\nConditions:\n {2}Type {4}Status {3}Reason {7}Message\n {2}Ready {3}True {5}AgentReady {3}ok\n/,
  );
  t.match(n, /\n {2}InternalIP: {2}10\.0\.0\.2\n/);
  t.match(
    n,
    /\nNon-terminated Pods: +\(1 in total\)\n {2}Namespace {3}Name\n {2}default {5}web-bcdfghjklm-bcdfg\n/,
  );
  t.notMatch(n, 'elsewhere');
  t.throws(
    () => parseKubectl(['describe', 'ep', 'web']),
    /describe is implemented here for pods, services, deployments, nodes only/,
  );
});

t.test('the command line knows the new resources', async (t) => {
  for (const [w, r] of [
    ['deploy', 'deployments'],
    ['deployment', 'deployments'],
    ['deployments', 'deployments'],
    ['endpointslice', 'endpointslices'],
    ['endpointslices', 'endpointslices'],
    ['ing', 'ingresses'],
    ['ingress', 'ingresses'],
  ])
    t.equal(parseKubectl(['get', w]).resource, r, w);
  t.equal(parseKubectl(['get', 'nodes', '--show-labels']).showLabels, true);
});
