// Namespaces without a cluster: the objects as the API server keeps them, Namespace manifests
// and objects in namespaces checked (one that does not exist is refused unless the same input
// makes it), pod node names, and a namespaceSelector matched against the namespaces' labels.
import t from 'tap';
import { labelsByNamespace, renderPolicies } from '../../src/features/k8s/agent/policy.js';
import { manifestDocs } from '../../src/features/k8s/manifests/input.js';
import { type ValidationContext, validateManifests } from '../../src/features/k8s/manifests/validate.js';
import {
  NAME_LABEL,
  namespaceLabels,
  namespaceObject,
  SYSTEM_NAMESPACES,
} from '../../src/features/k8s/namespaces.js';
import { podResolvConf } from '../../src/features/k8s/pod.js';
import { type PodObject, podKey, podNodeName } from '../../src/features/k8s/registry.js';
import { parseServiceCidr } from '../../src/features/k8s/services/objects.js';
import { formatIssue, TopologyError } from '../../src/model/errors.js';

const ctx = (extra: Partial<ValidationContext> = {}): ValidationContext => ({
  workers: ['C0w1', 'C0w2'],
  resolveWorker: (n) => (n.startsWith('C0') ? n : `C0${n}`),
  serviceCidr: parseServiceCidr('10.96.0.0/12'),
  knownPods: [],
  podNameTaken: () => undefined,
  ...extra,
});

function errors(text: string, c = ctx()): string[] {
  try {
    validateManifests(manifestDocs(text), c);
    return [];
  } catch (err) {
    if (err instanceof TopologyError) return err.issues.map((i) => formatIssue(i));
    throw err;
  }
}

const ns = (name: string, labels = '') =>
  `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n${labels ? `  labels: {${labels}}\n` : ''}`;
const pod = (name: string, namespace: string) =>
  `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec:\n  containers: [{name: c, command: [sleep, infinity]}]\n`;

t.test('Namespace objects: the name label always set, Active, the four of a new cluster', async (t) => {
  const o = namespaceObject('prod', { team: 'a', [NAME_LABEL]: 'wrong' }, '2026-01-01T00:00:00.000Z');
  t.strictSame(o, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: 'prod',
      labels: { team: 'a', [NAME_LABEL]: 'prod' },
      creationTimestamp: '2026-01-01T00:00:00.000Z',
    },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  });
  t.strictSame(namespaceLabels('dev'), { [NAME_LABEL]: 'dev' });
  t.strictSame(SYSTEM_NAMESPACES, ['default', 'kube-node-lease', 'kube-public', 'kube-system']);
});

t.test('pods: keys per namespace, node names unchanged in default', async (t) => {
  t.equal(podKey('default', 'c1'), '/registry/pods/default/c1');
  t.equal(podKey('prod', 'web'), '/registry/pods/prod/web');
  t.equal(podNodeName('c1'), 'c1');
  t.equal(podNodeName('c1', 'default'), 'c1');
  t.equal(podNodeName('web', 'prod'), 'web.prod');
  t.equal(
    podResolvConf('10.96.0.10', 'prod'),
    'search prod.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
  );
});

t.test('a Namespace manifest and what goes into it', async (t) => {
  const text = [ns('prod', 'team: a'), pod('web', 'prod'), pod('web', 'default')].join('---\n');
  const { objects, notes } = validateManifests(manifestDocs(text), ctx());
  t.strictSame(
    objects.map((o) => [o.kind, o.namespace, o.name]),
    [
      ['Namespace', '', 'prod'],
      ['Pod', 'prod', 'web'],
      ['Pod', 'default', 'web'],
    ],
    'the same pod name in two namespaces',
  );
  t.strictSame((objects[0] as { labels: unknown }).labels, { team: 'a' });
  t.strictSame(notes, []);
  // the namespace may come after what goes into it
  t.strictSame(errors([pod('web', 'prod'), ns('prod')].join('---\n')), []);
  // a namespace the cluster has already
  t.strictSame(errors(pod('web', 'prod'), ctx({ namespaces: new Set(['default', 'prod']) })), []);
  t.strictSame(errors(pod('web', 'kube-system')), [], 'kube-system exists from the start');
});

