// Fuzzed inputs besides netsim's own topology files (issue 21): containerlab labs, workload
// templates, `expect:` lines and REPL lines (their parsing), valid, with one leaf replaced by
// anything, and hostile. Never an internal error; every rejection located in its file.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import '../lib/builtins.js';
import { parseWorkload } from '../../src/features/workload/template.js';
import { ExpectSyntaxError, parseExpectation } from '../../src/model/expect.js';
import { topologyFormats } from '../../src/model/formats.js';
import { YamlSource } from '../../src/model/source.js';
import { commandFamily, words } from '../../src/surfaces/repl/commands.js';
import { tempDir } from '../lib/cli.js';
import {
  acceptedOrLocated,
  anyValue,
  fuzz,
  hostileString,
  leafPaths,
  nodeName,
  outcome,
  setAt,
  toYaml,
} from '../lib/fuzz.js';

t.test('containerlab labs', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'lab.clab.yml');
  const clab = topologyFormats().find((f) => f.claims(file))!;
  const load = (spec: unknown) => () => {
    writeFileSync(file, toYaml(spec));
    return clab.load(file, {});
  };
  const validLab = fc
    .record({ n: fc.integer({ min: 2, max: 5 }), prefix: nodeName, kind: fc.constantFrom('linux', 'bridge') })
    .map(({ n, prefix, kind }) => {
      const names = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
      return {
        name: 'lab',
        topology: {
          nodes: Object.fromEntries(names.map((x, i) => [x, { kind: i === 0 ? kind : 'linux' }])),
          links: names.slice(1).map((x, i) => ({ endpoints: [`${names[i]}:eth${i + 2}`, `${x}:eth1`] })),
        },
      };
    });
  fuzz(
    t,
    'valid labs load',
    fc.property(validLab, (lab) => {
      const o = outcome(load(lab));
      if (!o.ok) throw new Error(o.issues.map((i) => i.message).join('\n'));
      return true;
    }),
    50,
  );
  const mutated = fc.tuple(validLab, fc.nat(), anyValue).map(([lab, i, v]) => {
    const paths = leafPaths(lab);
    return setAt(lab, paths[i % paths.length], v);
  });
  fuzz(
    t,
    'a leaf replaced',
    fc.property(mutated, (lab) => acceptedOrLocated(file, load(lab))),
    150,
  );
  const hostile = fc.oneof(
    anyValue,
    fc.record({
      name: hostileString,
      topology: fc.record({
        nodes: fc.dictionary(
          hostileString,
          fc.record({ kind: fc.constantFrom('linux', 'bridge', 'nokia_srlinux') }),
        ),
        links: fc.array(fc.record({ endpoints: fc.array(hostileString, { maxLength: 3 }) }), {
          maxLength: 3,
        }),
      }),
    }),
  );
  fuzz(
    t,
    'hostile labs',
    fc.property(hostile, (lab) => acceptedOrLocated(file, load(lab))),
    150,
  );
});

t.test('workload templates', async (t) => {
  const FILE = 'w.yml';
  const load = (v: unknown) => () => {
    const { source, value } = YamlSource.parse(FILE, toYaml(v));
    return parseWorkload(value, source);
  };
  const quantity = fc.oneof(
    fc.double({ min: 0, max: 64, noNaN: true }),
    fc.constantFrom('500m', '1.5', '128Mi', '2Gi', '30W'),
  );
  const valid = fc.record({
    workload: nodeName,
    step: fc.constantFrom('1s', '5s', '2m'),
    loop: fc.boolean(),
    series: fc.record({ cpu: fc.array(quantity, { minLength: 1, maxLength: 5 }) }),
  });
  fuzz(
    t,
    'generated templates',
    fc.property(valid, (v) => acceptedOrLocated(FILE, load(v))),
    50,
  );
  const mutated = fc.tuple(valid, fc.nat(), anyValue).map(([w, i, v]) => {
    const paths = leafPaths(w);
    return setAt(w, paths[i % paths.length], v);
  });
  fuzz(
    t,
    'a leaf replaced',
    fc.property(mutated, (v) => acceptedOrLocated(FILE, load(v))),
    150,
  );
  fuzz(
    t,
    'hostile templates',
    fc.property(anyValue, (v) => acceptedOrLocated(FILE, load(v))),
    150,
  );
});

t.test('expect lines: a result or an ExpectSyntaxError, nothing else', async (t) => {
  const line = fc.oneof(
    hostileString,
    fc
      .array(
        fc.oneof(
          fc.constantFrom(
            '->',
            'reachable',
            'blocked',
            'ospf',
            'ospf6',
            'neighbors',
            'bgp',
            'established',
            'h1',
            'h2:80',
            '[fd00::1]:80',
            'default/web.svc',
            '99999',
            '-1',
          ),
          hostileString,
        ),
        { maxLength: 6 },
      )
      .map((ws) => ws.join(' ')),
  );
  fuzz(
    t,
    'expect',
    fc.property(line, (s) => {
      try {
        parseExpectation(s);
      } catch (err) {
        if (!(err instanceof ExpectSyntaxError)) throw err;
      }
      return true;
    }),
    300,
  );
});

t.test('REPL lines: words and command families never throw', async (t) => {
  const line = fc.oneof(
    hostileString,
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc
      .array(fc.oneof(hostileString, fc.constantFrom('"', "'", '-6', '-4', 'ping6')), { maxLength: 8 })
      .map((w) => w.join(' ')),
  );
  fuzz(
    t,
    'repl',
    fc.property(line, (s) => {
      const ws = words(s);
      commandFamily(s);
      return ws.every((w) => typeof w === 'string');
    }),
    300,
  );
});
