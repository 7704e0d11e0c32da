// Small measuring helpers for the benchmark: child processes without extra layers (so the
// harness adds no cost of its own), medians and spreads, and waiting for the kernel to settle.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

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

/** Live network namespace objects, including unnamed ones and those the kernel is still freeing. */
function netnsObjects(): number | undefined {
  try {
    const line = readFileSync('/proc/slabinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('net_namespace '));
    return line ? Number(line.split(/\s+/)[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `ip netns del` returns before the kernel has freed the namespaces; that work would otherwise
 * be charged to whatever runs next. Waits (untimed) until the count of namespace objects stops
 * falling, at most `maxMs`.
 */
export async function settle(maxMs = 10_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let last = netnsObjects();
  let steady = 0;
  await sleep(200);
  while (Date.now() < deadline && steady < 3) {
    await sleep(200);
    const now = netnsObjects();
    steady = now === undefined || last === undefined || now >= last ? steady + 1 : 0;
    last = now;
  }
}

export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return '?';
  }
}
