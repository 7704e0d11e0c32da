// One router's FRR: its directory (frr.conf, pid files, vty and zserv sockets, logs, owned
// by user frr), and its daemons run in the foreground through the kernel layer, so each
// PID is known and recorded in the ledger before anything else happens.
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Kernel } from '../../kernel/kernel.js';
import { isAlive, isRunning, processStartTime } from '../../kernel/proc.js';
import { sleep, waitFor } from '../../util/wait.js';
import {
  type DaemonRun,
  daemonArgv,
  type FrrPaths,
  type FrrSetup,
  frrPaths,
  runId,
  vtySocket,
} from './daemons.js';

interface Running {
  run: DaemonRun;
  pid: number;
  start?: string;
}

/** uid/gid of user and group frr (the daemons drop to them). */
export function frrUser(): { uid: number; gid: number } {
  const passwd = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('frr:'));
  if (!passwd) throw new Error('there is no user frr: install FRR (apt-get install frr, or bin/setup)');
  const f = passwd.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

/** FRR's own state directory (Debian: --localstatedir=/var/run/frr) */
const FRR_STATE_DIR = '/var/run/frr';

export class FrrInstance {
  readonly paths: FrrPaths;
  private readonly running = new Map<string, Running>();
  /** lines of frr.conf that FRR rejected (`line N: % Unknown command: ...`) */
  readonly configWarnings: string[] = [];

  constructor(
    readonly kernel: Kernel,
    /** the router's name, for messages */
    readonly name: string,
    readonly ns: string,
    dir: string,
    /** -N: names this instance in ps and in FRR's own messages */
    readonly pathspace: string,
    readonly setup: FrrSetup,
  ) {
    this.paths = frrPaths(dir);
  }

  get dir(): string {
    return this.paths.dir;
  }

  /** Every daemon (instance) this router runs, by id: zebra, ospfd, ospfd-2, bgpd... */
  get runIds(): string[] {
    return this.setup.daemons.runs.map(runId);
  }

  /** The directory, the config the daemons read, and a vtysh that finds this router's daemons. */
  prepare(): void {
    const { uid, gid } = frrUser();
    mkdirSync(this.dir, { recursive: true });
    mkdirSync(join(this.dir, 'bin'), { recursive: true });
    // the daemons read it after dropping to user frr: a copy they own, byte for byte the user's
    if (this.setup.configFile) copyFileSync(this.setup.configFile, this.paths.config);
    else writeFileSync(this.paths.config, this.setup.config);
    writeFileSync(this.paths.empty, '');
    // vtysh reads it (pager, hostname settings) and warns on every call without one
    writeFileSync(join(this.dir, 'vtysh.conf'), '');
    const vtysh = join(this.dir, 'bin', 'vtysh');
    writeFileSync(
      vtysh,
      `#!/bin/sh\n# this router's daemons, not the host's\nexec /usr/bin/vtysh --vty_socket '${this.dir}' --config_dir '${this.dir}' "$@"\n`,
    );
    chmodSync(vtysh, 0o755);
    for (const p of [this.dir, this.paths.config, this.paths.empty]) chownSync(p, uid, gid);
    // -N makes FRR create /var/run/frr/<pathspace>: recorded so teardown and clean remove it
    this.kernel.ledger.append([{ t: 'file', path: join(FRR_STATE_DIR, this.pathspace) }]);
    chmodSync(this.dir, 0o755);
    chmodSync(this.paths.config, 0o640);
  }

  isRunning(id: string): boolean {
    const r = this.running.get(id);
    return r !== undefined && isRunning(r.pid, r.start);
  }

  pidOf(id: string): number | undefined {
    return this.isRunning(id) ? this.running.get(id)!.pid : undefined;
  }

  status(): { id: string; pid?: number; running: boolean }[] {
    return this.runIds.map((id) => ({ id, pid: this.pidOf(id), running: this.isRunning(id) }));
  }

  /**
   * Starts the daemons that are not running (all, or those named): zebra first, since the
   * others connect to its zserv socket, then the rest together; resolves when each one
   * listens on its vty socket. Starting zebra again restarts the daemons that outlived it, as
   * watchfrr does: FRR 8.4's ospfd and staticd reconnect to a new zebra only after ~10 s, and
   * ospfd then sends it none of its routes (measured: none within a minute), so the kernel
   * would keep whatever the dead zebra had left there.
   */
  async start(ids?: string[], timeoutMs = 10000): Promise<string[]> {
    let wanted = this.pick(ids).filter((r) => !this.isRunning(runId(r)));
    const zebra = wanted.find((r) => r.daemon === 'zebra');
    if (zebra) {
      const orphans = this.setup.daemons.runs.filter((r) => r !== zebra && this.isRunning(runId(r)));
      if (orphans.length) await this.stop(orphans.map(runId));
      wanted = [...wanted, ...orphans];
      rmSync(this.paths.zserv, { force: true });
      this.spawn(zebra);
      await this.waitForSockets(zebra, [this.paths.zserv, vtySocket(this.paths, zebra)], timeoutMs);
    } else if (wanted.length && !this.isRunning('zebra')) {
      throw new Error(`${this.name}: zebra is not running; start it first (the other daemons talk to it)`);
    }
    const rest = wanted.filter((r) => r !== zebra);
    for (const r of rest) this.spawn(r);
    await Promise.all(rest.map((r) => this.waitForSockets(r, [vtySocket(this.paths, r)], timeoutMs)));
    if (wanted.length)
      await this.applyConfig(wanted.length === this.setup.daemons.runs.length ? undefined : wanted);
    return wanted.map(runId);
  }

