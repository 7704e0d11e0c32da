// Namespaces as a set, for code that holds no Kernel (teardown from the ledger, `netsim
// clean`): which exist, which processes are inside, and removing them. Kernel's static
// methods of the same names delegate here.
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
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

/**
 * /run/netns on a tmpfs of its own where it lies on a disk and holds no namespace. Where /run is
 * a tmpfs (systemd's), it already is. On a disk (ext4 here), each `netns add` creates a file in
 * a directory that grows with every lab and never shrinks: 1,000 namespaces took 0.94-1.37 s
 * there against 0.38-0.46 s on tmpfs, same runs. Like `ip netns add`'s own bind mount of the
 * directory, the mount stays (shared, as ip makes it); namespace files go at reboot either way.
 * Another tool's namespaces already there: left alone (they would be hidden).
 */
export async function ensureNetnsDir(): Promise<void> {
  mkdirSync(NETNS_DIR, { recursive: true });
  if (fsTypeOf(NETNS_DIR) === 'tmpfs' || listNamespaces().length > 0) return;
  await run('sh', [
    '-ec',
    `mount -t tmpfs -o mode=0755 netns ${NETNS_DIR} && mount --make-shared ${NETNS_DIR}`,
  ]);
}

/** The file system type of the mount that holds `path` (the longest mount point above it). */
function fsTypeOf(path: string): string | undefined {
  let best = '';
  let type: string | undefined;
  for (const l of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = l.split(' ');
    const at = f[4];
    if (!at || !(path === at || path.startsWith(at === '/' ? '/' : `${at}/`))) continue;
    // the later of two mounts on one point is the one on top
    if (at.length >= best.length) {
      best = at;
      type = f[f.indexOf('-') + 1];
    }
  }
  return type;
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
  // `netns del` is an umount, and each umount waits for an RCU grace period (0.2-1 ms while a
  // big lab's links still carry traffic): a few processes side by side share those waits (1,000
  // namespaces: 680-780 ms in one, 360-390 ms in four); -force: keep going past a namespace
  // that vanished meanwhile
  const parts = Math.min(DELETERS, Math.ceil(doomed.length / 250));
  await Promise.all(
    Array.from({ length: parts }, (_, p) =>
      run('ip', ['-force', '-batch', '-'], {
        input: `${doomed
          .filter((_, i) => i % parts === p)
          .map((n) => `netns del ${n}`)
          .join('\n')}\n`,
        check: false,
      }),
    ),
  );
}

/** How many processes delete namespaces side by side, at most. */
const DELETERS = 4;

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
