// Running the real `netsim` command as a child process: the one place tests start it.
// `runNetsim` runs a command to completion; `startNetsim` leaves one running in the background
// (`startUp` = `up --no-repl` until it is ready), with cleanup that runs even when an assertion
// fails (t.teardown). Also the temp files a topology is written to, and state.json.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { PROJECT_ROOT } from '../../src/model/load.js';
import { simDir } from '../../src/runtime/paths.js';
import type { SimState } from '../../src/runtime/state.js';
import { waitFor } from '../../src/util/wait.js';

export const NETSIM = join(PROJECT_ROOT, 'bin', 'netsim.js');

export interface NetsimOptions {
  /** stop it after this long (default 60 s): SIGTERM, so its own handler tears down, then SIGKILL */
  timeoutMs?: number;
  /** text on its stdin (default: none, stdin closed) */
  input?: string;
  /** variables added to (or, when undefined, removed from) the inherited environment */
  env?: Record<string, string | undefined>;
  /** run as this user and group (e.g. nobody, to show a command needs no privileges) */
  uid?: number;
  gid?: number;
  /** a command netsim runs under, e.g. ['unshare', '--net', '--'] */
  under?: string[];
}

export interface NetsimResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** still running at the time limit (and stopped then); for `up`: the topology was accepted */
  timedOut: boolean;
  ms: number;
}

function spawnNetsim(argv: string[], opts: NetsimOptions, stdin: 'pipe' | 'ignore'): ChildProcess {
  const env: Record<string, string | undefined> = { ...process.env, ...opts.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  // through env(1): tap re-adds its NODE_OPTIONS hook to every child it sees spawned, which
  // doubles the start-up time of each run; env(1) execs node in its place (same pid)
  return spawn('env', ['-u', 'NODE_OPTIONS', ...(opts.under ?? []), process.execPath, NETSIM, ...argv], {
    cwd: PROJECT_ROOT,
    env: env as NodeJS.ProcessEnv,
    stdio: [stdin, 'pipe', 'pipe'],
    uid: opts.uid,
    gid: opts.gid,
  });
}

/** Runs `netsim ...argv` to completion; a run that outlives its time limit is stopped and says so. */
export function runNetsim(argv: string[], opts: NetsimOptions = {}): Promise<NetsimResult> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawnNetsim(argv, opts, 'pipe');
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    let killer: NodeJS.Timeout | undefined;
    const limit = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    }, opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, timedOut, ms: performance.now() - t0 });
    });
    child.stdin!.on('error', () => {
      /* it exited without reading its input: its status says what happened */
    });
    child.stdin!.end(opts.input ?? '');
  });
}

/** @deprecated the former name of runNetsim, kept for the test files that still use it */
export const netsim = runNetsim;

/** A temp directory removed at the end of the test. */
export function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function writeFile(dir: string, name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

export function readSimState(sim: string): SimState | undefined {
  const file = join(simDir(sim), 'state.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SimState;
  } catch {
    return undefined;
  }
}

/** A node's first interface address in a state file, without its prefix length. */
export function stateIp(state: SimState, node: string): string {
  const addr = state.nodes.find((x) => x.name === node)?.ifaces.find((i) => i.addr)?.addr;
  if (!addr) throw new Error(`no address for ${node} in ${state.name}'s state`);
  return addr.split('/')[0];
}

/** Options of a command left running: no time limit, no input. */
export type BackgroundOptions = Omit<NetsimOptions, 'timeoutMs' | 'input'>;

export interface Foreground {
  child: ChildProcess;
  /** resolves when the process exits */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
  stdout: () => string;
}

function launch(argv: string[], opts: NetsimOptions): Foreground & { stop(): Promise<void> } {
  const child = spawnNetsim(argv, opts, 'ignore');
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async () => {
    if (!running()) return;
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15000).unref())]);
    if (running()) child.kill('SIGKILL');
  };
  return { child, exited, stderr: () => err, stdout: () => out, stop };
}

/** Starts `netsim ...argv` in the background; at teardown it gets SIGTERM, then SIGKILL. */
export function startNetsim(t: Test, argv: string[], opts: BackgroundOptions = {}): Foreground {
  const fg = launch(argv, opts);
  t.teardown(fg.stop);
  return fg;
}

/** Starts `netsim up FILE -n NAME --no-repl` (plus `extra`); at teardown nothing of it is left. */
export function startUp(t: Test, file: string, name: string, extra: string[] = []): Foreground {
  const fg = launch(['up', file, '-n', name, '--no-repl', ...extra], {});
  t.teardown(async () => {
    // whatever the test did: the process gone, then nothing of the simulation left
    await fg.stop();
    if (existsSync(simDir(name))) await runNetsim(['clean', name]);
  });
  return fg;
}

/** `waiting`, unless the process exits first: then it fails at once, with what it printed. */
export function whileRunning<T>(fg: Foreground, what: string, waiting: Promise<T>): Promise<T> {
  const gone = fg.exited.then(({ code, signal }) => {
    throw new Error(`netsim exited (${signal ?? code}) before ${what}:\n${fg.stderr()}`);
  });
  return Promise.race([waiting, gone]);
}

/** Waits until state.json says ready (failing early if the process exits first). */
export function waitReady(fg: Foreground, name: string, timeoutMs = 60000): Promise<SimState> {
  const what = `${name} to be ready`;
  return whileRunning(
    fg,
    what,
    waitFor(
      () => {
        const state = readSimState(name);
        return state?.status === 'ready' ? state : undefined;
      },
      { timeoutMs, what },
    ),
  );
}
