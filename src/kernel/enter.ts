// Entering a namespace: the one place that builds the `nsenter` argv. Everything that runs a
// program inside a simulated node (short commands, daemons, foreground processes streamed to
// the REPL, an interactive shell) comes through here.
import {
  type ChildProcess,
  type SpawnOptions,
  type SpawnSyncOptions,
  type SpawnSyncReturns,
  spawn,
  spawnSync,
} from 'node:child_process';
import { existsSync } from 'node:fs';

// the type of what spawnIn returns, so callers above the kernel layer need not name child_process
export type { ChildProcess };

export const NETNS_DIR = '/run/netns';

/**
 * A node's other namespaces (its hostname's UTS namespace, its own mount namespace when it has
 * binds or its own /etc/hosts), kept as bind-mounted files named after the network namespace,
 * as /run/netns keeps those: entering needs only the name. The directory is its own private
 * mount (kernel/nodens.ts), which a mount namespace's file requires.
 */
export const NODE_NS_DIR = '/run/netsim-ns';

/**
 * The simulation a namespace belongs to: `netsim-<sim>-<node>`, and a simulation's name has no
 * `-` (model/spec.ts SIM_NAME_RE), so it is the part before the second `-`.
 */
export function simOfNamespace(ns: string): string {
  const rest = ns.startsWith('netsim-') ? ns.slice('netsim-'.length) : ns;
  return rest.split('-')[0] || rest;
}

/**
 * A simulation's node namespace files: a tmpfs of its own under NODE_NS_DIR, so its teardown
 * detaches them all with one umount (each umount waits for an RCU grace period: one per file
 * was 0.4-1.6 ms, most of a 1,000-node teardown).
 */
export function nodeNsDir(sim: string): string {
  return `${NODE_NS_DIR}/${sim}`;
}

const nodeFile = (ns: string, suffix: string) => `${nodeNsDir(simOfNamespace(ns))}/${ns}.${suffix}`;

export function utsFile(ns: string): string {
  return nodeFile(ns, 'uts');
}

export function mntFile(ns: string): string {
  return nodeFile(ns, 'mnt');
}

/** Where a node with a root of its own keeps it (a tmpfs, mounted inside its namespace only). */
export function rootDir(ns: string): string {
  return nodeFile(ns, 'root');
}

/**
 * nsenter's options that enter node `ns`: its network namespace, and its UTS and mount
 * namespaces when it has them (`netOnly`: the UTS one but not its file system view, for a
 * CNI plugin that opens other namespaces' files under /run/netns).
 */
export function enterOptions(ns: string, netOnly = false): string[] {
  const out = [`--net=${NETNS_DIR}/${ns}`];
  if (existsSync(utsFile(ns))) out.push(`--uts=${utsFile(ns)}`);
  if (!netOnly && existsSync(mntFile(ns))) out.push(`--mount=${mntFile(ns)}`, '--wd=.');
  return out;
}

/** The node's UTS and mount namespace files, those it has (the ones enterOptions enters). */
export function nodeNamespaceFiles(ns: string): { uts?: string; mnt?: string } {
  const out: { uts?: string; mnt?: string } = {};
  if (existsSync(utsFile(ns))) out.uts = utsFile(ns);
  if (existsSync(mntFile(ns))) out.mnt = mntFile(ns);
  return out;
}

/** argv that runs `cmd args` inside `ns` (or in the caller's namespace when ns is undefined). */
export function inNamespace(
  ns: string | undefined,
  cmd: string,
  args: string[],
  netOnly = false,
): [string, string[]] {
  if (!ns) return [cmd, args];
  return ['nsenter', [...enterOptions(ns, netOnly), '--', cmd, ...args]];
}

/**
 * A process inside `ns` whose stdio the caller handles (a foreground command streamed to the
 * REPL, a monitor). Not recorded in the ledger: the caller waits for it or ends it; use
 * Kernel.spawnDaemon/spawnTracked for processes that may outlive the caller's attention.
 */
export function spawnIn(ns: string | undefined, argv: string[], opts: SpawnOptions = {}): ChildProcess {
  const [file, args] = inNamespace(ns, argv[0], argv.slice(1));
  return spawn(file, args, opts);
}

/** The same, waiting for the process (an interactive shell with inherited stdio). */
export function spawnInSync(
  ns: string | undefined,
  argv: string[],
  opts: SpawnSyncOptions = {},
): SpawnSyncReturns<Buffer> {
  const [file, args] = inNamespace(ns, argv[0], argv.slice(1));
  return spawnSync(file, args, opts) as SpawnSyncReturns<Buffer>;
}

/**
 * A shell line that runs `line` with `source` bind-mounted over `target` in a private mount
 * namespace of its own, as `ip netns exec` mounts /etc/netns/<ns>/* (a pod's resolv.conf).
 */
export function withFileBound(source: string, target: string, line: string): string {
  const setup = `mount --bind ${shellQuote(source)} ${shellQuote(target)} && exec sh -c "$1"`;
  return `exec unshare --mount --propagation private sh -c ${shellQuote(setup)} pod ${shellQuote(line)}`;
}

/** Where `ip netns exec` finds a namespace's own /etc files (a pod's resolv.conf). */
export const NETNS_ETC = '/etc/netns';

/**
 * argv that sees /etc as `ip netns exec` would: the namespace's own resolv.conf, when it has
 * one, bound over /etc/resolv.conf (so a pod entered from another shell resolves service names).
 */
export function withNetnsEtc(ns: string, argv: string[]): string[] {
  const own = `${NETNS_ETC}/${ns}/resolv.conf`;
  // a node with a mount namespace of its own has it bound there already (Kernel.writeNetnsFiles)
  if (!existsSync(own) || existsSync(mntFile(ns))) return argv;
  return ['sh', '-c', withFileBound(own, '/etc/resolv.conf', argv.map(shellQuote).join(' '))];
}

/** Single-quoted for sh. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
