// Fuzzed inputs (issue 21): fast-check generators for topology files, containerlab files,
// workload templates and `expect:` lines, each valid, almost valid (one mutation of a valid
// one) or hostile (shell metacharacters, huge numbers, deep nesting, unicode), and the checks
// every rejection must pass (one kind of error, each issue located: file:line:col and field).
//
// Case counts: a few hundred per run in CI; NETSIM_FUZZ_RUNS=N raises them (the soak).
// A failure prints its seed and path; NETSIM_FUZZ_SEED=S NETSIM_FUZZ_PATH=P replays it.
import fc from 'fast-check';
import type { Test } from 'tap';
import { stringify } from 'yaml';
import { type Issue, TopologyError } from '../../src/model/errors.js';

/** fast-check parameters: `runs` cases (NETSIM_FUZZ_RUNS=N: N for every property), seeded. */
export function fuzzParams(runs: number): fc.Parameters<unknown> {
  const env = process.env;
  const asked = Number(env.NETSIM_FUZZ_RUNS);
  // CI replays the same cases each run (a landing is not decided by a lucky draw); elsewhere
  // each run explores new ones, and the soak runs thousands
  const seed = env.NETSIM_FUZZ_SEED
    ? Number(env.NETSIM_FUZZ_SEED)
    : env.CI
      ? 20261207
      : Date.now() ^ (Math.random() * 0x7fffffff);
  return {
    numRuns: asked > 0 ? Math.round(asked) : runs,
    seed,
    ...(env.NETSIM_FUZZ_PATH ? { path: env.NETSIM_FUZZ_PATH } : {}),
    // each case names its input when it fails; the seed and path replay it
    verbose: 1,
  };
}

/** Runs a property; on failure the test fails with the seed, the path and how to replay. */
export function fuzz<T>(t: Test, name: string, prop: fc.IProperty<T>, runs: number): void {
  const params = fuzzParams(runs) as fc.Parameters<T>;
  const out = fc.check(prop, params);
  if (out.failed) {
    t.fail(`${name}: ${fc.defaultReportMessage(out)}`.slice(0, 4000), {
      error: String((out.errorInstance as Error)?.message ?? out.errorInstance),
      replay: `NETSIM_FUZZ_SEED=${out.seed} NETSIM_FUZZ_PATH=${out.counterexamplePath}`,
    });
  } else t.pass(`${name}: ${out.numRuns} cases (seed ${out.seed})`);
}

export async function fuzzAsync<T>(
  t: Test,
  name: string,
  prop: fc.IAsyncProperty<T>,
  runs: number,
): Promise<void> {
  const params = fuzzParams(runs) as fc.Parameters<T>;
  const out = await fc.check(prop, params);
  if (out.failed) {
    t.fail(`${name}: ${fc.defaultReportMessage(out)}`.slice(0, 4000), {
      error: String((out.errorInstance as Error)?.message ?? out.errorInstance),
      replay: `NETSIM_FUZZ_SEED=${out.seed} NETSIM_FUZZ_PATH=${out.counterexamplePath}`,
    });
  } else t.pass(`${name}: ${out.numRuns} cases (seed ${out.seed})`);
}

// ---- checking what an input produced ----

export type Outcome = { ok: true } | { ok: false; issues: Issue[] };

/** Runs `fn`: accepted, or rejected with a TopologyError. Anything else is rethrown (a bug). */
export function outcome(fn: () => unknown): Outcome {
  try {
    fn();
    return { ok: true };
  } catch (err) {
    if (err instanceof TopologyError) return { ok: false, issues: err.issues };
    throw new Error(`internal error (not a located TopologyError): ${(err as Error)?.stack ?? err}`);
  }
}

/** Every issue names `file` with a line and column, and a message without a stack trace. */
export function unlocated(issues: Issue[], file: string): string[] {
  const bad: string[] = [];
  for (const i of issues) {
    const where = `${i.pos?.file}:${i.pos?.line}:${i.pos?.col}`;
    if (i.pos?.file !== file || !i.pos.line || !i.pos.col) bad.push(`not located in ${file}: ${where}`);
    if (/\n\s+at /.test(i.message) || /\b(TypeError|RangeError|ReferenceError)\b/.test(i.message))
      bad.push(`an internal error as a message: ${i.message}`);
  }
  return bad;
}

/** A property body: the input is accepted, or rejected with located issues only. */
export function acceptedOrLocated(file: string, fn: () => unknown): boolean {
  const o = outcome(fn);
  if (o.ok) return true;
  const bad = unlocated(o.issues, file);
  if (bad.length) throw new Error(bad.join('\n'));
  return true;
}

/** A property body: the input is rejected with exactly one located issue. */
export function oneLocatedError(file: string, fn: () => unknown): boolean {
  const o = outcome(fn);
  if (o.ok) throw new Error('accepted, but the mutation makes it invalid');
  if (o.issues.length !== 1)
    throw new Error(`${o.issues.length} issues, wanted one:\n${new TopologyError(o.issues).message}`);
  const bad = unlocated(o.issues, file);
  if (bad.length) throw new Error(bad.join('\n'));
  return true;
}

// ---- hostile pieces ----

