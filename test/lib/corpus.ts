// The bad-input corpus (test/bad-input): every file names the error it must produce in its
// first comment lines, and these helpers run the real CLI on it and check that error.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Test } from 'tap';
import { PROJECT_ROOT } from '../../src/model/load.js';

export const CORPUS_DIR = join(PROJECT_ROOT, 'test', 'bad-input');

export interface Expectation {
  file: string;
  /** a substring of the message */
  expect: string;
  /** the field path as printed, e.g. links[0].endpoints[1] */
  path: string;
  /** the line the error points at; undefined for "none" (the error has no line) */
  line?: number;
  /** kernel features this error depends on being absent (e.g. netem) */
  needsMissing: string[];
  /** the file the error is located in: the topology, or one it refers to (`# in:`) */
  at: string;
}

/** Every YAML topology and builder scenario in the corpus, as absolute paths, sorted. */
export function corpusFiles(): string[] {
  const yaml = readdirSync(CORPUS_DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => join(CORPUS_DIR, f));
  const api = readdirSync(join(CORPUS_DIR, 'api'))
    .filter((f) => /\.ts$/.test(f))
    .map((f) => join(CORPUS_DIR, 'api', f));
  return [...yaml, ...api].sort();
}

/** Reads the `# expect:` / `# path:` / `# line:` header (`//` in TypeScript files). */
export function readExpectation(file: string): Expectation {
  const fields = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(?:#|\/\/)\s*(expect|path|line|needs-missing|in):\s?(.*)$/.exec(line);
    if (!m) break;
    fields.set(m[1], m[2].trimEnd());
  }
  const expect = fields.get('expect');
  const path = fields.get('path');
  const line = fields.get('line');
  if (!expect || !path || !line) {
    throw new Error(`${file}: the corpus header needs "expect:", "path:" and "line:" comment lines`);
  }
  if (line !== 'none' && !/^\d+$/.test(line)) throw new Error(`${file}: "line:" is a number or none`);
  return {
    file,
    expect,
    path,
    line: line === 'none' ? undefined : Number(line),
    needsMissing: (fields.get('needs-missing') ?? '').split(/[\s,]+/).filter(Boolean),
    // an error in a file the topology refers to (a daemons file) is located in that file
    at: fields.has('in') ? join(dirname(file), fields.get('in')!) : file,
  };
}

export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('error:'));
}

/** Exactly one `error: <file>:<line>:<col>: <path>: <message>` line, matching the header. */
export function checkError(t: Test, exp: Expectation, stderr: string): void {
  const errors = errorLines(stderr);
  t.equal(errors.length, 1, 'exactly one error: line', { stderr });
  const line = errors[0] ?? '';
  const where = exp.line === undefined ? `error: ${exp.at}: ` : `error: ${exp.at}:${exp.line}:`;
  t.ok(line.startsWith(where), `points at ${exp.line === undefined ? 'the file' : `line ${exp.line}`}`, {
    found: line,
    wanted: where,
  });
  const afterPos = line.slice(where.length).replace(exp.line === undefined ? '' : /^\d+: /, '');
  t.ok(afterPos.startsWith(`${exp.path}: `), `names the field ${exp.path}`, { found: line });
  t.ok(line.includes(exp.expect), `says "${exp.expect}"`, { found: line });
}

/** @deprecated kept for the test files owned elsewhere: use runNetsim from ./cli.js */
export { type NetsimResult as CliResult, runNetsim as runCli } from './cli.js';

/** Runs `fn` over `items` with at most `limit` at a time; results in input order. */
export async function boundedPool<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
