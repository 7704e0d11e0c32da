// The fast reader of plain YAML (src/model/fast-yaml.ts) against the `yaml` package: on every
// YAML file of the repository and on hand-made cases, what it reads equals what `yaml` reads
// (and `yaml` finds no error there); what it does not take is left to `yaml`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseDocument, stringify } from 'yaml';
import { readSimpleYaml } from '../../src/model/fast-yaml.js';
import { PROJECT_ROOT } from '../../src/model/load.js';
import { YamlSource } from '../../src/model/source.js';
import { builtinTopology } from '../../src/model/topos.js';

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === 'node_modules' ? [] : yamlFiles(p);
    return /\.ya?ml$/.test(f) ? [p] : [];
  });
}

/** `yaml`'s reading, or undefined when it finds an error. */
function reference(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true });
  return doc.errors.length ? undefined : doc.toJS();
}

t.test('every YAML file of the repository: the same value, or left to yaml', async (t) => {
  const files = ['scenarios', 'test'].flatMap((d) => yamlFiles(join(PROJECT_ROOT, d)));
  t.ok(files.length > 50, `${files.length} files`);
  let taken = 0;
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const fast = readSimpleYaml(text);
    if (fast === undefined) continue;
    taken++;
    t.same(fast, reference(text), f.slice(PROJECT_ROOT.length + 1), { strict: true });
  }
  t.ok(taken > files.length / 3, `${taken} of ${files.length} read fast`);
});

t.test('built-in topologies written as YAML are read fast', async (t) => {
  for (const name of ['single,200', 'linear,4,3', 'tree,2,3', 'minimal']) {
    const text = stringify(builtinTopology(name)!.toSpec());
    const fast = readSimpleYaml(text);
    t.not(fast, undefined, name);
    t.same(fast, reference(text), name, { strict: true });
  }
});

const SAME = [
  'a: 1\nb: -2\nc: +3\nd: 0o17\ne: 0x1F\nf: 1.5\ng: .5\nh: 1e3\ni: -.inf\nj: .NaN\nk: 007\n',
  'a: ~\nb: null\nc: Null\nd:\ne: true\nf: False\ng: TRUE\nh: yes\ni: no\nj: on\n',
  'ip: 10.0.0.1/24\nv6: fd00::1/64\nlo: ::1\nx: :y\nurl: http://a:80/b\nm: r1:eth1\n',
  'a: "q\\"uote\\\\ \\n\\t/"\nb: \'it\'\'s\'\nc: "a # b"\nd: a#b\ne: a # comment\n',
  'l: [a, "b c", \'d\', 1, true, null]\nm: []\nn: {}\no: [ a , b ]\np: [x,]\n',
  '---\n# comment\nnodes:\n  h1:\n    kind: host\n  # inner comment\n  s1: {kind: switch}\n',
  'links:\n- endpoints: ["r1:eth1", "r2:eth1"]\n  mtu: 1500\n-   a: 1\n    b: [2]\n- x\n-\n  y: 1\n-\n',
  'a:\n- 1\n- 2\nb:\n  - c: 1\n    d:\n    - e\n  - f\nc: z\n',
  'exec:\n  - ip addr add 10.0.0.1/24 dev eth1\n  - echo [a] {b}, c\n  - "sh -c \'x: y\'"\n',
  '"quoted key": 1\n\'k2\': 2\nkey with spaces: 3\n-k: 4\n',
  'a: {b: 1, "c d": x, e: "f"}\n',
  '- a\n- - b\n',
  'a: {b: 1 c: 2}\n',
  'a: {b: {c: 1}}\n',
  'a: {b: 1, b: 2}\n',
  'a: 1\n...\n',
  'a: |\n  text\n',
  'a: &x 1\nb: *x\n',
  'a: !!str 1\n',
  'a: b\n  c\n',
  'a: 1\na: 2\n',
  '1: a\n',
  'true: a\n',
  '__proto__: a\n',
  '<<: {a: 1}\n',
  'a: [b, [c]]\n',
  'a:\tb\n',
  'a: 1\r\nb: 2\r\n',
  'a: "unclosed\n  rest"\n',
  '  a: 1\n',
  'a: b: c\n',
  'a: - b\n',
  'a: 1\n- b\n',
  '- a\nb: 1\n',
  'a: "x\\u0041"\n',
  'a: [b, c\n',
  'a: [b #c\n  ]\n',
  'a : 1\n',
  '"a" : 1\n',
  'a:\n  b: 1\n c: 2\n',
  'a:\n    b: 1\n  c: 2\n',
  'a: "b"c\n',
  'a: "b"#c\n',
  '',
  '# only a comment\n',
  'just a scalar\n',
];

t.test('hand-made cases: the same value as yaml, or left to it', async (t) => {
  for (const text of SAME) {
    const fast = readSimpleYaml(text);
    if (fast === undefined) continue;
    t.same(fast, reference(text), JSON.stringify(text), { strict: true });
  }
  for (const text of SAME.slice(0, 11))
    t.not(readSimpleYaml(text), undefined, `read fast: ${JSON.stringify(text)}`);
  for (const text of SAME.slice(11))
    t.equal(readSimpleYaml(text), undefined, `left to yaml: ${JSON.stringify(text)}`);
});

t.test('a file read fast still reports a located error', async (t) => {
  const { source, value } = YamlSource.parse('x.yml', 'name: a\nnodes:\n  h1:\n    kind: hots\n');
  t.same(value, { name: 'a', nodes: { h1: { kind: 'hots' } } });
  t.same(source.locate(['nodes', 'h1', 'kind']), { file: 'x.yml', line: 4, col: 11 });
});
