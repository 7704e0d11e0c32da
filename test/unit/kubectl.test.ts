// The kubectl-shaped views without a kernel: each resource's table from fixed objects (header
// and rows compared literally, AGE from a fixed clock), kubectl's short durations, the endpoints
// abbreviation, and the command line's parsing and errors (src/features/k8s/kubectl/).
import t from 'tap';
import type { NetworkPolicyObject } from '../../src/features/k8s/agent/policy.js';
import { KubectlError, parseKubectl } from '../../src/features/k8s/kubectl/args.js';
import { describePod, describeService } from '../../src/features/k8s/kubectl/describe.js';
import type { NamespaceObject, NodeObject } from '../../src/features/k8s/kubectl/objects.js';
import { formatEndpoints, tableOf } from '../../src/features/k8s/kubectl/printers.js';
import { humanDuration, renderTable } from '../../src/features/k8s/kubectl/table.js';
import { verbIndex } from '../../src/features/k8s/kubectl/verbs.js';
import type { PodObject } from '../../src/features/k8s/registry.js';
import type { EndpointsObject, ServiceObject } from '../../src/features/k8s/services/objects.js';

const NOW = Date.parse('2026-12-06T12:00:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();

const pod = (name: string, ip: string, node: string, created: string, labels = {}): PodObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', uid: 'u', labels, creationTimestamp: created },
  spec: { nodeName: node },
  status: { phase: 'Running', podIP: ip, hostIP: '10.0.0.2', netns: `netsim-s-${node}-${name}` },
});

const svc = (name: string, type: 'ClusterIP' | 'NodePort', ip: string, nodePort?: number): ServiceObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default', uid: 'u', creationTimestamp: ago(3 * 60 + 2) },
  spec: {
    type,
    clusterIP: ip,
    selector: { app: name },
    ports: [{ protocol: 'TCP', port: 80, targetPort: 8080, ...(nodePort ? { nodePort } : {}) }],
    sessionAffinity: 'None',
  },
});

const ep = (name: string, ips: string[], ports = [8080]): EndpointsObject => ({
  apiVersion: 'v1',
  kind: 'Endpoints',
  metadata: { name, namespace: 'default' },
  subsets: ips.length
    ? [{ addresses: ips.map((ip) => ({ ip })), ports: ports.map((port) => ({ port, protocol: 'TCP' })) }]
    : [],
});

const render = (
  r: Parameters<typeof tableOf>[0],
  objects: Parameters<typeof tableOf>[1],
  wide = false,
  withNamespace = false,
) => {
  const x = tableOf(r, objects, { wide, withNamespace, now: NOW });
  return renderTable(x.header, x.rows).split('\n');
};

t.test('AGE is kubectl short form', async (t) => {
  const cases: [number, string][] = [
    [0, '0s'],
    [5, '5s'],
    [119, '119s'],
    [120, '2m'],
    [182, '3m2s'],
    [600, '10m'],
    [179 * 60, '179m'],
    [3 * 3600, '3h'],
    [5 * 3600 + 3 * 60, '5h3m'],
    [30 * 3600, '30h'],
    [2 * 86400, '2d'],
    [2 * 86400 + 4 * 3600, '2d4h'],
    [400 * 86400, '400d'],
    [3 * 365 * 86400 + 86400, '3y1d'],
    [10 * 365 * 86400, '10y'],
  ];
  for (const [s, want] of cases) t.equal(humanDuration(s * 1000), want, `${s}s`);
  t.equal(humanDuration(-5000), '<invalid>');
});

