// The chaos soak's schedule (bench/soak-schedule.ts): the same seed gives the same faults,
// another seed others; the first minute holds every fault kind; a kind never overlaps itself
// and at most `concurrency` faults are in force at once.
import t from 'tap';
import { FAULT_KINDS, type FaultKind, rng, schedule } from '../../bench/soak-schedule.js';

const targets: Record<FaultKind, string[]> = {
  link: ['r1:lan1', 'r1:lan2'],
  flannel: ['C0w1', 'C0w2', 'C1w1'],
  etcd: ['C0e1', 'C0e2', 'C1e3'],
  frr: ['r1:zebra', 'r1:ospfd'],
  pod: ['C0/c1', 'C1/c5'],
  router: ['C0', 'C1'],
  peering: ['C0-C1'],
};
const HEAL = { link: 1000, flannel: 3000, etcd: 4000, frr: 2000, pod: 3000, router: 4000, peering: 3000 };

t.test('the PRNG is seeded and uniform enough', async (t) => {
  const a = rng(7);
  const b = rng(7);
  const xs = Array.from({ length: 1000 }, () => a());
  t.same(
    xs,
    Array.from({ length: 1000 }, () => b()),
    'same seed, same sequence',
  );
  t.ok(
    xs.every((x) => x >= 0 && x < 1),
    'in [0, 1)',
  );
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  t.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean.toFixed(3)}`);
  t.not(rng(8)(), rng(7)(), 'another seed, another sequence');
});

t.test('same seed, same schedule; another seed, another', async (t) => {
  const s1 = schedule({ seed: 42, durationMs: 600000, targets });
  const s2 = schedule({ seed: 42, durationMs: 600000, targets });
  t.same(s1, s2, 'seed 42 twice');
  t.ok(s1.length > 40, `10 minutes hold many faults (${s1.length})`);
  const s3 = schedule({ seed: 43, durationMs: 600000, targets });
  t.notSame(
    s3.map((f) => [f.at, f.kind, f.target]),
    s1.map((f) => [f.at, f.kind, f.target]),
    'seed 43 differs',
  );
  // a shorter soak with the same seed is a prefix of the longer one
  const short = schedule({ seed: 42, durationMs: 120000, targets });
  t.same(short, s1.slice(0, short.length), 'the 2-minute schedule is the start of the 10-minute one');
});

t.test('every kind fires in the first minute, whatever the seed', async (t) => {
  for (let seed = 1; seed <= 200; seed++) {
    const s = schedule({ seed, durationMs: 60000, targets });
    const kinds = new Set(s.map((f) => f.kind));
    if (kinds.size !== FAULT_KINDS.length) {
      t.fail(`seed ${seed}: only ${[...kinds].join(', ')}`);
      return;
    }
    const first = s.slice(0, FAULT_KINDS.length);
    if (Math.max(...first.map((f) => f.at)) > 52000 || new Set(first.map((f) => f.kind)).size !== 7) {
      t.fail(`seed ${seed}: the first round is not every kind within 52 s`);
      return;
    }
  }
  t.pass('200 seeds: the first round is each of the 7 kinds, the last starting by 52 s');
});

t.test('targets, holds and bounds', async (t) => {
  for (let seed = 1; seed <= 50; seed++) {
    const s = schedule({ seed, durationMs: 600000, targets, healMs: HEAL, concurrency: 2 });
    for (const [i, f] of s.entries()) {
      if (!targets[f.kind].includes(f.target)) t.fail(`seed ${seed}: ${f.kind} hits ${f.target}`);
      if (f.holdMs < 1000 || f.holdMs > 4000) t.fail(`seed ${seed}: hold ${f.holdMs}`);
      if (f.n !== i) t.fail('numbered in order');
      if (i > 0 && f.at < s[i - 1].at) t.fail(`seed ${seed}: not in time order`);
    }
    const ends = s.map((f) => f.at + f.holdMs + HEAL[f.kind]);
    for (const [i, f] of s.entries()) {
      if (i < FAULT_KINDS.length) continue; // the first round is spaced, not bounded
      const inForce = s.filter((_g, j) => j < i && ends[j] > f.at);
      if (inForce.length >= 2) t.fail(`seed ${seed}: #${i} starts while ${inForce.length} are in force`);
      if (inForce.some((g) => g.kind === f.kind)) t.fail(`seed ${seed}: #${i} overlaps its own kind`);
    }
  }
  t.pass('50 seeds of 10 minutes: known targets, holds of 1-4 s, ordered, at most 2 in force');
  const none = schedule({ seed: 1, durationMs: 60000, targets: { ...targets, frr: [] } });
  t.notOk(
    none.some((f) => f.kind === 'frr'),
    'a kind without targets never fires',
  );
});
