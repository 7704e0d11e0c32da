// Helpers for tests that drive the real `netsim` command as a child process: topology files
// in a temp directory, `up --no-repl` in the background until it is ready, and cleanup that
// runs even when an assertion fails (t.teardown).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { PROJECT_ROOT } from '../../src/model/load.js';
import { simDir } from '../../src/runtime/paths.js';
import type { SimState } from '../../src/runtime/state.js';

export const NETSIM = join(PROJECT_ROOT, 'bin', 'netsim.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `netsim ...args` to completion (with a deadline, so a hang fails the test instead). */
export function netsim(
  args: string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [NETSIM, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`netsim ${args.join(' ')}: no exit within ${opts.timeoutMs ?? 60000} ms\n${stderr}`));
    }, opts.timeoutMs ?? 60000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

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

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface Foreground {
  child: ChildProcess;
  /** resolves when the process exits */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
  stdout: () => string;
}

/** Starts `netsim up FILE -n NAME --no-repl` (plus `extra`) in the background. */
export function startUp(t: Test, file: string, name: string, extra: string[] = []): Foreground {
  const child = spawn(process.execPath, [NETSIM, 'up', file, '-n', name, '--no-repl', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
  t.teardown(async () => {
    // whatever the test did: the process gone, then nothing of the simulation left
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15000).unref())]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    if (existsSync(simDir(name))) await netsim(['clean', name]);
  });
  return { child, exited, stderr: () => err, stdout: () => out };
}

/** Waits until state.json says ready (failing early if the process exits first). */
export async function waitReady(fg: Foreground, name: string, timeoutMs = 60000): Promise<SimState> {
  let gone = false;
  void fg.exited.then(() => {
    gone = true;
  });
  return waitFor(
    `${name} to be ready`,
    () => {
      if (gone) throw new Error(`netsim up ${name} exited before it was ready:\n${fg.stderr()}`);
      const s = readSimState(name);
      return s?.status === 'ready' ? s : undefined;
    },
    timeoutMs,
  );
}