/** Strings that would do something if they reached a shell unquoted. */
export const SHELL_HOSTILE = [
  '$(touch /tmp/netsim-fuzz-pwned)',
  '`touch /tmp/netsim-fuzz-pwned`',
  'a;touch /tmp/netsim-fuzz-pwned',
  'a && touch /tmp/netsim-fuzz-pwned',
  'a|touch /tmp/netsim-fuzz-pwned',
  "a'b",
  'a"b',
  'a b',
  'a\tb',
  'a\nb',
  '-rf',
  '--help',
  '-a',
  '../../etc',
  'a/b',
  '/etc/passwd',
  'a>b',
  'a<b',
  '*',
  '~root',
  `\${IFS}`,
  'a\\b',
  'a#b',
  '',
  ' ',
  'a\u0000b',
  'ünïcödé',
  '节点',
  '😀',
  'a\u202eb',
  'x'.repeat(300),
];

export const HUGE_NUMBERS = [
  -1,
  0,
  1e308,
  -1e308,
  2 ** 53,
  2 ** 31,
  2 ** 32,
  65536,
  1.5,
  Number.MAX_SAFE_INTEGER,
  '1e400',
  '99999999999999999999999999',
  'NaN',
  'Infinity',
];

/** A string that is hostile: one of the fixed ones, or random unicode with metacharacters. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...SHELL_HOSTILE),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc
    .array(fc.constantFrom(...'$`;|&<>()\'"\\ \t\n*?[]{}!#~-/.=:'.split('')), { minLength: 1, maxLength: 12 })
    .map((a) => `a${a.join('')}`),
);

/** Any JSON-like value, nested up to `depth` (deep nesting included). */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom(...HUGE_NUMBERS),
  hostileString,
  fc.integer({ min: 1, max: 200 }).map((d) => nested(d)),
);

/** `{a: {a: ... {a: 1}}}`, `depth` levels. */
export function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

// ---- valid inputs ----

export const nodeName = fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/);

/**
 * A valid netsim topology: R routers in a chain, each with a switch and H hosts on it
 * (subnets automatic or given), optional link attributes; always valid.
 */
export const validTopology: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    routers: fc.integer({ min: 1, max: 3 }),
    hosts: fc.integer({ min: 1, max: 3 }),
    given: fc.boolean(),
    mtu: fc.option(fc.integer({ min: 1280, max: 9000 }), { nil: undefined }),
    prefix: nodeName,
    expect: fc.boolean(),
  })
  .map(({ routers, hosts, given, mtu, prefix, expect }) => {
    const nodes: Record<string, Record<string, unknown>> = {};
    const links: Record<string, unknown>[] = [];
    for (let r = 1; r <= routers; r++) {
      nodes[`${prefix}r${r}`] = { kind: 'router' };
      nodes[`${prefix}s${r}`] = given ? { kind: 'switch', subnet: `10.${r}.0.0/24` } : { kind: 'switch' };
      links.push({ endpoints: [`${prefix}r${r}`, `${prefix}s${r}`] });
      for (let h = 1; h <= hosts; h++) {
        nodes[`${prefix}h${r}x${h}`] = { kind: 'host' };
        links.push({ endpoints: [`${prefix}h${r}x${h}`, `${prefix}s${r}`], ...(mtu ? { mtu } : {}) });
      }
      if (r > 1) links.push({ endpoints: [`${prefix}r${r - 1}:up${r}`, `${prefix}r${r}:down${r}`] });
    }
    const spec: Record<string, unknown> = { name: 'fuzz', nodes, links };
    if (expect) spec.expect = [`${prefix}h1x1 -> ${prefix}r1 reachable`];
    return spec;
  });

/** YAML text of a spec, block style (one field a line, so every field has its own line). */
export function toYaml(spec: unknown): string {
  return stringify(spec, { lineWidth: 0 });
}

/** A path into a value: every mapping key and list index on the way to a leaf. */
export function leafPaths(v: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(v)) return v.flatMap((x, i) => leafPaths(x, [...path, i]));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => leafPaths(x, [...path, k]));
  return [path];
}

/** A copy of `v` with the leaf at `path` replaced by `value`. */
export function setAt(v: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (Array.isArray(v)) return v.map((x, i) => (i === head ? setAt(x, rest, value) : x));
  const o = v as Record<string, unknown>;
  return { ...o, [head]: setAt(o[head], rest, value) };
}

/** A copy of `v` with the mapping key at `path` renamed (its value kept). */
export function renameKey(v: unknown, path: (string | number)[], to: string): unknown {
  const parent = path.slice(0, -1);
  const key = path[path.length - 1];
  const walk = (x: unknown, p: (string | number)[]): unknown => {
    if (p.length === 0) {
      const o = x as Record<string, unknown>;
      return Object.fromEntries(Object.entries(o).map(([k, val]) => (k === key ? [to, val] : [k, val])));
    }
    const [h, ...rest] = p;
    if (Array.isArray(x)) return x.map((y, i) => (i === h ? walk(y, rest) : y));
    const o = x as Record<string, unknown>;
    return { ...o, [h]: walk(o[h], rest) };
  };
  return walk(v, parent);
}
