// The kernel layer: the only code that changes kernel state. Operations are batched
// (one `ip -batch` for all namespaces and veths, at most one process chain per namespace
// for its own configuration, started by a few shells) and recorded in the ledger before
// they happen.
import { closeSync, openSync, rmSync } from 'node:fs';
import { readAddrStates } from './addrs.js';
import { type CniCall, type CniError, type CniTrace, execCni, execCniMany } from './cni.js';
import { NETNS_ETC, nodeNamespaceFiles, spawnIn } from './enter.js';
import type { Ledger } from './ledger.js';
import { MonitorProcess } from './monitor.js';
import { addMountNamespaces, type Bind, splitHosts, writeEtcFiles } from './mounts.js';
import { decodeLinks } from './netlink.js';
import {
  addNetworkNamespaces,
  deleteNamespaces,
  listNamespaces,
  processesInNamespaces,
  removeUnrecordedNamespaces,
} from './netns.js';
import { addFileMountNamespaces, addUtsNamespaces, nodeNamespaceNames } from './nodens.js';
import { isAlive, processStartTime, stopProcess } from './proc.js';
import { KernelError, type RunOptions, type RunResult, run, sh } from './run.js';
import { type NsJob, runNsJobs } from './runner.js';
import { type NsScript, nsJob } from './script.js';
import { DEFAULT_SHELLS, nsenter, runShellJobs } from './shells.js';

export type { NsScript };

/** Per-namespace files that `ip netns exec` mounts over /etc. */
export { NETNS_ETC };

export interface VethSpec {
  a: { ns: string; ifname: string; mac?: string };
  b: { ns: string; ifname: string; mac?: string };
  mtu?: number;
  /** create end a up (the kernel cannot create the peer end up: b waits for its script) */
  aUp?: boolean;
}

/** One interface as `ip -j link show` reports it. */
export interface LinkState {
  ifname: string;
  flags: string[];
  operstate: string;
}

export function emptyScript(): NsScript {
  return { sysctls: {}, ip: [], tc: [] };
}

export interface DaemonSpec {
  ns: string;
  cmd: string;
  args: string[];
  logFile: string;
  env?: Record<string, string>;
}

export class Kernel {
  /** how many shells configure namespaces side by side */
  concurrency = DEFAULT_SHELLS;
  /** next free ifindex of namespaces made here that no veth has entered yet (only lo: 1) */
  private readonly freshIndex = new Map<string, number>();
  /** directories CNI plugins keep state in, already recorded in the ledger */
  private readonly cniDirs = new Set<string>();
  /** UTS (and /etc/hosts mount) namespaces per node (off: the benchmark measures what they cost) */
  uts = true;
  /**
   * Scripts' ip lines sent as rtnetlink requests by the namespace runner (netlink.ts) rather
   * than by `ip -batch` (the netlink-configure test compares the two); NETSIM_CONFIGURE=ip
   * runs `ip -batch` in every namespace as before, for comparison.
   */
  netlink = process.env.NETSIM_CONFIGURE !== 'ip';

  constructor(readonly ledger: Ledger) {}

  /** `ip -j addr show` of many namespaces by a few shells (addrs.ts); undefined: a namespace gone */
  static readonly addrStates = readAddrStates;
  static listNamespaces = (): string[] => listNamespaces();
  /** Network namespaces (by name) with UTS/mount namespace files (kernel/nodens.ts). */
  static listNodeNamespaces = (): string[] => nodeNamespaceNames('netsim-');

  /** Network namespaces, UTS ones (`hostnames`), mount ones (`binds`, `hosts`: over /etc/hosts). */
  async addNamespaces(
    names: string[],
    hostnames = new Map<string, string>(),
    binds = new Map<string, Bind[]>(),
    hosts = new Map<string, string>(),
  ): Promise<void> {
    if (names.length === 0) return;
    this.ledger.append(names.map((name) => ({ t: 'netns' as const, name })));
    const [ownHosts, allBinds] = splitHosts(binds, this.uts ? hosts : new Map());
    // side by side (UTS ones need only names); allSettled: when one fails, the other has ended too
    const uts = this.uts && addUtsNamespaces(hostnames, ownHosts);
    const made = await Promise.allSettled([addNetworkNamespaces(names), uts]);
    for (const r of made) if (r.status === 'rejected') throw r.reason;
    for (const n of names) this.freshIndex.set(n, 2);
    await addMountNamespaces(allBinds, this.concurrency);
  }

