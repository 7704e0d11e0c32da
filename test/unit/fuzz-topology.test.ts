// Fuzzed topology files (issue 21): generated YAML topologies, valid, almost valid (one
// mutation) and hostile, through the same parse and validation `netsim up` runs. Properties:
// never an internal error; every rejection located (file:line:col and field); one mutation,
// one error. Seeded: a failure prints NETSIM_FUZZ_SEED/NETSIM_FUZZ_PATH to replay it.
import fc from 'fast-check';
import t from 'tap';
import '../lib/builtins.js';
import { YamlSource } from '../../src/model/source.js';
import { validate } from '../../src/model/validate.js';
import {
  acceptedOrLocated,
  anyValue,
  fuzz,
  HUGE_NUMBERS,
  hostileString,
  leafPaths,
  nested,
  oneLocatedError,
  outcome,
  setAt,
  toYaml,
  unlocated,
  validTopology,
} from '../lib/fuzz.js';

const FILE = 'fuzz.yml';
const load = (text: string) => () => {
  const { source, value } = YamlSource.parse(FILE, text);
  return validate(value, source);
};

t.test('valid topologies validate', async (t) => {
  fuzz(
    t,
    'valid',
    fc.property(validTopology, (spec) => {
      const o = outcome(load(toYaml(spec)));
      if (!o.ok) throw new Error(o.issues.map((i) => i.message).join('\n'));
      return true;
    }),
    100,
  );
});

/** Mutations that make a valid topology invalid in exactly one place. */
const oneMutation = fc
  .tuple(validTopology, fc.nat(), hostileString, fc.constantFrom(...HUGE_NUMBERS))
  .chain(([spec, i, s, n]) => {
    const nodes = Object.keys(spec.nodes as object);
    const links = spec.links as { endpoints: string[] }[];
    const node = nodes[i % nodes.length];
    const switches = nodes.filter(
      (n) => (spec.nodes as Record<string, { kind: string }>)[n].kind === 'switch',
    );
    const sw = switches[i % switches.length];
    const link = i % links.length;
    const bad = (re: RegExp) => (re.test(s) ? `${s} !` : s);
    return fc.constantFrom(
      ['name', setAt(spec, ['name'], bad(/^[a-z0-9][a-z0-9_]{0,23}$/i))],
      ['kind', setAt(spec, ['nodes', node, 'kind'], `${s}x-unknown`)],
      ['mtu', setAt(spec, ['links', link, 'mtu'], typeof n === 'number' && n >= 68 && n <= 65535 ? -n : n)],
      [
        'endpoint',
        setAt(
          spec,
          ['links', link, 'endpoints', 0],
          `${links[link].endpoints[0].split(':')[0]}:${bad(/^[A-Za-z][A-Za-z0-9_.-]{0,14}$/)}`,
        ),
      ],
      ['node value', setAt(spec, ['nodes', node], s)],
      ['unknown field', setAt(spec, ['nodes', node, 'zzz'], s)],
      ['subnet', setAt(spec, ['nodes', sw, 'subnet'], s)],
      ['expect', setAt(spec, ['expect'], [`${s} => x`])],
      ['link field', setAt(spec, ['links', link, 'delay'], n)],
    ) as fc.Arbitrary<[string, unknown]>;
  });

t.test('one mutation of a valid topology: exactly one located error', async (t) => {
  fuzz(
    t,
    'almost valid',
    fc.property(oneMutation, ([, spec]) => oneLocatedError(FILE, load(toYaml(spec)))),
    200,
  );
});

t.test('any leaf replaced by anything: accepted or located errors, never an internal error', async (t) => {
  const mutated = fc.tuple(validTopology, fc.nat(), anyValue).map(([spec, i, v]) => {
    const paths = leafPaths(spec);
    return setAt(spec, paths[i % paths.length], v);
  });
  fuzz(
    t,
    'leaf',
    fc.property(mutated, (spec) => acceptedOrLocated(FILE, load(toYaml(spec)))),
    200,
  );
});

t.test('hostile documents: accepted or located errors', async (t) => {
  const doc = fc.oneof(
    anyValue,
    fc.record({ name: hostileString, nodes: fc.dictionary(hostileString, anyValue) }),
    fc.record({
      name: fc.constant('x'),
      nodes: fc.dictionary(
        hostileString,
        fc.record({ kind: fc.constantFrom('host', 'router', 'switch', 'cluster') }),
      ),
      links: fc.array(fc.record({ endpoints: fc.array(hostileString, { maxLength: 3 }) }), { maxLength: 4 }),
    }),
  );
  fuzz(
    t,
    'hostile document',
    fc.property(doc, (v) => acceptedOrLocated(FILE, load(toYaml(v)))),
    200,
  );
  // raw text: not YAML at all, or YAML with odd syntax
  const text = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc
      .array(
        fc.constantFrom(
          'name: x',
          'nodes:',
          '  h1: {kind: host}',
          '- [',
          '{',
          '  ',
          '\t',
          '---',
          '&a x',
          '*a',
          '!!binary x',
          ': :',
        ),
        { maxLength: 8 },
      )
      .map((l) => l.join('\n')),
  );
  fuzz(
    t,
    'hostile text',
    fc.property(text, (s) => acceptedOrLocated(FILE, load(s))),
    200,
  );
});

t.test('deep nesting, huge files, many aliases: located errors', async (t) => {
  const cases: [string, string][] = [
    ['deep flow nesting', `name: x\nnodes: ${'['.repeat(5000)}${']'.repeat(5000)}\n`],
    [
      'deep block nesting',
      `name: x\nnodes:\n  h1:\n    kind: host\n    labels: ${JSON.stringify(nested(3000))}\n`,
    ],
    [
      '500 kB of nodes (the YAML parser alone takes about 20 s for 10 MB of them)',
      `name: x\nnodes:\n${Array.from({ length: 20000 }, (_, i) => `  n${i}: {kind: hostx}`).join('\n')}\n`,
    ],
    [
      '10 MB node name',
      `name: x\nnodes:\n  h1: {kind: host}\n  ${'x'.repeat(10 * 1024 * 1024)}: {kind: host}\n`,
    ],
    [
      'alias bomb',
      `a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nname: x\nnodes: {}\n`,
    ],
  ];
  for (const [what, text] of cases) {
    const started = Date.now();
    const o = outcome(load(text));
    t.notOk(o.ok, `${what}: rejected`);
    if (!o.ok) {
      t.same(unlocated(o.issues, FILE), [], `${what}: located`);
      t.ok(o.issues.length <= 50, `${what}: a bounded number of errors (${o.issues.length})`);
    }
    t.ok(Date.now() - started < 20000, `${what}: in ${Date.now() - started} ms`);
  }
});
