// Process identity by PID *and* start time, so a recycled PID is never signalled.
import { readFileSync } from 'node:fs';

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
    await new Promise((r) => setTimeout(r, 25));
  }
  if (isAlive(pid, start)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}
