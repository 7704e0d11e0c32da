// Namespaces as a set, for code that holds no Kernel (teardown from the ledger, `netsim
// clean`): which exist, which processes are inside, and removing them. Kernel's static
// methods of the same names delegate here.
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { NETNS_DIR } from './enter.js';
import { removeNodeNamespaces } from './nodens.js';
import { KernelError, run } from './run.js';
import { ensureTmpfs } from './tmpfs.js';

export function listNamespaces(): string[] {
  try {
    return readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
}

/**
 * /run/netns a shared mount point, as `ip netns add` makes it (a namespace bound there shows in
 * mount namespaces made later), on a tmpfs where it lies on a disk and holds no namespace yet
 * (tmpfs.ts: on ext4 each namespace file is made in a directory that grows with every lab and
 * never shrinks). Another tool's namespaces already there are left alone.
 */
export async function ensureNetnsDir(): Promise<void> {
  await ensureTmpfs(NETNS_DIR, { mode: '0755', shared: true });
}

/**
 * Network namespaces as `ip netns add` makes them (a file created, unshare(2), the new
 * namespace bound on it), by one process that forks one more per CPU: making a namespace is
 * mostly the kernel's CPU time (1,000: 383-398 ms in one process, 224-326 ms in two). Fails
 * with the first namespace that could not be made (its file removed, as ip does).
 */
export async function addNetworkNamespaces(names: string[]): Promise<void> {
  if (names.length === 0) return;
  await ensureNetnsDir();
  const parts = Math.max(1, Math.min(availableParallelism(), Math.ceil(names.length / 250)));
  // one part: ip itself, which starts in ~2 ms where perl with syscall.ph takes ~20
  const input = `${names.map((n) => (parts === 1 ? `netns add ${n}` : n)).join('\n')}\n`;
  const r =
    parts === 1
      ? await run('ip', ['-batch', '-'], { input, check: false })
      : await run('perl', ['-e', ADD_NETNS, NETNS_DIR, String(parts)], { input, check: false });
  // named as the ip command it stands for (the program's text would bury the error)
  if (r.exitCode !== 0) throw new KernelError('netns add', r.exitCode, r.stderr);
}

/** ip's `netns add`, for one name (perl; see forkedOverNames). */
const ADD_NETNS = forkedOverNames(`
    sysopen(my $fh, $path, O_RDONLY | O_CREAT | O_EXCL, 0) or die "Cannot create namespace file \\"$path\\": $!\\n";
    close $fh;
    my $self = '/proc/self/ns/net';
    if (syscall(&SYS_unshare, 0x40000000) != 0 || syscall(&SYS_mount, $self, $path, 0, 4096, 0) != 0) {
      my $err = "$!";
      unlink $path;
      die "Cannot create namespace \\"$name\\": $err\\n";
    }`);

/**
 * A perl program that reads a name a line and runs `body` (perl, given $name and $path, which
 * is DIR/name) for each, in PARTS processes (itself and PARTS - 1 forks, the names dealt round
 * robin); argv: DIR PARTS. A part stops at its first error (printed); the others finish, all
 * are waited for (nothing is still being made when it returns), and it exits non-zero.
 */
function forkedOverNames(body: string): string {
  return `
use Fcntl;
require 'syscall.ph';
my ($dir, $parts) = @ARGV;
my @names = grep { length } map { chomp; $_ } <STDIN>;
my (@pids, $mine);
for my $p (0 .. $parts - 1) {
  my $pid = $p == $parts - 1 ? 0 : fork();
  die "fork: $!\\n" unless defined $pid;
  if ($pid) { push @pids, $pid; next; }
  $mine = $p;
  last;
}
my $ok = eval {
  for (my $i = $mine; $i < @names; $i += $parts) {
    my ($name, $path) = ($names[$i], "$dir/$names[$i]");
${body}
  }
  1;
};
print STDERR $@ unless $ok;
exit($ok ? 0 : 1) if $mine != $parts - 1;
my $failed = !$ok;
for (@pids) { waitpid($_, 0); $failed = 1 if $?; }
exit($failed ? 1 : 0);
`;
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

/** Deletes those of `names` that exist, with their nodes' other namespaces. */
export async function deleteNamespaces(names: string[]): Promise<void> {
  await removeNodeNamespaces(names);
  await deleteNetworkNamespaces(names);
}

/** The network namespaces alone (their nodes' other namespaces: nodens.ts removeNodeNamespaces). */
export async function deleteNetworkNamespaces(names: string[]): Promise<void> {
  const present = new Set(listNamespaces());
  const doomed = names.filter((n) => present.has(n));
  if (doomed.length === 0) return;
  // what `ip netns del` does (umount2 MNT_DETACH, unlink), from one process that forks a few:
  // each umount waits for an RCU grace period (0.2-1 ms while a big lab's links still carry
  // traffic) and processes side by side share those waits (1,000 namespaces: 600-780 ms in one
  // `ip -batch` or 4 processes, 220-410 ms in 16, no better in 32 or 64); one Node spawn per
  // process cost ~35 ms of its own. A namespace that vanished meanwhile is skipped.
  const parts = Math.min(DELETERS, Math.ceil(doomed.length / 50));
  if (parts === 1)
    await run('ip', ['-force', '-batch', '-'], {
      input: `${doomed.map((n) => `netns del ${n}`).join('\n')}\n`,
      check: false,
    });
  else
    await run('perl', ['-e', DELETE_NETNS, NETNS_DIR, String(parts)], {
      input: `${doomed.join('\n')}\n`,
      check: false,
    });
}

/** How many processes delete namespaces side by side, at most (one per 50 namespaces). */
const DELETERS = 16;

/** ip's `netns del`, for one name (perl; see forkedOverNames). */
const DELETE_NETNS = forkedOverNames(`
    syscall(&SYS_umount2, $path, 2);
    unlink $path;`);

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
