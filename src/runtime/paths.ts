// Where simulations keep their state: a tmpfs directory, gone at reboot like the namespaces.
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export function runDir(): string {
  return process.env.NETSIM_RUN_DIR ?? '/run/netsim';
}

export function simDir(sim: string): string {
  return join(runDir(), 'sims', sim);
}

export function simsDir(): string {
  return join(runDir(), 'sims');
}

/**
 * A simulation's directory, root only (0700): its ledger, state and control socket are for
 * the user who started it (the socket itself is 0600 too). chmod as well: mkdir's mode passes
 * through the umask, and an existing directory keeps its own.
 */
export function makeSimDir(sim: string): string {
  const dir = simDir(sim);
  mkdirSync(simsDir(), { recursive: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return dir;
}
