// One etcd member (Debian's etcd-server) in its own namespace on the simulated network. Peers
// and clients talk over the member's underlay address; the main process (the REPL, pod
// creation) reaches it through a Unix socket in the member's directory, so the host's own
// network is never joined to the simulation.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { isRunning, processStartTime } from '../../kernel/proc.js';
import { SimNode } from '../../runtime/node.js';
import type { Simulation } from '../../runtime/simulation.js';
import { sleep } from '../../util/wait.js';
import type { ClusterConfig } from './spec.js';

export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
export const ETCD_BIN = process.env.NETSIM_ETCD ?? '/usr/bin/etcd';
/** the socket file name etcd makes in its working directory for `unix://client:2379` */
const SOCKET_NAME = `client:${ETCD_CLIENT_PORT}`;

export class EtcdNode extends SimNode<Simulation> {
  private proc?: { pid: number; start?: string };

  constructor(sim: Simulation, model: SimNode['model']) {
    super(sim, model);
  }

  get config(): ClusterConfig {
    return this.model.spec.clusterConfig as ClusterConfig;
  }

  get clusterName(): string {
    return this.config.name;
  }

  get dir(): string {
    return join(this.sim.dir, 'etcd', this.name);
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  get logFile(): string {
    return join(this.dir, 'etcd.log');
  }

  /** The Unix socket the main process uses. */
  get socketPath(): string {
    return join(this.dir, SOCKET_NAME);
  }

  get clientUrl(): string {
    return `http://${this.ip}:${ETCD_CLIENT_PORT}`;
  }

  get peerUrl(): string {
    return `http://${this.ip}:${ETCD_PEER_PORT}`;
  }

  private members(): EtcdNode[] {
    return this.config.etcd.map((n) => this.sim.node(n) as EtcdNode);
  }

  /** etcdctl typed in the member talks to the whole cluster. */
  override shellLine(line: string): string {
    return `export ETCDCTL_API=3 ETCDCTL_ENDPOINTS='${this.members()
      .map((m) => m.clientUrl)
      .join(',')}'; ${line}`;
  }

  get pid(): number | undefined {
    return this.running ? this.proc?.pid : undefined;
  }

  get running(): boolean {
    return this.proc !== undefined && isRunning(this.proc.pid, this.proc.start);
  }

  /**
   * Starts the member; returns at once (the cluster needs a quorum of members before any of
   * them answers, so waiting happens at the cluster level). A restarted member rejoins from
   * its data directory.
   */
  start(): void {
    if (this.running) return;
    mkdirSync(this.dir, { recursive: true });
    rmSync(this.socketPath, { force: true });
    const initial = this.members()
      .map((m) => `${m.name}=${m.peerUrl}`)
      .join(',');
    const args = [
      `--name=${this.name}`,
      `--data-dir=${this.dataDir}`,
      `--listen-peer-urls=${this.peerUrl}`,
      `--initial-advertise-peer-urls=${this.peerUrl}`,
      `--listen-client-urls=${this.clientUrl},http://127.0.0.1:${ETCD_CLIENT_PORT},unix://${SOCKET_NAME}`,
      `--advertise-client-urls=${this.clientUrl}`,
      `--initial-cluster=${initial}`,
      `--initial-cluster-token=${this.sim.name}-${this.clusterName}`,
      '--initial-cluster-state=new',
      // a pod batch is one transaction: room for many compares and puts
      '--max-txn-ops=10000',
      '--logger=zap',
      '--log-outputs=stderr',
      '--log-level=warn',
    ];
    // the Unix socket is made relative to the working directory: cd there, then exec (same PID)
    const quoted = args.map((a) => `'${a}'`).join(' ');
    const pid = this.sim.kernel.spawnDaemon({
      ns: this.ns,
      cmd: 'sh',
      args: ['-c', `cd '${this.dir}' && exec ${ETCD_BIN} ${quoted}`],
      logFile: this.logFile,
    });
    this.proc = { pid, start: processStartTime(pid) };
  }

  async stop(): Promise<void> {
    if (!this.proc) return;
    await this.sim.kernel.stopProcesses([this.proc]);
    this.proc = undefined;
  }

  /** Kills the member (SIGKILL by default: a crash). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.proc || !this.running) throw new Error(`${this.name}: etcd is not running`);
    try {
      process.kill(this.proc.pid, signal);
    } catch {
      /* gone meanwhile */
    }
    for (let i = 0; i < 100 && this.running; i++) await sleep(20);
  }

  /** etcd's own /health over the member's Unix socket: true when it is part of a healthy quorum. */
  health(timeoutMs = 1000): Promise<boolean> {
    if (!existsSync(this.socketPath)) return Promise.resolve(false);
    return new Promise((resolve) => {
      const req = request(
        { socketPath: this.socketPath, path: '/health', timeout: timeoutMs, headers: { host: 'localhost' } },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => {
            body += d.toString();
          });
          res.on('end', () => {
            try {
              resolve((JSON.parse(body) as { health?: string }).health === 'true');
            } catch {
              resolve(false);
            }
          });
        },
      );
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
      req.end();
    });
  }

  /** The last lines etcd logged. */
  tail(lines = 15): string {
    if (!existsSync(this.logFile)) return '(no log)';
    return readFileSync(this.logFile, 'utf8').trim().split('\n').slice(-lines).join('\n');
  }
}