  /**
   * frr.conf into the running daemons (all, or those just restarted), the way FRR's init
   * script does it: `vtysh -b` sends each line to the daemons that know it. Lines no daemon
   * accepts are reported and skipped, as FRR does; they are kept in `configWarnings`.
   */
  private async applyConfig(only?: DaemonRun[]): Promise<void> {
    const daemons = only ? [...new Set(only.map((r) => r.daemon))] : [undefined];
    for (const d of daemons) {
      const args = ['--vty_socket', this.dir, '--config_dir', this.dir, '-b'];
      if (d) args.push('-d', d);
      const res = await this.kernel.tool(this.ns, 'vtysh', args, { check: false, timeoutMs: 30000 });
      const warnings = (res.stdout + res.stderr)
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => /^line \d+:/.test(l));
      if (res.exitCode !== 0 && warnings.length === 0)
        throw new Error(
          `${this.name}: vtysh -b could not apply frr.conf: ${(res.stderr || res.stdout).trim()}`,
        );
      for (const w of warnings) if (!this.configWarnings.includes(w)) this.configWarnings.push(w);
    }
    if (this.configWarnings.length)
      writeFileSync(join(this.dir, 'config-warnings.log'), `${this.configWarnings.join('\n')}\n`);
  }

  /** SIGTERM (then SIGKILL), the routing daemons before zebra so their routes are withdrawn. */
  async stop(ids?: string[]): Promise<string[]> {
    const wanted = this.pick(ids).filter((r) => this.isRunning(runId(r)));
    const stopIds = (rs: DaemonRun[]) =>
      this.kernel.stopProcesses(
        rs.map((r) => this.running.get(runId(r))!).map(({ pid, start }) => ({ pid, start })),
      );
    await stopIds(wanted.filter((r) => r.daemon !== 'zebra'));
    await stopIds(wanted.filter((r) => r.daemon === 'zebra'));
    for (const r of wanted) this.running.delete(runId(r));
    return wanted.map(runId);
  }

  /** Sends a signal to one daemon (default SIGKILL: a crash, nothing withdrawn). */
  async kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const r = this.running.get(id);
    if (!this.runIds.includes(id))
      throw new Error(`${this.name} runs no ${id} (it runs ${this.runIds.join(', ')})`);
    if (!r || !this.isRunning(id)) throw new Error(`${id} is not running`);
    // only if the PID still belongs to the daemon we started (never a recycled PID)
    if (isAlive(r.pid, r.start)) process.kill(r.pid, signal);
    // gone, or still dying after 2 s: either way the caller looks at isRunning next
    await waitFor(() => !this.isRunning(id), { timeoutMs: 2000, intervalMs: 20 }).catch(() => undefined);
  }

  private pick(ids?: string[]): DaemonRun[] {
    const runs = this.setup.daemons.runs;
    if (!ids?.length) return runs;
    const unknown = ids.filter((id) => !runs.some((r) => runId(r) === id || r.daemon === id));
    if (unknown.length)
      throw new Error(`${this.name} runs no ${unknown.join(', ')} (it runs ${this.runIds.join(', ')})`);
    return runs.filter((r) => ids.includes(runId(r)) || ids.includes(r.daemon));
  }

  private spawn(run: DaemonRun): void {
    const id = runId(run);
    rmSync(vtySocket(this.paths, run), { force: true });
    rmSync(join(this.dir, `${id}.pid`), { force: true });
    const [cmd, ...args] = daemonArgv(run, this.paths, this.pathspace, this.setup.daemons);
    const pid = this.kernel.spawnDaemon({ ns: this.ns, cmd, args, logFile: join(this.dir, `${id}.out`) });
    this.running.set(id, { run, pid, start: processStartTime(pid) });
  }

  private async waitForSockets(run: DaemonRun, files: string[], timeoutMs: number): Promise<void> {
    const id = runId(run);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (files.every((f) => existsSync(f))) return;
      if (!this.isRunning(id)) throw new Error(`${this.name}: ${id} exited at start:\n${this.tail(id)}`);
      if (Date.now() > deadline)
        throw new Error(
          `${this.name}: ${id} did not open ${files.join(', ')} within ${timeoutMs} ms:\n${this.tail(id)}`,
        );
      await sleep(10);
    }
  }

  /** The last lines a daemon printed (its stdout/stderr and its log). */
  tail(id: string, lines = 15): string {
    const out: string[] = [];
    for (const f of [`${id}.out`, `${id}.log`]) {
      const p = join(this.dir, f);
      if (!existsSync(p)) continue;
      const text = readFileSync(p, 'utf8').trim();
      if (text)
        out.push(
          ...text
            .split('\n')
            .slice(-lines)
            .map((l) => `  ${f}: ${l}`),
        );
    }
    return out.join('\n') || '  (no output)';
  }

  /** Log files of this router's daemons. */
  logs(): string[] {
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.log'))
      .map((f) => join(this.dir, f));
  }
}