t.test('refused: a namespace that does not exist, a Namespace twice, deleting default', async (t) => {
  t.match(errors(pod('web', 'prod')), [
    /^<manifest>:3:\d+: metadata\.namespace: namespaces "prod" not found$/,
  ]);
  t.match(errors(pod('web', 'prod'), ctx({ namespaces: new Set(['default']) })), [
    /namespaces "prod" not found/,
  ]);
  t.match(errors([ns('prod'), ns('prod')].join('---\n')), [/Namespace "prod" is given twice/]);
  t.match(errors(ns('default'), ctx({ forDelete: true })), [
    /metadata\.name: namespaces "default" is forbidden: this namespace may not be deleted/,
  ]);
  t.strictSame(errors(ns('prod'), ctx({ forDelete: true })), [], 'another one may be deleted');
  t.strictSame(errors(pod('web', 'gone'), ctx({ forDelete: true })), [], 'delete -f: not found later');
  const taken = ctx({ podNameTaken: (n) => (n === 'web.prod' ? 'the name of a node (host)' : undefined) });
  t.match(
    errors([ns('prod'), pod('web', 'prod')].join('---\n'), taken),
    [/"web" is already the name of a node/],
    "a pod's node name outside default is <pod>.<ns>",
  );
});

const podObj = (name: string, ip: string, namespace: string, labels: Record<string, string>): PodObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, uid: name, labels, creationTimestamp: '' },
  spec: { nodeName: 'C0w1' },
  status: { phase: 'Running', podIP: ip, netns: `netsim-x-C0w1-${name}` },
});

t.test('namespaceSelector matches the labels of the Namespace objects', async (t) => {
  const pods = [
    podObj('web', '10.244.1.2', 'prod', { app: 'web' }),
    podObj('client', '10.244.1.3', 'prod', { app: 'client' }),
    podObj('client', '10.244.1.4', 'dev', { app: 'client' }),
    podObj('client', '10.244.1.5', 'default', { app: 'client' }),
  ];
  const policy = (matchLabels: Record<string, string>) => ({
    apiVersion: 'networking.k8s.io/v1' as const,
    kind: 'NetworkPolicy' as const,
    metadata: { name: 'from-team-a', namespace: 'prod' },
    spec: { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels } }] }] },
  });
  const allowed = (cmds: ReturnType<typeof renderPolicies>) =>
    cmds.flatMap((c) => {
      const r = (c as { add?: { rule?: { chain: string; expr: { match?: { right: unknown } }[] } } }).add
        ?.rule;
      const set = r?.chain === 'ingress-prod/web' ? r.expr[0].match?.right : undefined;
      return set && typeof set === 'object' && 'set' in set ? (set as { set: string[] }).set : [];
    });
  const labels = labelsByNamespace([
    namespaceObject('prod', { team: 'a' }),
    namespaceObject('dev', { team: 'b' }),
    namespaceObject('default'),
  ]);
  t.strictSame(allowed(renderPolicies('C0w1', pods, [policy({ team: 'a' })], labels)), [
    '10.244.1.2',
    '10.244.1.3',
  ]);
  t.strictSame(allowed(renderPolicies('C0w1', pods, [policy({ team: 'b' })], labels)), ['10.244.1.4']);
  t.strictSame(allowed(renderPolicies('C0w1', pods, [policy({ [NAME_LABEL]: 'default' })], labels)), [
    '10.244.1.5',
  ]);
  // a label changed in etcd: the table follows
  const relabelled = labelsByNamespace([namespaceObject('dev', { team: 'a' }), namespaceObject('prod')]);
  t.strictSame(allowed(renderPolicies('C0w1', pods, [policy({ team: 'a' })], relabelled)), ['10.244.1.4']);
  t.strictSame(allowed(renderPolicies('C0w1', pods, [policy({ team: 'c' })], labels)), [], 'nobody');
});