  /**
   * Explicit ifindexes for veth ends in fresh namespaces, never equal to the peer's. The
   * kernel treats a carrier change on a device whose ifindex equals its peer's ifindex as not
   * urgent and may apply it up to a second later; until then a bridge keeps that port
   * disabled and the first packets of a new simulation are lost. (Auto-numbering gives both
   * ends ifindex 2 whenever the link is the first in both namespaces.)
   */
  private vethIndexes(veths: VethSpec[]): Map<VethSpec, [number | undefined, number | undefined]> {
    const out = new Map<VethSpec, [number | undefined, number | undefined]>();
    for (const v of veths) {
      const a = this.freshIndex.get(v.a.ns);
      let b = v.b.ns === v.a.ns ? (a === undefined ? undefined : a + 1) : this.freshIndex.get(v.b.ns);
      if (a === undefined || b === undefined) {
        out.set(v, [undefined, undefined]);
        continue;
      }
      if (b === a) b++;
      this.freshIndex.set(v.a.ns, a + 1);
      this.freshIndex.set(v.b.ns, Math.max(this.freshIndex.get(v.b.ns)!, b + 1));
      out.set(v, [a, b]);
    }
    // from now on other devices (bridges...) get numbers from the kernel: stop choosing
    for (const v of veths) {
      this.freshIndex.delete(v.a.ns);
      this.freshIndex.delete(v.b.ns);
    }
    return out;
  }

  /** Both ends are created directly inside their namespaces: the host never holds them. */
  async addVeths(veths: VethSpec[]): Promise<void> {
    if (veths.length === 0) return;
    const indexes = this.vethIndexes(veths);
    await ipBatch(
      veths.map((v) => {
        const mtu = v.mtu ? ` mtu ${v.mtu}` : '';
        const amac = v.a.mac ? ` address ${v.a.mac}` : '';
        const bmac = v.b.mac ? ` address ${v.b.mac}` : '';
        const [ai, bi] = indexes.get(v)!;
        const aidx = ai ? ` index ${ai}` : '';
        const bidx = bi ? ` index ${bi}` : '';
        return (
          `link add ${v.a.ifname}${aidx}${amac}${mtu} netns ${v.a.ns}${v.aUp ? ' up' : ''} type veth ` +
          `peer name ${v.b.ifname}${bidx}${bmac}${mtu} netns ${v.b.ns}`
        );
      }),
    );
  }

  /**
   * Every namespace's script, `concurrency` namespaces at a time (kernel/runner.ts): per
   * namespace its sysctls and `ip -batch`, `tc -batch`, `nft -f` as needed (script.ts); wave
   * by wave.
   * Returns the interfaces of the namespaces whose script asked to report them.
   */
  async applyScripts(scripts: Map<string, NsScript>): Promise<Map<string, LinkState[]>> {
    const waves = new Map<number, NsJob[]>();
    for (const [ns, s] of scripts) {
      const job = nsJob(ns, s, this.netlink);
      if (!job) continue;
      const wave = s.wave ?? 0;
      if (!waves.has(wave)) waves.set(wave, []);
      waves.get(wave)!.push(job);
    }
    const reported = new Map<string, LinkState[]>();
    for (const wave of [...waves.keys()].sort((x, y) => x - y)) {
      const outputs = await runNsJobs(waves.get(wave)!, this.concurrency, nodeNamespaceFiles);
      for (const [ns, out] of outputs) {
        if (!scripts.get(ns)?.report) continue;
        // the link dump's replies (`L HEX`), or `link show`, ip's only command with output
        const lines = out.split('\n');
        const dump = lines.filter((l) => l.startsWith('L ')).map((l) => Buffer.from(l.slice(2), 'hex'));
        const json = lines.reverse().find((l) => l.startsWith('['));
        if (dump.length) reported.set(ns, decodeLinks(dump));
        else if (json) reported.set(ns, JSON.parse(json) as LinkState[]);
      }
    }
    return reported;
  }

