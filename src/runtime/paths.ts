// Where simulations keep their state: a tmpfs directory, gone at reboot like the namespaces.
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureTmpfs } from '../kernel/tmpfs.js';

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
 * The simulations' directory on a tmpfs, as this file's first line says it is: where /run lies
 * on a disk (kernel/tmpfs.ts), etcd's fsyncs there made the default scenario ~0.7 s slower to
 * be ready. A run directory chosen with NETSIM_RUN_DIR is left as it is.
 */
export async function ensureSimsDir(): Promise<void> {
  if (process.env.NETSIM_RUN_DIR === undefined) await ensureTmpfs(simsDir(), { mode: '0755' });
}

/**
 * A simulation's directory: only root lists or writes it (0711); its control socket is 0600,
 * so only root reaches the running simulation. Not 0700: daemons that drop privileges keep
 * their files below it and must pass through (FRR as user frr in nodes/<router>/, nginx's
 * workers as nobody in ingress/). chmod as well: mkdir's mode passes through the umask.
 */
export function makeSimDir(sim: string): string {
  const dir = simDir(sim);
  mkdirSync(simsDir(), { recursive: true });
  mkdirSync(dir, { recursive: true, mode: SIM_DIR_MODE });
  chmodSync(dir, SIM_DIR_MODE);
  return dir;
}

export const SIM_DIR_MODE = 0o711;
