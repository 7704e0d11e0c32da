// A node's own mount namespace, for its binds (containerlab's `binds:`): each source appears
// at its destination (`:ro` read-only) for every process netsim starts in the node, and the
// rest of the file system stays the host's. Propagation is private: nothing mounted in the
// node shows on the host.
//
// A destination must not be created on the host. So:
// - a destination that exists on the host (file or directory) is bound over;
// - a destination under a top-level directory the host lacks (`/config/setup.sh`) gets a
//   root of its own: a tmpfs holding a bind of each of the host's top-level entries (symlinks
//   copied), the missing directories made in the tmpfs, then pivot_root into it;
// - any other missing destination (a new file in a host directory, `/etc/new.conf`) is refused.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { mntFile, NETNS_ETC, rootDir, shellQuote } from './enter.js';
import { ensureNodeNsDir } from './nodens.js';
import { KernelError } from './run.js';
import { runShellJobs, type ShellJob } from './shells.js';

export interface Bind {
  src: string;
  dst: string;
  ro: boolean;
}

/** `/source:/destination[:ro|:rw]` (validated by the model's spec). */
export function parseBind(text: string): Bind {
  const [src, dst, mode] = text.split(':');
  return { src, dst, ro: mode === 'ro' };
}

/** Does the destination's top-level directory exist on the host? */
function topLevelExists(dst: string): boolean {
  const top = `/${dst.split('/').filter(Boolean)[0] ?? ''}`;
  return top === '/' || existsSync(top);
}

/** The shell that builds `ns`'s mount namespace, inside it (`sh -e`). */
function mountScript(ns: string, binds: Bind[]): string {
  const q = shellQuote;
  const ownRoot = binds.some((b) => !existsSync(b.dst));
  for (const b of binds) {
    if (!existsSync(b.src)) throw new KernelError(`[${ns}] bind ${b.src}:${b.dst}`, 2, 'source not found');
    if (!existsSync(b.dst) && topLevelExists(b.dst))
      throw new KernelError(
        `[${ns}] bind ${b.src}:${b.dst}`,
        2,
        `${b.dst} does not exist on the host and netsim does not create it there (a missing destination must lie under a top-level directory the host lacks, e.g. /config/...)`,
      );
  }
  const lines: string[] = [];
  const root = ownRoot ? rootDir(ns) : '';
  if (ownRoot) {
    lines.push(
      `R=${q(root)}`,
      'mount -t tmpfs -o mode=755 netsim-root "$R"',
      'for e in /* /.[!.]*; do',
      '  [ -e "$e" ] || [ -L "$e" ] || continue',
      '  if [ -L "$e" ]; then cp -P "$e" "$R$e"',
      '  elif [ -d "$e" ]; then mkdir "$R$e" && mount --rbind "$e" "$R$e"',
      '  else : > "$R$e" && mount --bind "$e" "$R$e"; fi',
      'done',
    );
  }
  for (const b of binds) {
    const dst = `${root}${b.dst}`;
    if (!existsSync(b.dst)) {
      const dir = statSync(b.src).isDirectory();
      lines.push(dir ? `mkdir -p ${q(dst)}` : `mkdir -p "$(dirname ${q(dst)})" && : > ${q(dst)}`);
    }
    lines.push(`mount --bind ${q(b.src)} ${q(dst)}`);
    if (b.ro) lines.push(`mount -o remount,bind,ro ${q(dst)}`);
  }
  if (ownRoot)
    lines.push(
      'mkdir "$R/.netsim-oldroot" && cd "$R" && pivot_root . .netsim-oldroot',
      'umount -l /.netsim-oldroot && rmdir /.netsim-oldroot',
    );
  return lines.join('\n');
}

/** A mount namespace per node with binds, bound to mntFile(ns); shared out over a few shells. */
export async function addMountNamespaces(binds: Map<string, Bind[]>, shells?: number): Promise<void> {
  if (binds.size === 0) return;
  await ensureNodeNsDir(binds.keys());
  const jobs: ShellJob[] = [...binds].map(([ns, list]) => {
    const script = mountScript(ns, list);
    if (list.some((b) => !existsSync(b.dst))) mkdirSync(rootDir(ns), { recursive: true });
    const file = shellQuote(mntFile(ns));
    return {
      ns,
      text: `: > ${file} && unshare --mount=${file} --propagation private sh -ec ${shellQuote(script)} || fail ${ns}`,
      cost: 50 + list.length,
    };
  });
  await runShellJobs(jobs, shells);
}

/**
 * Writes /etc/netns/<ns>/<file> (where `ip netns exec` finds a namespace's own /etc files) and
 * returns, per namespace, the binds that put them over /etc/<file>.
 */
export function writeEtcFiles(files: { ns: string; file: string; content: string }[]): Map<string, Bind[]> {
  const binds = new Map<string, Bind[]>();
  for (const f of files) {
    const src = `${NETNS_ETC}/${f.ns}/${f.file}`;
    mkdirSync(`${NETNS_ETC}/${f.ns}`, { recursive: true });
    writeFileSync(src, f.content);
    binds.set(f.ns, [...(binds.get(f.ns) ?? []), { src, dst: `/etc/${f.file}`, ro: false }]);
  }
  return binds;
}

/**
 * Nodes' own /etc/hosts files (by namespace): those of nodes with binds join their binds (their
 * mount namespace is built by a shell); the others are returned, for the UTS process
 * (nodens.ts addUtsNamespaces) to make their mount namespace with it.
 */
export function splitHosts(
  binds: Map<string, Bind[]>,
  hosts: Map<string, string>,
): [Map<string, string>, Map<string, Bind[]>] {
  const own = new Map<string, string>();
  const all = new Map(binds);
  for (const [ns, src] of hosts) {
    const list = binds.get(ns);
    if (list) all.set(ns, [...list, { src, dst: '/etc/hosts', ro: false }]);
    else own.set(ns, src);
  }
  return [own, all];
}