  /** Every interface of each namespace (`ip -j link show`), read by the same few shells. */
  async linkStates(namespaces: string[]): Promise<Map<string, LinkState[]>> {
    const outputs = await runShellJobs(
      namespaces.map((ns) => ({ ns, text: `${nsenter(ns, 'ip -j link show')} || fail ${ns}`, cost: 1 })),
      this.concurrency,
    );
    const out = new Map<string, LinkState[]>();
    for (const ns of namespaces) out.set(ns, JSON.parse(outputs.get(ns)?.trim() || '[]') as LinkState[]);
    return out;
  }

  /**
   * A tool run inside a namespace that reads state or talks to a daemon (vtysh, fping, nft
   * list, conntrack ...): resolves with its output; throws on a non-zero exit unless
   * `check: false`. Programs that change kernel state have their own recorded methods.
   */
  tool(
    ns: string | undefined,
    cmd: string,
    args: string[],
    opts: Omit<RunOptions, 'ns'> = {},
  ): Promise<RunResult> {
    return Kernel.tool(ns, cmd, args, opts);
  }

  /**
   * The same for code that holds no Kernel: the CLI acting on a running simulation from
   * another shell knows only its state file (e.g. `netsim check` running fping).
   */
  static tool(
    ns: string | undefined,
    cmd: string,
    args: string[],
    opts: Omit<RunOptions, 'ns'> = {},
  ): Promise<RunResult> {
    return run(cmd, args, { ...opts, ns });
  }

  ip(ns: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return run('ip', args, { ...opts, ns });
  }

  /** Parsed `ip -j` output. */
  async ipJson<T = unknown>(ns: string, args: string[]): Promise<T> {
    const res = await run('ip', ['-j', ...args], { ns });
    return JSON.parse(res.stdout || '[]') as T;
  }

  async nsIpBatch(ns: string, lines: string[]): Promise<void> {
    if (lines.length) await run('ip', ['-batch', '-'], { ns, input: `${lines.join('\n')}\n` });
  }

  async tcBatch(ns: string, lines: string[], check = true): Promise<RunResult> {
    return run('tc', ['-batch', '-'], { ns, input: `${lines.join('\n')}\n`, check });
  }

  /** One atomic nftables transaction from libnftables JSON. */
  async nft(ns: string, commands: unknown[]): Promise<void> {
    await run('nft', ['-j', '-f', '-'], { ns, input: JSON.stringify({ nftables: commands }) });
  }

  async nftJson<T = unknown>(ns: string, args: string[]): Promise<T> {
    const res = await run('nft', ['-j', ...args], { ns });
    return JSON.parse(res.stdout) as T;
  }

  sysctl(ns: string, kv: Record<string, string>): Promise<RunResult> {
    return run('sysctl', ['-qw', ...Object.entries(kv).map(([k, v]) => `${k}=${v}`)], { ns });
  }

  /** A shell line inside a namespace; never throws on a non-zero exit. */
  exec(ns: string, line: string, opts: Omit<RunOptions, 'ns'> = {}): Promise<RunResult> {
    return sh(ns, line, opts);
  }

