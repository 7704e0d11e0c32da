// The one place that spawns kernel tools. Entering a namespace uses
// `nsenter --net=/run/netns/X`, whose cost stays flat as namespaces grow (unlike
// `ip netns exec`, which also remounts /sys for each call).
import { spawn } from 'node:child_process';

import { inNamespace, NETNS_DIR } from './enter.js';

export { inNamespace, NETNS_DIR };

export interface RunOptions {
  /** network namespace to enter (full name, e.g. netsim-lab-h1) */
  ns?: string;
  input?: string;
  timeoutMs?: number;
  /** throw on a non-zero exit (default true) */
  check?: boolean;
  signal?: AbortSignal;
  env?: Record<string, string>;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export class KernelError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number,
    readonly stderr: string,
    readonly stdout = '',
  ) {
    super(`${command} failed (exit ${exitCode}): ${stderr.trim() || stdout.trim()}`);
    this.name = 'KernelError';
  }
}

export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, argv] = inNamespace(opts.ns, cmd, args);
  const out = await spawned(file, argv, opts);
  if ((opts.check ?? true) && out.exitCode !== 0) {
    const shown = opts.ns ? `[${opts.ns}] ${cmd} ${args.join(' ')}` : `${cmd} ${args.join(' ')}`;
    throw new KernelError(shown, out.exitCode, out.stderr, out.stdout);
  }
  return out;
}

/**
 * One child process, its output collected (node:child_process directly: a library's hundred
 * modules cost every CLI verb more start-up time than the wrapper saved). A child killed by
 * the timeout or the abort signal (SIGTERM, SIGKILL 5 s later) exits 130; one that could not
 * start, 1; `env` adds to this process's environment.
 */
function spawned(file: string, argv: string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(file, argv, {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: opts.env ? { ...process.env, ...opts.env } : undefined,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => stdout.push(d));
    child.stderr!.on('data', (d: Buffer) => stderr.push(d));
    let killed = false;
    let force: NodeJS.Timeout | undefined;
    const kill = () => {
      if (killed || child.exitCode !== null || child.signalCode !== null) return;
      killed = true;
      child.kill('SIGTERM');
      force = setTimeout(() => child.kill('SIGKILL'), 5000);
      force.unref();
    };
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(kill, opts.timeoutMs);
    if (opts.signal?.aborted) kill();
    opts.signal?.addEventListener('abort', kill, { once: true });
    let failed = false;
    child.on('error', () => {
      failed = true; // could not start (ENOENT...): no 'exit', 'close' follows
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(force);
      opts.signal?.removeEventListener('abort', kill);
      resolve({
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        exitCode: failed ? 1 : (code ?? (killed ? 130 : 1)),
      });
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => undefined); // a child that exits without reading all of it
      child.stdin!.end(opts.input);
    }
  });
}

/** Runs a shell command line in a namespace, as a user types it. */
export function sh(
  ns: string | undefined,
  line: string,
  opts: Omit<RunOptions, 'ns'> = {},
): Promise<RunResult> {
  return run('sh', ['-c', line], { ...opts, ns, check: opts.check ?? false });
}

/** Runs `tasks` with at most `limit` in flight; rejects with the first error after all settle. */
export async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let firstError: unknown;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      try {
        await task(item);
      } catch (err) {
        firstError ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (firstError) throw firstError;
}
