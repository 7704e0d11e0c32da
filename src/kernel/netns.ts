// Namespaces as a set, for code that holds no Kernel (teardown from the ledger, `netsim
// clean`): which exist, which processes are inside, and removing them. Kernel's static
// methods of the same names delegate here.
import { readdirSync, statSync } from 'node:fs';
import { NETNS_DIR } from './enter.js';
import { removeNodeNamespaces } from './nodens.js';
import { run } from './run.js';

export function listNamespaces(): string[] {
  try {
    return readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
}

/** Processes still running whose network namespace is one of `names` (found via /proc). */
export function processesInNamespaces(names: Set<string>): number[] {
  const inodes = new Map<string, string>();
  for (const n of names) {
    // the netns file is a bind mount of the namespace's nsfs inode
    const id = nsfsId(`${NETNS_DIR}/${n}`);
    if (id) inodes.set(id, n);
  }
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const id = nsfsId(`/proc/${entry}/ns/net`);
    if (id && inodes.has(id)) pids.push(Number(entry));
  }
  return pids;
}

/** Deletes those of `names` that exist, in one `ip -batch`, with their nodes' other namespaces. */
export async function deleteNamespaces(names: string[]): Promise<void> {
  await removeNodeNamespaces(names);
  await deleteNetworkNamespaces(names);
}

/** The network namespaces alone (their nodes' other namespaces: nodens.ts removeNodeNamespaces). */
export async function deleteNetworkNamespaces(names: string[]): Promise<void> {
  const present = new Set(listNamespaces());
  const doomed = names.filter((n) => present.has(n));
  if (doomed.length === 0) return;
  // -force: keep going past a namespace that vanished meanwhile
  await run('ip', ['-force', '-batch', '-'], {
    input: `${doomed.map((n) => `netns del ${n}`).join('\n')}\n`,
    check: false,
  });
}

/**
 * Namespaces that no ledger records (`netsim clean --all`: netsim-* names left by a feature
 * probe or a build killed midway): every process still inside is killed, then they go.
 */
export async function removeUnrecordedNamespaces(names: string[]): Promise<void> {
  for (const pid of processesInNamespaces(new Set(names))) {
    if (pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await deleteNamespaces(names);
}

/** dev:inode of a namespace file; equal for /run/netns/X and /proc/PID/ns/net of its members. */
function nsfsId(path: string): string | undefined {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}
