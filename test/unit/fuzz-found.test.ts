// What the fuzzed inputs found (issue 21), each pinned by a plain test: an alias without its
// anchor, a __proto__ key, 300,000 mistakes, an int field far out of range, hostile sysctl
// names and /etc/hosts prefixes.
import t from 'tap';
import '../lib/builtins.js';
import { type Issue, TopologyError } from '../../src/model/errors.js';
import { YamlSource } from '../../src/model/source.js';
import { validate } from '../../src/model/validate.js';

function issues(text: string): Issue[] {
  try {
    const { source, value } = YamlSource.parse('f.yml', text);
    validate(value, source);
  } catch (err) {
    if (err instanceof TopologyError) return err.issues;
    throw err;
  }
  return [];
}
const where = (i: Issue) => `${i.pos?.line}:${i.pos?.col}`;

t.test('an alias without its anchor is a located error, not a ReferenceError', async (t) => {
  const [i, ...rest] = issues('name: x\nnodes:\n  h1: *nowhere\n');
  t.same(rest, []);
  t.equal(where(i), '3:7');
  t.same(i.path, ['nodes', 'h1']);
  t.match(i.message, /Unresolved alias/);
});

t.test('a __proto__ key is refused where it is (it would vanish into the prototype)', async (t) => {
  const [i, ...rest] = issues('name: x\nnodes:\n  h1: {kind: host}\n  __proto__: {kind: host}\n');
  t.same(rest, []);
  t.equal(where(i), '4:3');
  t.match(i.message, /__proto__ is not allowed/);
});

t.test('duplicate keys: still one error each, at the second key', async (t) => {
  const found = issues(
    'name: x\nnodes:\n  h1: {kind: host}\n  h1: {kind: host}\n  h2: {kind: host, kind: host}\n',
  );
  t.same(found.map(where), ['4:3', '5:20']);
  t.match(found[0].message, /duplicate key "h1" \(first defined at line 3/);
});

t.test('a file of many mistakes: the first 50 located, the rest counted', async (t) => {
  const nodes = Array.from({ length: 3000 }, (_, i) => `  n${i}: {kind: nope}`).join('\n');
  const found = issues(`name: x\nnodes:\n${nodes}\n`);
  t.equal(found.length, 50);
  t.equal(where(found[49]), '52:15');
  t.match(found[49].message, /\(and 2950 more errors not shown\)$/);
});

t.test('an int field far out of range: one error with its own bound', async (t) => {
  const found = issues(
    'name: x\nnodes:\n  a: {kind: host}\n  b: {kind: host}\nlinks:\n  - {endpoints: [a, b], mtu: -1e300}\n',
  );
  t.equal(found.length, 1);
  t.match(found[0].message, 'must be at least 68');
});

t.test('sysctl names and the hosts prefix cannot carry shell or path tricks', async (t) => {
  const [s] = issues('name: x\nnodes:\n  h1:\n    kind: host\n    sysctls: {"net/../../etc/x": 1}\n');
  t.same(s.path, ['nodes', 'h1', 'sysctls', 'net/../../etc/x']);
  t.match(s.message, 'invalid name "net/../../etc/x": a sysctl name like net.ipv4.ip_forward');
  const [p] = issues('name: x\nhosts: {prefix: "a\\nb"}\nnodes:\n  h1: {kind: host}\n');
  t.same(p.path, ['hosts', 'prefix']);
  t.same(
    issues(
      'name: x\nhosts: {prefix: clab-lab1}\nnodes:\n  h1: {kind: host, sysctls: {net.ipv4.ip_forward: 1}}\n',
    ),
    [],
  );
});

t.test('names of Object.prototype members are no nodes (pods, underlays)', async (t) => {
  const pod = issues(
    'name: x\nnodes:\n  s1: {kind: switch}\n  C0:\n    kind: cluster\n    underlay: s1\n    pods:\n      toString: {worker: w1}\n',
  );
  t.equal(pod.length, 1, 'one error: the name, not a clash with a node "(undefined)"');
  t.match(pod[0].message, /invalid pod name "toString"/);
  const underlay = issues(
    'name: x\nnodes:\n  s1: {kind: switch}\n  C0: {kind: cluster, underlay: constructor}\n',
  );
  t.equal(underlay.length, 1);
  t.match(underlay[0].message, /unknown underlay node "constructor"/);
});

t.test('a link to a node named after an Object method is an unknown node, located', async (t) => {
  const [i, ...rest] = issues(
    'name: x\nnodes:\n  s1: {kind: switch}\n  h1: {kind: host}\nlinks:\n  - endpoints: [toString, s1]\n  - endpoints: [h1, s1]\n',
  );
  t.same(rest, []);
  t.same(i.path, ['links', 0, 'endpoints', 0]);
  t.match(i.message, /unknown node "toString"/);
  t.equal(where(i), '6:17');
});
