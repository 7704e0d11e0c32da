// Random pairs of a ping matrix (`netsim check --sample N --seed S`): a matrix of n nodes has
// n(n-1) ordered pairs (25 million at 5,000 hosts); a sample draws N of them, distinct, from a
// seeded generator, so the same seed over the same nodes gives the same pairs again.

/** A seeded generator of numbers in [0, 1) (mulberry32: small, fast, same sequence everywhere). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed for a run that gave none (printed, so the run can be repeated). */
export function freshSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}

/** The ordered pairs of n nodes: n(n-1). */
export function pairCount(n: number): number {
  return n * (n - 1);
}

/**
 * `count` distinct ordered pairs [src, dst] (src ≠ dst) of n nodes, in the full matrix's order
 * (by source, then destination); all of them when count ≥ n(n-1). Floyd's algorithm: `count`
 * draws whatever the matrix's size.
 */
export function samplePairs(n: number, count: number, random: () => number): [number, number][] {
  const total = pairCount(n);
  const picked = new Set<number>();
  if (count >= total) for (let k = 0; k < total; k++) picked.add(k);
  else
    for (let j = total - count; j < total; j++) {
      const k = Math.floor(random() * (j + 1));
      picked.add(picked.has(k) ? j : k);
    }
  return [...picked]
    .sort((a, b) => a - b)
    .map((k) => {
      const src = Math.floor(k / (n - 1));
      const d = k % (n - 1);
      return [src, d < src ? d : d + 1];
    });
}
