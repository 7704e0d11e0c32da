// A node's namespaces besides its network one, kept like /run/netns keeps those: a file per
// namespace under NODE_NS_DIR on which the namespace is bind-mounted, so it outlives the
// process that made it and every command netsim starts enters it (enter.ts enterOptions).
// - UTS: the node's hostname. All of a build's are made by one process (perl's syscall, as
//   `unshare --uts=FILE hostname NAME` would do each: unshare(2), sethostname(2), then bind
//   /proc/self/ns/uts on FILE); a process per node cost ~4 ms each, a third of a 200-node build.
// - mount: a node with binds (kernel/mounts.ts).
// The directory is a tmpfs of its own with private propagation (as `ip netns` makes /run/netns
// its own mount): a mount namespace's file may only be bound where the binding cannot
// propagate back into that namespace; on tmpfs, like the namespaces, the files go at reboot,
// and creating thousands of them stays cheap where /run is a disk (ext4 here: 1-2 ms a file
// in a directory that once held thousands).
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { mntFile, NODE_NS_DIR, nodeNsDir, rootDir, simOfNamespace, utsFile } from './enter.js';
import { run } from './run.js';
import { topMount } from './tmpfs.js';

/** The kernel keeps at most this many bytes of a hostname. */
const HOSTNAME_MAX = 64;

/**
 * NODE_NS_DIR exists and is a private tmpfs of its own (once per boot, like /run/netns), and so
 * is the directory of each simulation that `namespaces` belong to (kernel/enter.ts nodeNsDir). An
 * older netsim made NODE_NS_DIR a bind mount of itself: while that holds no file (no simulation
 * uses it), a tmpfs goes on top.
 */
export async function ensureNodeNsDir(namespaces: Iterable<string> = []): Promise<void> {
  mkdirSync(NODE_NS_DIR, { recursive: true });
  const fstype = mountedFsType(NODE_NS_DIR);
  const cmds: string[] = [];
  if (fstype !== 'tmpfs' && (fstype === undefined || readdirSync(NODE_NS_DIR).length === 0))
    cmds.push(
      `mount -t tmpfs -o mode=0755,size=1m netsim-ns ${NODE_NS_DIR} && mount --make-private ${NODE_NS_DIR}`,
    );
  const sims = new Set([...namespaces].map(simOfNamespace));
  for (const sim of sims) {
    const dir = nodeNsDir(sim);
    if (cmds.length === 0 && mountedFsType(dir) === 'tmpfs') continue;
    // root-only, like the simulation's own directory; its files are empty (size: a floor)
    cmds.push(
      `mkdir -p ${dir} && mount -t tmpfs -o mode=0700,size=1m netsim-ns-${sim} ${dir} && mount --make-private ${dir}`,
    );
  }
  if (cmds.length) await run('sh', ['-ec', cmds.join('\n')]);
}

/** The file system type of the topmost mount on `path`, if it is a mount point. */
function mountedFsType(path: string): string | undefined {
  const top = topMount(path);
  return top.at === path ? top.fstype : undefined;
}

/**
 * Reads `UTSFILE<TAB>HOSTNAME[<TAB>MNTFILE<TAB>HOSTSFILE]` lines: for each a new UTS namespace,
 * named, bound on UTSFILE; with MNTFILE also a new mount namespace with HOSTSFILE bound over
 * /etc/hosts, bound on MNTFILE. Those are copies of one template made first: private
 * propagation (nothing shows on the host) and the host's /run/netns and NODE_NS_DIR (the other
 * nodes' namespace files, which a container does not see) detached, so each copy is small. A
 * mount namespace's file may only be bound from an older namespace: the process goes back into
 * its own (setns) holding the new one open, and binds that.
 */
