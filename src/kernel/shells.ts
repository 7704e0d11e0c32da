// Work spread over a few shells. Each namespace needs at least one process inside it
// (`nsenter` + the tool); a shell starts those for a fraction of what each spawn costs from
// Node, and a few shells side by side keep every core busy. Scripts are passed as files:
// bash reads a script from a pipe one byte at a time.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { enterOptions, shellQuote } from './enter.js';
import { KernelError, run } from './run.js';

export { shellQuote };

/** A piece of shell script that does everything for one namespace. */
export interface ShellJob {
  ns: string;
  /** shell lines; on failure they call `fail <ns>` */
  text: string;
  /** relative cost, to share the jobs out evenly (about: processes × 50 + lines) */
  cost: number;
}

/** Shells to use at most: the kernel serialises much of the work (rtnl), more do not help. */
export const DEFAULT_SHELLS = Math.min(8, Math.max(2, 2 * availableParallelism()));

const NS_RE = /^[A-Za-z0-9_.-]+$/;
const NS_MARK = 'NETSIM_NS ';
const FAIL_MARK = 'NETSIM_FAILED ';

export function assertNsName(ns: string): void {
  if (!NS_RE.test(ns))
    throw new KernelError(`namespace ${JSON.stringify(ns)}`, 2, 'not a valid namespace name');
}

/** `cmd...` run inside the namespace (its argv already shell-safe). */
export function nsenter(ns: string, cmd: string): string {
  return `nsenter ${enterOptions(ns).join(' ')} ${cmd}`;
}

/** Longest-processing-time-first: each job to the shell with the least work so far. */
function shareOut(jobs: ShellJob[], shells: number): ShellJob[][] {
  const out: ShellJob[][] = Array.from({ length: shells }, () => []);
  const load = new Array<number>(shells).fill(0);
  for (const job of [...jobs].sort((a, b) => b.cost - a.cost)) {
    const i = load.indexOf(Math.min(...load));
    out[i].push(job);
    load[i] += job.cost;
  }
  return out.filter((s) => s.length);
}

/**
 * Runs the jobs on up to `maxShells` shells at once and returns each job's standard output.
 * A failing job stops its shell; the others finish theirs, then the first failure is thrown,
 * naming the namespace and carrying the tool's error output.
 */
export async function runShellJobs(
  jobs: ShellJob[],
  maxShells = DEFAULT_SHELLS,
): Promise<Map<string, string>> {
  const outputs = new Map<string, string>();
  if (jobs.length === 0) return outputs;
  for (const j of jobs) assertNsName(j.ns);
  // a shell costs a few ms to start: no more shells than there is work for
  const shells = shareOut(jobs, Math.max(1, Math.min(maxShells, Math.ceil(jobs.length / 4))));
  const dir = mkdtempSync(join(tmpdir(), 'netsim-sh-'));
  try {
    const results = await Promise.allSettled(
      shells.map(async (share, i) => {
        const file = join(dir, `${i}.sh`);
        const body = share.map((j) => `echo '${NS_MARK}${j.ns}'; echo '${NS_MARK}${j.ns}' >&2\n${j.text}`);
        writeFileSync(file, `fail() { echo "${FAIL_MARK}$1" >&2; exit 1; }\n${body.join('\n')}\n`);
        const res = await run('bash', [file], { check: false });
        for (const [ns, text] of splitByMarker(res.stdout)) outputs.set(ns, text);
        if (res.exitCode !== 0) throw failure(res.exitCode, res.stderr);
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return outputs;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Output lines grouped under the namespace marker that precedes them. */
function splitByMarker(output: string): Map<string, string> {
  const out = new Map<string, string>();
  let ns: string | undefined;
  let lines: string[] = [];
  const flush = () => {
    if (ns !== undefined) out.set(ns, lines.join('\n'));
  };
  for (const line of output.split('\n')) {
    if (line.startsWith(NS_MARK)) {
      flush();
      ns = line.slice(NS_MARK.length);
      lines = [];
    } else lines.push(line);
  }
  flush();
  return out;
}

function failure(exitCode: number, stderr: string): KernelError {
  const lines = stderr.split('\n');
  const failAt = lines.findIndex((l) => l.startsWith(FAIL_MARK));
  if (failAt < 0) return new KernelError('bash (namespace scripts)', exitCode, stderr.slice(-2000));
  const ns = lines[failAt].slice(FAIL_MARK.length);
  let start = failAt;
  while (start > 0 && !lines[start - 1].startsWith(NS_MARK)) start--;
  const message = lines
    .slice(start, failAt)
    .filter((l) => l.trim())
    .join('\n');
  return new KernelError(`[${ns}] configuration`, exitCode, message || 'failed');
}
