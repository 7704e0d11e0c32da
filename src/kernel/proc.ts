// Process identity by PID *and* start time, so a recycled PID is never signalled.
import { readdirSync, readFileSync } from 'node:fs';
import { sleep } from '../util/wait.js';

export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: fields start after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19]; // field 22 overall: starttime
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number, start?: string): boolean {
  const now = processStartTime(pid);
  if (now === undefined) return false;
  return start === undefined || now === start;
}

/** SIGTERM, then SIGKILL after `graceMs`; only if the PID still belongs to the same process. */
export async function stopProcess(pid: number, start: string | undefined, graceMs = 1500): Promise<void> {
  if (!isAlive(pid, start)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid, start) || isZombie(pid)) return;
    await sleep(25);
  }
  if (isAlive(pid, start)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

export function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** The environment entry every process started by a simulation's owner carries. */
export const OWNER_ENV = 'NETSIM_OWNER';

/** This process as the owner of simulations: PID and start time (unique even if the PID is reused). */
export function ownerTag(pid = process.pid, start = processStartTime(pid) ?? ''): string {
  return `${pid}:${start}`;
}

/**
 * Processes whose environment carries `NETSIM_OWNER=<tag>`: what an owner started, still
 * running after the owner died (e.g. an `ip -batch` in the middle of adding namespaces).
 */
export function processesOfOwner(tag: string): number[] {
  const entry = Buffer.from(`${OWNER_ENV}=${tag}\0`);
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${name}/environ`);
      const at = env.indexOf(entry);
      if (at === 0 || (at > 0 && env[at - 1] === 0)) pids.push(Number(name));
    } catch {
      /* gone, or a kernel thread */
    }
  }
  return pids;
}

/** The process is ours (same PID and start time) and still running (not a zombie). */
export function isRunning(pid: number, start?: string): boolean {
  return isAlive(pid, start) && !isZombie(pid);
}
