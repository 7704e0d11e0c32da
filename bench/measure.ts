// Small measuring helpers for the benchmark: child processes without extra layers (so the
// harness adds no cost of its own), medians and spreads, and waiting for the kernel to settle.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs argv[0] with the rest as arguments; never throws on a non-zero exit. */
export function runProc(argv: string[], input?: string, timeoutMs = 600_000): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => {
      stdout += d;
    });
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

export async function mustRun(argv: string[], input?: string): Promise<string> {
  const r = await runProc(argv, input);
  if (r.code !== 0)
    throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** (max - min) / median, as a percentage: the run-to-run noise of one cell. */
export function spreadPercent(xs: number[]): number {
  if (xs.length < 2) return 0;
  return ((Math.max(...xs) - Math.min(...xs)) / median(xs)) * 100;
}

export async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Whether the kernel is freeing network namespaces right now: `ip netns del` (and the last
 * process leaving one) only queues the namespace on the kernel's `netns` workqueue, whose
 * worker (cleanup_net: devices unregistered under the routing lock, per-namespace state torn
 * down) runs afterwards; while it runs its kworker's name ends in `+netns`
 * (/proc/PID/comm). Counting namespace objects in /proc/slabinfo does not tell: freed objects
 * stay counted in per-CPU caches (a count taken 8 s after deleting 100 namespaces had not
 * moved).
 */
export function netnsCleanupRunning(): boolean {
  for (const pid of readdirSync('/proc')) {
    if (pid.charCodeAt(0) > 57) continue; // not a number
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'latin1').includes('+netns')) return true;
    } catch {
      /* gone */
    }
  }
  return false;
}

/**
 * `ip netns del` returns before the kernel has freed the namespaces; that work would otherwise
 * be charged to whatever runs next (a build of 1,000 namespaces right after the teardown of
 * another: its namespaces phase 1.6-1.7 s instead of 1.2 s). Waits (untimed) until no
 * namespace cleanup has run for 200 ms, at most `maxMs`; returns how long the kernel was
 * still at it, in seconds (what a user running one lab right after another waits on).
 */
export async function settle(maxMs = 10_000): Promise<number> {
  const t0 = performance.now();
  let busyUntil = t0;
  let quiet = 0;
  while (quiet < 4 && performance.now() - t0 < maxMs) {
    if (netnsCleanupRunning()) {
      quiet = 0;
      busyUntil = performance.now();
    } else quiet++;
    await sleep(50);
  }
  return (busyUntil - t0) / 1000;
}

export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return '?';
  }
}

/** A tool's output that holds no usable result; the message quotes the output's start. */
export class ToolOutputError extends Error {
  constructor(what: string, problem: string, output: string) {
    const text = output.trim();
    const excerpt = text.length > 200 ? `${text.slice(0, 200)}…` : text;
    super(`${what}: ${problem}${excerpt ? ` (output: ${JSON.stringify(excerpt)})` : ' (no output)'}`);
    this.name = 'ToolOutputError';
  }
}

/**
 * The JSON document (object or array) in a tool's output, also when lines come before or after
 * it: iperf3 -J prints `WARNING: ...` lines first at times, a child process may log around its
 * one line of JSON. A document starts at the beginning of a line; `last`: prefer the last one.
 */
export function jsonIn<T = unknown>(output: string, what: string, opts: { last?: boolean } = {}): T {
  try {
    return JSON.parse(output) as T;
  } catch {
    // look for it among the lines
  }
  // where a line's first character (blanks aside) opens an object or an array
  const starts = [...output.matchAll(/^[ \t]*[[{]/gm)].map((m) => m.index + m[0].length - 1);
  if (opts.last) starts.reverse();
  let tries = 0;
  for (const start of starts) {
    const close = output[start] === '{' ? '}' : ']';
    // the longest candidate first: a document spans lines and holds the same brackets inside
    for (
      let end = output.lastIndexOf(close);
      end > start && tries < 500;
      end = output.lastIndexOf(close, end - 1)
    ) {
      tries++;
      try {
        return JSON.parse(output.slice(start, end + 1)) as T;
      } catch {
        // a shorter one
      }
    }
  }
  throw new ToolOutputError(what, 'no JSON document in its output', output);
}

/** The number the first group of `re` matches in a tool's output. */
export function numberIn(output: string, re: RegExp, what: string): number {
  const m = re.exec(output);
  const v = m ? Number(m[1]) : Number.NaN;
  if (!Number.isFinite(v)) throw new ToolOutputError(what, `nothing matches ${re}`, output);
  return v;
}

/**
 * One round of a measurement. When it fails, the reason is added to `failures` (for the
 * suite's table), logged, and the run's exit status set to 1; undefined is returned and the
 * suite goes on with its next round.
 */
export async function round<T>(
  what: string,
  fn: () => Promise<T>,
  failures: string[],
  log: (l: string) => void = (l) => console.error(l),
): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    const reason = `${what}: ${err instanceof Error ? err.message : String(err)}`;
    failures.push(reason);
    log(`  FAILED ${reason}`);
    process.exitCode = 1;
    return undefined;
  }
}

/** Lines for a suite's table: the rounds that failed, with their reasons (none: nothing). */
export function failedRounds(failures: string[]): string[] {
  if (failures.length === 0) return [];
  return [
    '',
    `Failed rounds (${failures.length}; left out of the figures above, the run exits 1):`,
    '',
    ...failures.map((f) => `- ${f.replaceAll('\n', ' ')}`),
  ];
}

/** Numbers that are there (a failed round leaves undefined). */
export const present = (xs: (number | undefined)[]): number[] =>
  xs.filter((x): x is number => x !== undefined && Number.isFinite(x));

/** Bits per second received from `iperf3 -J` output (its error, or a missing figure, throws). */
export function iperf3Bps(output: string, what: string): number {
  const doc = jsonIn<{ end?: { sum_received?: { bits_per_second?: number } }; error?: string }>(output, what);
  if (doc.error) throw new ToolOutputError(what, `iperf3 reports: ${doc.error}`, output);
  const bps = doc.end?.sum_received?.bits_per_second;
  if (typeof bps !== 'number' || !Number.isFinite(bps))
    throw new ToolOutputError(what, 'no end.sum_received.bits_per_second', output);
  return bps;
}