const TEMPLATE = `
require 'syscall.ph';
my ($NEWNS, $NEWUTS) = (0x00020000, 0x04000000);
open(my $home, '<', '/proc/self/ns/mnt') or die "own mount namespace: $!\n";
my $template;
sub template {
  return $template if $template;
  syscall(&SYS_unshare, $NEWNS) == 0 or die "unshare (mount template): $!\n";
  my $root = '/';
  syscall(&SYS_mount, 0, $root, 0, 16384 | 262144, 0) == 0 or die "private /: $!\n";
  for my $d ('/run/netns', '${NODE_NS_DIR}') { my $dd = $d; 1 while syscall(&SYS_umount2, $dd, 2) == 0; }
  open($template, '<', '/proc/self/ns/mnt') or die "template: $!\n";
  syscall(&SYS_setns, fileno($home), $NEWNS) == 0 or die "back to own mount namespace: $!\n";
  return $template;
}
# binds the mount namespace this process is in on FILE, from its own first one (a mount
# namespace's file may only be bound from an older namespace), and goes back there
sub bind_own_mnt {
  my ($file) = @_;
  open(my $own, '<', '/proc/self/ns/mnt') or die "new mount namespace: $!\n";
  syscall(&SYS_setns, fileno($home), $NEWNS) == 0 or die "back to own mount namespace: $!\n";
  my $src = '/proc/self/fd/' . fileno($own);
  syscall(&SYS_mount, $src, $file, 0, 4096, 0) == 0 or die "bind on $file: $!\n";
  close $own;
}`;

const MAKE_NODE_NS = `${TEMPLATE}
while (my $line = <STDIN>) {
  chomp $line;
  my ($file, $name, $mnt, $hosts) = split /\t/, $line, 4;
  for my $f (grep { defined } $file, $mnt) { open(my $fh, '>', $f) or die "$f: $!\n"; close $fh; }
  if ($mnt) {
    syscall(&SYS_setns, fileno(template()), $NEWNS) == 0 or die "into the template: $!\n";
  }
  syscall(&SYS_unshare, $NEWUTS | ($mnt ? $NEWNS : 0)) == 0 or die "unshare for $file: $!\n";
  syscall(&SYS_sethostname, $name, length $name) == 0 or die "sethostname $name: $!\n";
  if ($mnt) {
    my $etc = '/etc/hosts';
    syscall(&SYS_mount, $hosts, $etc, 0, 4096, 0) == 0 or die "bind $hosts on /etc/hosts: $!\n";
    bind_own_mnt($mnt);
  }
  my $ns = '/proc/self/ns/uts';  # syscall needs writable strings
  syscall(&SYS_mount, $ns, $file, 0, 4096, 0) == 0 or die "bind on $file: $!\n";
}`;

/**
 * One UTS namespace per node, its hostname set, bound to utsFile(ns); for each node in `hosts`
 * also a mount namespace whose /etc/hosts is that file, bound to mntFile(ns). All in one process.
 */
export async function addUtsNamespaces(
  hostnames: Map<string, string>,
  hosts = new Map<string, string>(),
): Promise<void> {
  if (hostnames.size === 0) return;
  await ensureNodeNsDir(hostnames.keys());
  const lines = [...hostnames].map(([ns, name]) => {
    // the kernel refuses longer hostnames; a tab or newline would break the line
    const host = Buffer.from(name.replace(/\s/g, '-')).subarray(0, HOSTNAME_MAX).toString();
    const file = hosts.get(ns);
    return `${utsFile(ns)}\t${host}${file ? `\t${mntFile(ns)}\t${file}` : ''}`;
  });
  await run('perl', ['-e', MAKE_NODE_NS], { input: `${lines.join('\n')}\n` });
}

/**
 * Reads \`MNTFILE<TAB>SRC<TAB>DST[<TAB>SRC<TAB>DST...]\` lines: for each a new mount namespace
 * (a copy of the template above) with each SRC bound over DST, bound on MNTFILE.
 */
const MAKE_MNT_NS = `${TEMPLATE}
while (my $line = <STDIN>) {
  chomp $line;
  my ($mnt, @binds) = split /\t/, $line;
  open(my $fh, '>', $mnt) or die "$mnt: $!\n"; close $fh;
  syscall(&SYS_setns, fileno(template()), $NEWNS) == 0 or die "into the template: $!\n";
  syscall(&SYS_unshare, $NEWNS) == 0 or die "unshare for $mnt: $!\n";
  while (@binds) {
    my ($src, $dst) = splice(@binds, 0, 2);
    syscall(&SYS_mount, $src, $dst, 0, 4096, 0) == 0 or die "bind $src on $dst: $!\n";
  }
  bind_own_mnt($mnt);
}`;