t.test('pods, and -o wide with IP and NODE', async (t) => {
  const pods = [pod('web-1', '10.244.1.2', 'C0w1', ago(5)), pod('client', '10.244.2.2', 'C0w2', ago(182))];
  const lines = render('pods', pods);
  t.equal(lines[0], 'NAME     READY   STATUS    RESTARTS   AGE');
  t.equal(lines[1], 'web-1    1/1     Running   0          5s');
  t.equal(lines[2], 'client   1/1     Running   0          3m2s');
  const wide = render('pods', pods, true);
  t.equal(
    wide[0],
    'NAME     READY   STATUS    RESTARTS   AGE    IP           NODE   NOMINATED NODE   READINESS GATES',
  );
  t.equal(
    wide[1],
    'web-1    1/1     Running   0          5s     10.244.1.2   C0w1   <none>           <none>',
  );
  const all = render('pods', pods, false, true);
  t.equal(all[0], 'NAMESPACE   NAME     READY   STATUS    RESTARTS   AGE');
  t.equal(all[1], 'default     web-1    1/1     Running   0          5s');
});

t.test('services: ClusterIP and NodePort ports, -o wide SELECTOR', async (t) => {
  const lines = render('services', [
    svc('web', 'ClusterIP', '10.96.0.20'),
    svc('front', 'NodePort', '10.96.0.21', 30080),
  ]);
  t.equal(lines[0], 'NAME    TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)        AGE');
  t.equal(lines[1], 'web     ClusterIP   10.96.0.20   <none>        80/TCP         3m2s');
  t.equal(lines[2], 'front   NodePort    10.96.0.21   <none>        80:30080/TCP   3m2s');
  const wide = render('services', [svc('web', 'ClusterIP', '10.96.0.20')], true);
  t.equal(wide[0], 'NAME   TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE    SELECTOR');
  t.equal(wide[1], 'web    ClusterIP   10.96.0.20   <none>        80/TCP    3m2s   app=web');
});

t.test('endpoints: ip:port, the first three then + N more...', async (t) => {
  const lines = render('endpoints', [ep('web', ['10.244.1.2', '10.244.2.2']), ep('none', [])]);
  t.equal(lines[0], 'NAME   ENDPOINTS                         AGE');
  t.equal(lines[1], 'web    10.244.1.2:8080,10.244.2.2:8080   <unknown>');
  t.equal(lines[2], 'none   <none>                            <unknown>');
  t.equal(
    formatEndpoints(ep('many', ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'])),
    '10.0.0.1:8080,10.0.0.2:8080,10.0.0.3:8080 + 2 more...',
  );
  // every port of every address counts
  t.equal(
    formatEndpoints(ep('two', ['10.0.0.1', '10.0.0.2'], [80, 443])),
    '10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...',
  );
});

t.test('networkpolicies: POD-SELECTOR', async (t) => {
  const pol = (name: string, matchLabels?: Record<string, string>): NetworkPolicyObject => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: 'default', creationTimestamp: ago(2 * 86400 + 4 * 3600) },
    spec: { podSelector: matchLabels ? { matchLabels } : {} },
  });
  const lines = render('networkpolicies', [pol('allow-web', { tier: 'db', app: 'web' }), pol('deny-all')]);
  t.equal(lines[0], 'NAME        POD-SELECTOR      AGE');
  t.equal(lines[1], 'allow-web   app=web,tier=db   2d4h');
  t.equal(lines[2], 'deny-all    <none>            2d4h');
});

t.test('nodes and namespaces', async (t) => {
  const node: NodeObject = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'C0w1', labels: {}, creationTimestamp: ago(600) },
    spec: { podCIDR: '10.244.1.0/24' },
    status: {
      conditions: [{ type: 'Ready', status: 'True', reason: 'AgentReady', message: '' }],
      addresses: [{ type: 'InternalIP', address: '10.0.0.2' }],
      nodeInfo: {
        kubeletVersion: 'netsim-v1.0.0',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        kernelVersion: '6.1.0',
        containerRuntimeVersion: 'netsim://netns',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
  const lines = render('nodes', [node]);
  t.equal(lines[0], 'NAME   STATUS   ROLES    AGE   VERSION');
  t.equal(lines[1], 'C0w1   Ready    <none>   10m   netsim-v1.0.0');
  const wide = render('nodes', [node], true);
  t.equal(
    wide[0],
    'NAME   STATUS   ROLES    AGE   VERSION         INTERNAL-IP   EXTERNAL-IP   OS-IMAGE                         KERNEL-VERSION   CONTAINER-RUNTIME',
  );
  t.equal(
    wide[1],
    'C0w1   Ready    <none>   10m   netsim-v1.0.0   10.0.0.2      <none>        Debian GNU/Linux 12 (bookworm)   6.1.0            netsim://netns',
  );
  const ns: NamespaceObject = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: 'default',
      labels: { 'kubernetes.io/metadata.name': 'default' },
      creationTimestamp: ago(3 * 3600),
    },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
  const n = render('namespaces', [ns]);
  t.equal(n[0], 'NAME      STATUS   AGE');
  t.equal(n[1], 'default   Active   3h');
});

