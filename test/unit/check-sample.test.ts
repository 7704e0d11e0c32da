// `netsim check --sample N --seed S`: the pairs drawn (distinct, ordered, never a node with
// itself, the full matrix's order, the same for the same seed) and when check samples by itself.
import t from 'tap';
import { pairCount, samplePairs, seededRandom } from '../../src/runtime/sample.js';
import {
  AUTO_SAMPLE,
  FULL_MATRIX_MAX,
  matrixRandom,
  samplingOf,
  seedOf,
} from '../../src/surfaces/cli/check.js';

t.test('samplePairs draws distinct ordered pairs in matrix order', async (t) => {
  for (const [n, count] of [
    [5041, 1000],
    [10, 89],
    [3, 2],
  ]) {
    const pairs = samplePairs(n, count, seededRandom(7));
    t.equal(pairs.length, count, `${count} of ${pairCount(n)} pairs`);
    t.equal(new Set(pairs.map(([s, d]) => `${s} ${d}`)).size, count, 'distinct');
    t.ok(
      pairs.every(([s, d]) => s !== d && s >= 0 && d >= 0 && s < n && d < n),
      'no node with itself, every index a node',
    );
    const keys = pairs.map(([s, d]) => s * n + d);
    t.same(
      keys,
      [...keys].sort((a, b) => a - b),
      'by source, then destination',
    );
  }
  t.same(samplePairs(4, 100, seededRandom(1)), samplePairs(4, 12, seededRandom(2)), 'count ≥ n(n-1): all');
  t.equal(samplePairs(4, 12, seededRandom(1)).length, 12);
  t.same(
    samplePairs(1000, 50, seededRandom(42)),
    samplePairs(1000, 50, seededRandom(42)),
    'same seed, same pairs',
  );
  t.not(
    JSON.stringify(samplePairs(1000, 50, seededRandom(42))),
    JSON.stringify(samplePairs(1000, 50, seededRandom(43))),
    'another seed, other pairs',
  );
  // every pair can be drawn: over many seeds each of the 6 pairs of 3 nodes comes up
  const seen = new Set<string>();
  for (let s = 0; s < 50; s++) for (const [a, b] of samplePairs(3, 1, seededRandom(s))) seen.add(`${a}${b}`);
  t.equal(seen.size, 6, 'each pair of 3 nodes drawn by some seed');
});

t.test('check samples large matrices by itself, --sample and --full override', async (t) => {
  const big = 200; // 39,800 pairs
  t.ok(pairCount(big) > FULL_MATRIX_MAX);
  t.same(samplingOf(big, {}), { pairs: AUTO_SAMPLE, auto: true }, 'over the limit: sampled');
  t.equal(samplingOf(100, {}), undefined, '9,900 pairs: the full matrix');
  t.equal(samplingOf(big, { full: true }), undefined, '--full: every pair');
  t.same(samplingOf(big, { sample: '10' }), { pairs: 10, auto: false });
  t.equal(samplingOf(4, { sample: '12' }), undefined, 'a sample as large as the matrix is the matrix');
  t.same(samplingOf(4, { sample: '11' }), { pairs: 11, auto: false });
  t.throws(() => samplingOf(4, { sample: '0' }), /--sample is a number of pairs/);
  t.throws(() => samplingOf(4, { sample: 'x' }), /--sample is a number of pairs/);
  t.throws(() => samplingOf(4, { sample: '3', full: true }), /exclude each other/);
  t.equal(seedOf('12345'), 12345);
  t.throws(() => seedOf('-1'), /--seed is a whole number/);
  t.throws(() => seedOf(String(2 ** 32)), /--seed is a whole number/);
  t.ok(Number.isInteger(seedOf(undefined)), 'no --seed: a fresh one');
  const a = matrixRandom(9, { name: 'hosts', family: 4 });
  const b = matrixRandom(9, { name: 'hosts', family: 6 });
  t.not(a(), b(), "each matrix draws its own pairs from the run's seed");
});
