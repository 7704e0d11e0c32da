// Names that would reach a shell (issue 21, security): node, pod and service names, sysctl
// names, manifest names and namespaces with shell metacharacters, a leading -, a /, white
// space or unicode are refused by validation with one located error; names Kubernetes
// accepts (DNS-1123 labels) still pass.
import fc from 'fast-check';
import t from 'tap';
import '../lib/builtins.js';
import { KINDS } from '../../src/features/k8s/manifests/schema.js';
import { YamlSource } from '../../src/model/source.js';
import { validate } from '../../src/model/validate.js';
import { fuzz, hostileString, oneLocatedError, outcome, toYaml } from '../lib/fuzz.js';

const FILE = 'names.yml';
const load = (spec: unknown) => () => {
  const { source, value } = YamlSource.parse(FILE, toYaml(spec));
  return validate(value, source);
};
/** a DNS-1123 label as Kubernetes accepts it, within netsim's length for the field */
const label = (max: number) => fc.stringMatching(new RegExp(`^[a-z0-9]([a-z0-9-]{0,${max - 2}}[a-z0-9])?$`));
/** hostile: anything a shell would read as more than a word, or not a DNS label */
const notLabel = hostileString.filter((s) => !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s));
const notNodeName = hostileString.filter((s) => !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/.test(s));

const cluster = (pods: Record<string, unknown>, services: Record<string, unknown> = {}) => ({
  name: 'x',
  nodes: { s1: { kind: 'switch' }, C0: { kind: 'cluster', underlay: 's1', pods, services } },
});
const service = { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] };

t.test('node names', async (t) => {
  fuzz(
    t,
    'DNS-1123 node names accepted',
    fc.property(label(40), (n) => {
      const o = outcome(load({ name: 'x', nodes: { [n]: { kind: 'host' }, s: { kind: 'switch' } } }));
      if (!o.ok) throw new Error(o.issues[0].message);
      return true;
    }),
    100,
  );
  fuzz(
    t,
    'hostile node names refused',
    fc.property(notNodeName, (n) =>
      oneLocatedError(FILE, load({ name: 'x', nodes: { [n]: { kind: 'host' }, s: { kind: 'switch' } } })),
    ),
    200,
  );
});

t.test('pod and service names', async (t) => {
  fuzz(
    t,
    'DNS-1123 pod and service names accepted',
    fc.property(label(32), label(63), (p, s) => {
      const o = outcome(load(cluster({ [p]: { worker: 'w1' } }, { [s]: service })));
      if (!o.ok) throw new Error(o.issues[0].message);
      return true;
    }),
    50,
  );
  fuzz(
    t,
    'hostile pod names refused',
    fc.property(notLabel, (p) => oneLocatedError(FILE, load(cluster({ [p]: { worker: 'w1' } })))),
    100,
  );
  fuzz(
    t,
    'hostile service names refused',
    fc.property(notLabel, (s) => oneLocatedError(FILE, load(cluster({}, { [s]: service })))),
    100,
  );
});

t.test('sysctl names and values', async (t) => {
  const node = (sysctls: Record<string, unknown>) => ({
    name: 'x',
    nodes: { h1: { kind: 'host', sysctls } },
  });
  for (const ok of [
    'net.ipv4.ip_forward',
    'net/ipv6/conf/eth0.5/accept_dad',
    'net.ipv6.conf.all.disable_ipv6',
  ])
    t.ok(outcome(load(node({ [ok]: 1 }))).ok, `${ok} accepted`);
  for (const bad of [
    'net/../../etc/passwd',
    'net..ipv4',
    '/etc/passwd',
    'a;touch /tmp/x',
    '$(id)',
    'net ipv4',
    '-w',
  ])
    t.ok(oneLocatedError(FILE, load(node({ [bad]: 1 }))), `${JSON.stringify(bad)} refused`);
  t.ok(
    oneLocatedError(FILE, load(node({ 'net.ipv4.ip_forward': '1\nnet.x=1' }))),
    'a value of two lines refused',
  );
  fuzz(
    t,
    'hostile sysctl names refused',
    fc.property(
      hostileString.filter((s) => /[^A-Za-z0-9_./-]|\.\.|^[^a-z]|\/\//.test(s)),
      (k) => oneLocatedError(FILE, load(node({ [k]: 1 }))),
    ),
    100,
  );
});

t.test('manifest names and namespaces', async (t) => {
  const pod = (name: unknown, namespace?: unknown) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(namespace === undefined ? {} : { namespace }) },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
  });
  fuzz(
    t,
    'DNS-1123 names and namespaces accepted',
    fc.property(label(63), label(63), (n, ns) => KINDS.Pod.schema.safeParse(pod(n, ns)).success),
    100,
  );
  fuzz(
    t,
    'hostile names and namespaces refused',
    fc.property(notLabel, fc.boolean(), (s, inNamespace) => {
      const r = KINDS.Pod.schema.safeParse(inNamespace ? pod('ok', s) : pod(s));
      return !r.success && r.error.issues.length === 1;
    }),
    100,
  );
});
