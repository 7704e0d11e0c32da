// Runtime directories on a tmpfs of their own, as everything under /run is on a systemd host.
// Where /run lies on a disk (ext4 on this project's CI machines), files made and removed by the
// thousand (namespace files) and fsync'd (etcd's write-ahead log) cost what a disk costs: 1,000
// `ip netns add` 0.94-1.37 s vs 0.38-0.46 s on tmpfs; the default scenario ready in 2.70-3.18 s
// vs 1.61-2.70 s with the simulations' directory on tmpfs (same runs, alternating).
import { mkdirSync, readFileSync } from 'node:fs';
import { run } from './run.js';

/** The mount that holds `path` (the longest mount point above it): where, its type, shared or not. */
export function topMount(path: string): { at: string; fstype?: string; shared: boolean } {
  let top = { at: '', fstype: undefined as string | undefined, shared: false };
  for (const l of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = l.split(' ');
    const at = f[4];
    if (!at || !(path === at || path.startsWith(at === '/' ? '/' : `${at}/`))) continue;
    // the later of two mounts on one point is the one on top; optional fields sit before '-'
    const dash = f.indexOf('-');
    if (at.length >= top.at.length)
      top = { at, fstype: f[dash + 1], shared: f.slice(6, dash).some((o) => o.startsWith('shared:')) };
  }
  return top;
}

/**
 * `dir` on a tmpfs: mounted there when it lies on something else and is empty (what it holds
 * would be hidden: then it stays as it is). `shared`: also a shared mount point of its own (as
 * `ip netns` keeps /run/netns), a bind of itself if need be. The mount stays, as ip's does; its
 * files are runtime state, gone at reboot like the namespaces and processes they describe.
 * Decided under a lock on the directory: two simulations starting at once must not both mount
 * one (the second would hide what the first made); one that waited finds it mounted.
 */
export async function ensureTmpfs(dir: string, opts: { mode: string; shared?: boolean }): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const top = topMount(dir);
  if (top.fstype === 'tmpfs' && (!opts.shared || (top.at === dir && top.shared))) return;
  const script = [
    `if [ "$(findmnt -n -o FSTYPE -T ${dir})" != tmpfs ] && [ -z "$(ls -A ${dir})" ]; then mount -t tmpfs -o mode=${opts.mode} netsim ${dir}; fi`,
  ];
  if (opts.shared)
    script.push(`mountpoint -q ${dir} || mount --bind ${dir} ${dir}`, `mount --make-shared ${dir}`);
  await run('flock', [dir, 'sh', '-ec', script.join('\n')]);
}
