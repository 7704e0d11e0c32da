// The one place that spawns kernel tools. Entering a namespace uses
// `nsenter --net=/run/netns/X`, whose cost stays flat as namespaces grow (unlike
// `ip netns exec`, which also remounts /sys for each call).
import { execa } from 'execa';

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
  const res = await execa(file, argv, {
    input: opts.input,
    timeout: opts.timeoutMs,
    reject: false,
    cancelSignal: opts.signal,
    env: opts.env,
    stripFinalNewline: false,
    stdin: opts.input === undefined ? 'ignore' : 'pipe',
  });
  const out: RunResult = {
    stdout: String(res.stdout ?? ''),
    stderr: String(res.stderr ?? ''),
    exitCode: res.exitCode ?? (res.isCanceled || res.timedOut ? 130 : 1),
  };
  if ((opts.check ?? true) && out.exitCode !== 0) {
    const shown = opts.ns ? `[${opts.ns}] ${cmd} ${args.join(' ')}` : `${cmd} ${args.join(' ')}`;
    throw new KernelError(shown, out.exitCode, out.stderr, out.stdout);
  }
  return out;
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