t.test('describe pod and service', async (t) => {
  const d = describePod(
    pod('web-1', '10.244.1.2', 'C0w1', '2026-12-06T11:59:55Z', { app: 'web', tier: 'fe' }),
  );
  t.match(d, /^Name: +web-1\n/);
  t.match(d, /\nNode: +C0w1\/10\.0\.0\.2\n/);
  t.match(d, /\nStart Time: +Sun, 06 Dec 2026 11:59:55 \+0000\n/);
  t.match(d, /\nLabels: +app=web\n +tier=fe\n/);
  t.match(d, /\nIPs:\n {2}IP: {2}10\.244\.1\.2\n/);
  const s = describeService(svc('front', 'NodePort', '10.96.0.21', 30080), ep('front', ['10.244.1.2']));
  t.match(s, /\nType: +NodePort\n/);
  t.match(s, /\nPort: +<unset> {2}80\/TCP\n/);
  t.match(s, /\nNodePort: +<unset> {2}30080\/TCP\n/);
  t.match(s, /\nEndpoints: +10\.244\.1\.2:8080\n/);
});

t.test('the command line', async (t) => {
  const a = parseKubectl([
    'get',
    'po',
    '-n',
    'kube-system',
    '-l',
    'app=web,tier!=db',
    '-owide',
    '--context=C1',
  ]);
  t.same(
    { r: a.resource, ns: a.namespace, o: a.output, ctx: a.context, sel: a.selector },
    {
      r: 'pods',
      ns: 'kube-system',
      o: 'wide',
      ctx: 'C1',
      sel: [
        { key: 'app', op: '=', value: 'web' },
        { key: 'tier', op: '!=', value: 'db' },
      ],
    },
  );
  t.equal(parseKubectl(['get', 'svc', '-A']).allNamespaces, true);
  t.equal(parseKubectl(['get', 'netpol']).resource, 'networkpolicies');
  t.equal(parseKubectl(['get', 'no']).resource, 'nodes');
  t.same(parseKubectl(['get', 'pod/web-1']).names, ['web-1']);
  t.same(parseKubectl(['exec', '-it', 'web-1', '--', 'ping', '-c1', '-n', 'x']).command, [
    'ping',
    '-c1',
    '-n',
    'x',
  ]);
  t.throws(
    () => parseKubectl(['get', 'foo']),
    new KubectlError('error: the server doesn\'t have a resource type "foo"'),
  );
  t.throws(
    () => parseKubectl(['get', 'pods', '-o', 'xml']),
    /unable to match a printer suitable for the output format "xml"/,
  );
  t.throws(() => parseKubectl(['get']), /You must specify the type of resource to get/);
  t.throws(() => parseKubectl(['exec', 'web-1']), /at least one command/);
});

t.test("kubectl's verb after global flags (kubectl --context C0 apply -f x)", async (t) => {
  t.equal(verbIndex(['apply', '-f', 'x']), 0);
  t.equal(verbIndex(['--context', 'C0', 'apply', '-f', 'x']), 2);
  t.equal(verbIndex(['-n', 'prod', '--context=C0', 'delete', '-f', 'x']), 3);
  t.equal(verbIndex(['--context', 'C0']), -1);
});
