// Nodes as light containers, without a kernel: each node's hostname and binds in the plan,
// a bad bind located in the file, a pod's /etc/hosts as the kubelet writes it.
import t from 'tap';
import { podHosts } from '../../src/features/k8s/pod.js';
import { parseBind } from '../../src/kernel/mounts.js';
import { TopologyError } from '../../src/model/errors.js';
import { YamlSource } from '../../src/model/source.js';
import { validate } from '../../src/model/validate.js';
import { buildPlan } from '../../src/plan/plan.js';

const model = (text: string) => {
  const { source, value } = YamlSource.parse('lab.yml', text);
  return validate(value, source, { simName: 'p' });
};

t.test('every node is named after itself; binds by namespace', async (t) => {
  const plan = buildPlan(
    model(`
name: p
nodes:
  h1: {kind: host, binds: ["/srv/setup.sh:/config/setup.sh", "/srv/ro.txt:/config/ro.txt:ro"]}
  s1: {kind: switch, subnet: 10.0.0.0/24}
links:
  - endpoints: [h1, s1]
`),
  );
  t.same(
    [...plan.hostnames],
    [
      ['netsim-p-h1', 'h1'],
      ['netsim-p-s1', 's1'],
    ],
  );
  t.same(plan.binds.get('netsim-p-h1'), [
    { src: '/srv/setup.sh', dst: '/config/setup.sh', ro: false },
    { src: '/srv/ro.txt', dst: '/config/ro.txt', ro: true },
  ]);
  t.notOk(plan.binds.has('netsim-p-s1'), 'no binds, no mount namespace');
});

t.test('a bind that is not /source:/destination[:ro] is located', async (t) => {
  const err = t.throws(() =>
    model(`name: p\nnodes:\n  h1: {kind: host, binds: ["setup.sh:/config/setup.sh"]}\n`),
  ) as TopologyError;
  t.ok(err instanceof TopologyError);
  t.match(err.message, /lab\.yml:3:\d+: .*binds.*not "\/source:\/destination"/);
});

t.test('parseBind', async (t) => {
  t.same(parseBind('/a:/b'), { src: '/a', dst: '/b', ro: false });
  t.same(parseBind('/a:/b:rw'), { src: '/a', dst: '/b', ro: false });
  t.same(parseBind('/a:/b:ro'), { src: '/a', dst: '/b', ro: true });
});

t.test("a pod's /etc/hosts", async (t) => {
  const lines = podHosts('10.244.1.2', 'web').trim().split('\n');
  t.equal(lines[1], '127.0.0.1\tlocalhost');
  t.equal(lines.at(-1), '10.244.1.2\tweb', 'its IP and its name last');
});
