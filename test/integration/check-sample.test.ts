// `netsim check --sample N --seed S` through the kernel, on 8 hosts on one switch (56 ordered
// pairs): exactly N pairs, distinct and of the matrix; the same seed gives the same pairs (also
// the seed a run drew and printed); a sample as large as the matrix is the full matrix; the
// text says it sampled and lists the pairs; a host that drops echo requests (nft) fails
// exactly the sampled pairs towards it.
import t from 'tap';
import { runNetsim } from '../lib/cli.js';
import { modelFromYaml, requireRoot, uniqueName, up } from '../lib/harness.js';

const HOSTS = 8;
const PAIRS = HOSTS * (HOSTS - 1);
const YAML = `name: sample
nodes:
  s1: {kind: switch}
${Array.from({ length: HOSTS }, (_, i) => `  h${i + 1}: {kind: host}`).join('\n')}
links:
${Array.from({ length: HOSTS }, (_, i) => `  - endpoints: [h${i + 1}, s1]`).join('\n')}
`;

interface CheckJson {
  pairs: number;
  passed: number;
  failed: number;
  sample?: { seed: number; auto: boolean; pairs: number };
  matrices: { name: string; pairs: number; sampled?: boolean; of?: number }[];
  results: { src: string; dst: string; ok: boolean }[];
}

if (requireRoot(t)) {
  t.test('check --sample: random pairs, repeatable by seed, failures found', async (t) => {
    const name = uniqueName('smp');
    await up(t, modelFromYaml(YAML, name));
    const check = async (...args: string[]) => {
      const r = await runNetsim(['check', '--sim', name, '--json', ...args]);
      return { code: r.code, stderr: r.stderr, json: JSON.parse(r.stdout || '{}') as CheckJson };
    };
    const pairsOf = (j: CheckJson) => j.results.map((r) => `${r.src}->${r.dst}`);

    const full = await check();
    t.equal(full.code, 0, `full matrix passes ${full.stderr}`);
    t.match(full.json, { pairs: PAIRS, passed: PAIRS }, `${PAIRS} pairs`);
    t.notOk(full.json.sample, 'a small matrix is not sampled');

    const s1 = await check('--sample', '10', '--seed', '123');
    t.equal(s1.code, 0, s1.stderr);
    t.match(s1.json, { pairs: 10, passed: 10, failed: 0, sample: { seed: 123, auto: false, pairs: 10 } });
    t.match(s1.json.matrices, [{ name: 'hosts', pairs: 10, sampled: true, of: PAIRS }], 'the matrix says so');
    const drawn = pairsOf(s1.json);
    t.equal(new Set(drawn).size, 10, 'ten distinct pairs');
    t.ok(
      drawn.every((p) => pairsOf(full.json).includes(p)),
      'each a pair of the matrix (no node with itself)',
    );
    const again = await check('--sample', '10', '--seed', '123');
    t.same(pairsOf(again.json), drawn, 'the same seed: the same pairs');
    const other = await check('--sample', '10', '--seed', '124');
    t.not(pairsOf(other.json).join(), drawn.join(), 'another seed: other pairs');

    const all = await check('--sample', String(PAIRS));
    t.same(pairsOf(all.json), pairsOf(full.json), 'a sample of every pair is the full matrix');
    t.notOk(all.json.sample, '... and is not reported as sampled');

    const text = await runNetsim(['check', '--sim', name, '--sample', '10']);
    t.equal(text.code, 0, text.stderr);
    t.match(text.stdout, `sampled hosts: 10 of ${PAIRS} pairs`, 'the text says it sampled');
    const seed = /seed (\d+) \(--sample 10 --seed \1 repeats them\)/.exec(text.stdout)?.[1];
    t.ok(seed, `the seed it drew is printed: ${text.stdout.split('\n').at(-2)}`);
    const listed = [...text.stdout.matchAll(/^ {2}(h\d+) -> ([h\d ]+)$/gm)].flatMap(([, src, dsts]) =>
      dsts.split(' ').map((d) => `${src}->${d}`),
    );
    const repeated = await check('--sample', '10', '--seed', seed ?? '0');
    t.same(listed, pairsOf(repeated.json), 'the text lists the pairs, and the printed seed repeats them');

    // the first sampled pair's destination drops every echo request
    const victim = s1.json.results[0].dst;
    const drop = await runNetsim([
      'exec',
      '--sim',
      name,
      victim,
      '--',
      'nft',
      'add table ip smp; add chain ip smp in { type filter hook input priority 0; }; add rule ip smp in icmp type echo-request drop',
    ]);
    t.equal(drop.code, 0, `nft rule in ${victim} ${drop.stderr}`);
    const cut = await check('--sample', '10', '--seed', '123', '--timeout', '0.3');
    t.equal(cut.code, 1, 'a failed pair: exit 1');
    t.same(pairsOf(cut.json), drawn, 'the same pairs');
    t.same(
      cut.json.results.filter((r) => !r.ok).map((r) => `${r.src}->${r.dst}`),
      drawn.filter((p) => p.endsWith(`->${victim}`)),
      `exactly the sampled pairs towards ${victim} fail`,
    );
  });
}