  /**
   * Starts a long-running process inside a namespace, recorded by PID and start time.
   * nsenter execs the command in place, so the PID we get is the daemon's own.
   */
  spawnDaemon(spec: DaemonSpec): number {
    const fd = openSync(spec.logFile, 'a');
    try {
      const child = spawnIn(spec.ns, [spec.cmd, ...spec.args], {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: { ...process.env, ...spec.env },
      });
      if (child.pid === undefined) throw new KernelError(`spawn ${spec.cmd}`, 1, 'no pid');
      child.unref();
      this.recordProcess(child.pid, spec.ns, `${spec.cmd} ${spec.args.join(' ')}`);
      return child.pid;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * A short-lived process inside a namespace (recorded like a daemon, so teardown ends it if
   * it is still running), with a promise of its exit status: e.g. one burst of generated traffic.
   */
  spawnTracked(spec: DaemonSpec): { pid: number; exited: Promise<number | null> } {
    const fd = openSync(spec.logFile, 'a');
    try {
      const child = spawnIn(spec.ns, [spec.cmd, ...spec.args], {
        stdio: ['ignore', fd, fd],
        env: { ...process.env, ...spec.env },
      });
      if (child.pid === undefined) throw new KernelError(`spawn ${spec.cmd}`, 1, 'no pid');
      this.recordProcess(child.pid, spec.ns, `${spec.cmd} ${spec.args.join(' ')}`);
      const exited = new Promise<number | null>((resolve) => {
        child.on('exit', (code) => resolve(code));
        child.on('error', () => resolve(null));
      });
      return { pid: child.pid, exited };
    } finally {
      closeSync(fd);
    }
  }

  /** A process whose output is collected while it runs (`nft monitor trace`), recorded like a daemon. */
  monitor(ns: string, argv: string[]): MonitorProcess {
    const child = spawnIn(ns, argv, { stdio: ['ignore', 'pipe', 'ignore'] });
    if (child.pid !== undefined) this.recordProcess(child.pid, ns, argv.join(' '));
    return new MonitorProcess(ns, child);
  }

  /** Records a process started by other means (e.g. a daemon that wrote a pid file). */
  recordProcess(pid: number, ns: string | undefined, cmd: string): void {
    const start = processStartTime(pid) ?? '';
    this.ledger.append([{ t: 'proc', pid, start, ns, cmd }]);
  }

  /**
   * Runs a CNI plugin (kernel/cni.ts). The directories it keeps state in (host-local's
   * dataDir) are recorded first, so teardown removes them even after kill -9.
   */
  cni(call: CniCall, stateDirs: string[] = []): Promise<{ result: unknown; trace: CniTrace }> {
    this.recordCniDirs(stateDirs);
    return execCni(call);
  }

  /** Many CNI calls at once (execCniMany): each call's result or CniError, in order. */
  cniMany(
    calls: CniCall[],
    stateDirs: string[] = [],
  ): Promise<({ result: unknown; trace: CniTrace } | CniError)[]> {
    this.recordCniDirs(stateDirs);
    return execCniMany(calls);
  }

  private recordCniDirs(stateDirs: string[]): void {
    const fresh = stateDirs.filter((d) => !this.cniDirs.has(d));
    this.ledger.append(fresh.map((path) => ({ t: 'file' as const, path })));
    for (const d of fresh) this.cniDirs.add(d);
  }

  async stopProcesses(procs: { pid: number; start?: string }[]): Promise<void> {
    await Promise.all(procs.map((p) => stopProcess(p.pid, p.start)));
  }

  /** /etc/netns/<ns>/<file>s (recorded first), bound over /etc/<file> in the node's own mount namespace. */
  async writeNetnsFiles(files: { ns: string; file: string; content: string }[]): Promise<void> {
    this.ledger.append(files.map((f) => ({ t: 'file' as const, path: `${NETNS_ETC}/${f.ns}` })));
    await addFileMountNamespaces(writeEtcFiles(files));
  }

  removeNetnsFiles(namespaces: string[]): void {
    for (const ns of namespaces) rmSync(`${NETNS_ETC}/${ns}`, { recursive: true, force: true });
  }

  async deleteNamespaces(names: string[]): Promise<void> {
    await deleteNamespaces(names);
  }

  /** Kills what runs inside namespaces no ledger records, then deletes them (`clean --all`). */
  static removeUnrecordedNamespaces(names: string[]): Promise<void> {
    return removeUnrecordedNamespaces(names);
  }

  /** Processes still running whose network namespace is one of ours (found via /proc). */
  static processesInNamespaces(names: Set<string>): number[] {
    return processesInNamespaces(names);
  }

  static alive = (pid: number, start?: string): boolean => isAlive(pid, start);
}

async function ipBatch(lines: string[]): Promise<void> {
  await run('ip', ['-batch', '-'], { input: `${lines.join('\n')}\n` });
}