/**
 * A mount namespace per node whose files (existing destinations, read-write) are bound over
 * their destinations, bound to mntFile(ns): all in one process, like the UTS namespaces (a
 * shell per node, unshare(1) and mount(8) each, cost ~20 ms per pod with 1,000 pods).
 */
export async function addFileMountNamespaces(
  files: Map<string, { src: string; dst: string }[]>,
): Promise<void> {
  if (files.size === 0) return;
  await ensureNodeNsDir(files.keys());
  const lines = [...files].map(([ns, list]) =>
    [mntFile(ns), ...list.flatMap((b) => [b.src, b.dst])].join('\t'),
  );
  await run('perl', ['-e', MAKE_MNT_NS], { input: `${lines.join('\n')}\n` });
}

/** Reads one path a line and detaches what is mounted on each (MNT_DETACH); errors ignored. */
const UNMOUNT = `
require 'syscall.ph';
while (my $f = <STDIN>) { chomp $f; syscall(&SYS_umount2, $f, 2) if length $f; }`;

/**
 * Every namespace file of these nodes, unbound and removed (those that exist). A simulation
 * directory left with none but theirs (its teardown) is detached whole, in one umount.
 */
export async function removeNodeNamespaces(namespaces: string[]): Promise<void> {
  const doomed = new Set(namespaces);
  const wholeDirs = new Set<string>();
  for (const sim of new Set(namespaces.map(simOfNamespace))) {
    const dir = nodeNsDir(sim);
    const entries = listDir(dir);
    if (entries?.every((e) => doomed.has(e.replace(/\.(uts|mnt|root)$/, '')))) wholeDirs.add(dir);
  }
  const files = namespaces
    .filter((ns) => !wholeDirs.has(nodeNsDir(simOfNamespace(ns))))
    .flatMap((ns) => [mntFile(ns), utsFile(ns)])
    .filter((f) => existsSync(f));
  // detached (umount -l): a mount namespace file can be busy while a process still holds it;
  // it goes with them. One umount2(2) per file from one process: umount(8) re-reads the whole
  // mount table for each file it is given, which made this most of a 400-node teardown. A
  // simulation's directory is a tmpfs: detached, its files go with it.
  const paths = [...wholeDirs, ...files];
  if (paths.length) await run('perl', ['-e', UNMOUNT], { input: `${paths.join('\n')}\n`, check: false });
  for (const f of files) rmSync(f, { force: true });
  for (const dir of wholeDirs)
    try {
      rmdirSync(dir);
    } catch {
      /* still mounted (the umount failed): `netsim clean` tries again */
    }
  // a node's own root is a tmpfs inside its mount namespace only: on the host an empty
  // directory (rmdir, never a recursive removal, whatever it might hold)
  for (const ns of namespaces.filter((n) => !wholeDirs.has(nodeNsDir(simOfNamespace(n)))))
    try {
      rmdirSync(rootDir(ns));
    } catch {
      /* none */
    }
}

/** The entries of a directory (undefined: there is none). */
function listDir(dir: string): string[] | undefined {
  try {
    return readdirSync(dir);
  } catch {
    return undefined;
  }
}

/** Node namespace files named after `prefix…` network namespaces (`netsim clean --all`). */
export function nodeNamespaceNames(prefix: string): string[] {
  const names = new Set<string>();
  for (const entry of listDir(NODE_NS_DIR) ?? []) {
    const path = `${NODE_NS_DIR}/${entry}`;
    // a simulation's directory, or a file of the layout before those
    const inside = isDir(path) && !/\.root$/.test(entry) ? (listDir(path) ?? []) : [entry];
    for (const f of inside) if (f.startsWith(prefix)) names.add(f.replace(/\.(uts|mnt|root)$/, ''));
  }
  return [...names];
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
