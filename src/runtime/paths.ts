// Where simulations keep their state: a tmpfs directory, gone at reboot like the namespaces.
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
