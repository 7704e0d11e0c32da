// A node's namespaces besides its network one, kept like /run/netns keeps those: a file per
// namespace under NODE_NS_DIR on which the namespace is bind-mounted, so it outlives the
// process that made it and every command netsim starts enters it (enter.ts enterOptions).
// - UTS: the node's hostname (`unshare --uts=FILE hostname NAME`).
// The directory is a bind mount of itself with private propagation (as `ip netns` makes
// /run/netns its own mount): a mount namespace's file may only be bound where the binding
// cannot propagate back into that namespace.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mntFile, NODE_NS_DIR, shellQuote, utsFile } from './enter.js';
import { run } from './run.js';
import { runShellJobs, type ShellJob } from './shells.js';

/** The kernel keeps at most this many bytes of a hostname. */
const HOSTNAME_MAX = 64;

/** NODE_NS_DIR exists and is a private mount of its own (once per boot, like /run/netns). */
export async function ensureNodeNsDir(): Promise<void> {
  mkdirSync(NODE_NS_DIR, { recursive: true });
  if (isMountPoint(NODE_NS_DIR)) return;
  await run('sh', [
    '-c',
    `mount --bind ${NODE_NS_DIR} ${NODE_NS_DIR} && mount --make-private ${NODE_NS_DIR}`,
  ]);
}

function isMountPoint(path: string): boolean {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[4] === path);
  } catch {
    return false;
  }
}

/**
 * One UTS namespace per node, its hostname set, bound to utsFile(ns): a line per node shared
 * out over a few shells (`unshare` binds the namespace to the file, then execs `hostname`).
 */
export async function addUtsNamespaces(hostnames: Map<string, string>, shells?: number): Promise<void> {
  if (hostnames.size === 0) return;
  await ensureNodeNsDir();
  const jobs: ShellJob[] = [...hostnames].map(([ns, name]) => {
    const file = shellQuote(utsFile(ns));
    const host = shellQuote(Buffer.from(name).subarray(0, HOSTNAME_MAX).toString());
    return { ns, text: `: > ${file} && unshare --uts=${file} hostname ${host} || fail ${ns}`, cost: 2 };
  });
  await runShellJobs(jobs, shells);
}

/** Every namespace file of these nodes, unbound and removed (those that exist). */
export async function removeNodeNamespaces(namespaces: string[]): Promise<void> {
  const files = namespaces.flatMap((ns) => [mntFile(ns), utsFile(ns)]).filter((f) => existsSync(f));
  if (files.length === 0) return;
  // -l: a mount namespace file can be busy while a process still holds it; it goes with them
  await run('umount', ['-l', ...files], { check: false });
  for (const f of files) rmSync(f, { force: true });
}

/** Node namespace files named after `prefix…` network namespaces (`netsim clean --all`). */
export function nodeNamespaceNames(prefix: string): string[] {
  try {
    return readdirSync(NODE_NS_DIR)
      .filter((f) => f.startsWith(prefix))
      .map((f) => f.replace(/\.(uts|mnt)$/, ''));
  } catch {
    return [];
  }
}
