// A worker: a host on the underlay that runs the pod network agent (flanneld's role) and the
// pods of its subnet behind its cni0 bridge. Its live object carries knetsim's verbs
// (createContainer/create_container, execContainer/exec_container, deleteContainer/...).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnIn } from '../../kernel/enter.js';
import { isRunning, processStartTime } from '../../kernel/proc.js';
import { SimNode } from '../../runtime/node.js';
import type { Simulation } from '../../runtime/simulation.js';
import { formatIp } from '../../util/ipv4.js';
import { formatIp6 } from '../../util/ipv6.js';
import { sleep } from '../../util/wait.js';
import type { FrrInstance } from '../frr/instance.js';
import { WorkerCni } from './cni/runtime.js';
import {
  DEFAULT_LEASE_TTL_S,
  DEFAULT_RENEW_MARGIN_S,
  parseSubnetEnv,
  type SubnetEnv,
  vxlanDevice,
  vxlanDevice6,
} from './flannel.js';
import { BRIDGE, type PodNode } from './pod.js';
import type { ClusterConfig } from './spec.js';

const here = dirname(fileURLToPath(import.meta.url));
export const AGENT_MAIN = join(here, 'agent', 'main.js');
export const DNS_MAIN = join(here, 'agent', 'dns.js');
/**
 * V8 settings that keep the agent small: a 1 MB young generation and no background GC or
 * compiler tasks (--single-threaded: their threads' stacks and malloc arenas cost ~2 MB of RSS;
 * on a heap this small a scavenge on the main thread takes well under a millisecond). The old
 * space may grow (kube-proxy's view of 10,000 services takes ~100 MB). The optimizing compiler
 * stays on: without it (--lite-mode) the agent was ~5 MiB smaller on the default scenario
 * (48.9 vs 53.9 MiB), but kube-proxy's full sync of 10,000 services took ~2.0 s instead of
 * ~1.5 s, mostly rendering and encoding run by the interpreter. The baseline compiler
 * (Sparkplug) is off: the code it touches in the node binary was 0.6-0.8 MiB of each agent's
 * RSS (1,000 pods: max 57.3 -> 56.5 MiB), and the full sync, which the optimizing compiler
 * carries, took the same (1,534 vs 1,555-1,581 ms at 10,000 services).
 */
export const AGENT_NODE_FLAGS = [
  '--max-semi-space-size=1',
  '--max-old-space-size=1024',
  '--single-threaded',
  '--no-sparkplug',
];

/** A random locally administered unicast MAC. */
function localMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0] & 0xfc) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export interface ExecOptions {
  /** stream the output to this function (or to the terminal with true) instead of collecting it */
  stream?: boolean | ((chunk: string) => void);
  /** start it in the background (recorded in the ledger, stopped at teardown); resolves with its PID */
  background?: boolean;
  timeoutMs?: number;
}

/**
 * What a worker asks of its cluster: the Cluster object (cluster.ts) has these, and this
 * interface keeps the two modules from importing each other.
 */
export interface WorkerCluster {
  readonly name: string;
  localPods(): PodNode[];
  createPods(
    reqs: { name: string; worker: string; labels?: Record<string, string>; command?: string }[],
  ): Promise<PodNode[]>;
  deletePod(name: string): Promise<void>;
}

export class WorkerNode extends SimNode<Simulation> {
  private agent?: { pid: number; start?: string };
  private bridgeFor?: number;
  /** the child of a streaming exec (Ctrl-C in the REPL interrupts it) */
  foreground?: ReturnType<typeof spawnIn>;
  /** zebra and bgpd, when the cluster announces pod subnets over BGP */
  frr?: FrrInstance;
  private cniRuntime?: WorkerCni;

  /** The worker's CNI runtime (its conflist, host-local's leases, the last call per pod). */
  get cni(): WorkerCni {
    this.cniRuntime ??= new WorkerCni(this.sim.kernel, this.name, this.ns, this.dir);
    return this.cniRuntime;
  }

  /** Lines typed in the worker find its own vtysh first (a BGP worker's FRR). */
  override shellLine(line: string): string {
    return this.frr ? `PATH='${join(this.frr.dir, 'bin')}':"$PATH"; ${line}` : line;
  }

  get config(): ClusterConfig {
    return this.model.spec.clusterConfig as ClusterConfig;
  }

  /** The cluster object (cluster.ts), seen through what a worker asks of it. */
  get cluster(): WorkerCluster {
    return this.sim.objects.get(this.config.name) as WorkerCluster;
  }

  get dir(): string {
    return join(this.sim.dir, 'workers', this.name);
  }

  get subnetFile(): string {
    return join(this.dir, 'subnet.env');
  }

  get agentLog(): string {
    return join(this.dir, 'agent.log');
  }

  /** The underlay interface: the one with the worker's public IP. */
  get underlayIface(): string {
    return this.model.ifaces.find((i) => i.addr)!.name;
  }

  get vxlanDevice(): string {
    return vxlanDevice(this.config.vni);
  }

  /** flannel-v6.<VNI> in a dual-stack cluster */
  get vxlanDevice6(): string | undefined {
    return this.config.podCidr6 ? vxlanDevice6(this.config.vni) : undefined;
  }

  /** The worker's underlay IPv6 address (flannel-v6's local end), when the underlay has IPv6. */
  get underlayIp6(): string | undefined {
    const a = this.model.ifaces.find((i) => i.addr6)?.addr6;
    return a ? formatIp6(a.ip) : undefined;
  }

  get agentPid(): number | undefined {
    return this.agentRunning ? this.agent?.pid : undefined;
  }

  get agentRunning(): boolean {
    return this.agent !== undefined && isRunning(this.agent.pid, this.agent.start);
  }

  /** The agent's command line (node with small-heap flags, then the agent's own flags). */
  agentArgv(): string[] {
    const c = this.config;
    const members = c.etcd.map((n) => this.sim.node(n).ip).map((ip) => `http://${ip}:2379`);
    return [
      ...AGENT_NODE_FLAGS,
      AGENT_MAIN,
      `--etcd-endpoints=${members.join(',')}`,
      `--etcd-prefix=${c.prefix}`,
      `--public-ip=${this.ip}`,
      ...(c.podCidr6 && this.underlayIp6 ? [`--public-ip6=${this.underlayIp6}`] : []),
      `--iface=${this.underlayIface}`,
      `--subnet-file=${this.subnetFile}`,
      `--lease-ttl=${c.leaseTtl ?? DEFAULT_LEASE_TTL_S}`,
      `--renew-margin=${c.leaseRenewMargin ?? Math.min(DEFAULT_RENEW_MARGIN_S, Math.floor((c.leaseTtl ?? DEFAULT_LEASE_TTL_S) / 2))}`,
      `--name=${this.name}`,
      '--proxy',
    ];
  }

  /** Starts the agent inside the worker's namespace (recorded by PID and start time). */
  startAgent(): number {
    if (this.agentRunning) return this.agent!.pid;
    mkdirSync(this.dir, { recursive: true });
    const pid = this.sim.kernel.spawnDaemon({
      ns: this.ns,
      cmd: process.execPath,
      args: this.agentArgv(),
      logFile: this.agentLog,
    });
    this.agent = { pid, start: processStartTime(pid) };
    return pid;
  }

  /** Stops the agent (SIGTERM): its lease stays in etcd, the kernel state stays as it is. */
  async stopAgent(): Promise<void> {
    if (this.agent) await this.sim.kernel.stopProcesses([this.agent]);
    this.agent = undefined;
  }

  /** Kills the agent (SIGKILL: a crash). */
  async killAgent(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.agent || !this.agentRunning) throw new Error(`${this.name}: the agent is not running`);
    try {
      process.kill(this.agent.pid, signal);
    } catch {
      /* gone meanwhile */
    }
    for (let i = 0; i < 100 && this.agentRunning; i++) await sleep(20);
  }

  /** What the agent wrote to subnet.env (undefined before it has a lease). */
  subnet(): SubnetEnv | undefined {
    if (!existsSync(this.subnetFile)) return undefined;
    return parseSubnetEnv(readFileSync(this.subnetFile, 'utf8'));
  }

  /** Waits until the agent holds a lease and has written subnet.env; makes cni0 for it. */
  async waitReady(timeoutMs = 30000): Promise<SubnetEnv> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const env = this.subnet();
      if (env) {
        await this.ensureBridge(env);
        if (this.config.cni) this.cni.install();
        return env;
      }
      if (!this.agentRunning)
        throw new Error(`${this.name}: the pod network agent is not running:\n${this.agentTail()}`);
      if (Date.now() > deadline)
        throw new Error(`${this.name}: no subnet lease after ${timeoutMs / 1000} s:\n${this.agentTail()}`);
      await sleep(20);
    }
  }

  /** The bridge pods attach to, holding the first address of the worker's subnet (CNI's job). */
  private async ensureBridge(env: SubnetEnv): Promise<void> {
    if (this.bridgeFor === env.subnet.ip) return;
    const addr = `${formatIp(env.subnet.ip)}/${env.subnet.prefix}`;
    // dual stack: the IPv6 gateway too (nodad: pods' default route works at once)
    const addr6 = env.subnet6
      ? `ip addr replace ${formatIp6(env.subnet6.ip)}/${env.subnet6.prefix} dev ${BRIDGE} nodad && `
      : '';
    const res = await this.sim.kernel.exec(
      this.ns,
      // a MAC of its own: a bridge without one takes its lowest port's, which changes as pods
      // come, and CNI CHECK compares it with the MAC bridge reported at ADD
      `ip link show ${BRIDGE} >/dev/null 2>&1 || ip link add ${BRIDGE} address ${localMac()} type bridge forward_delay 0 mcast_snooping 0; ` +
        `ip addr replace ${addr} dev ${BRIDGE} && ${addr6}ip link set ${BRIDGE} mtu ${env.mtu} up && ` +
        // ClusterIPs need a route for the packet to reach kube-proxy's forward/output hooks
        // (a real node has its default route); what kube-proxy does not DNAT it rejects there
        `ip route replace ${this.config.serviceCidr} dev ${BRIDGE}` +
        (this.config.serviceCidr6 ? ` && ip -6 route replace ${this.config.serviceCidr6} dev ${BRIDGE}` : ''),
    );
    if (res.exitCode !== 0) throw new Error(`${this.name}: cannot set up ${BRIDGE}: ${res.stderr.trim()}`);
    this.bridgeFor = env.subnet.ip;
  }

  /** The agent's last log lines. */
  agentTail(lines = 12): string {
    if (!existsSync(this.agentLog)) return '  (no agent log)';
    return readFileSync(this.agentLog, 'utf8')
      .trim()
      .split('\n')
      .slice(-lines)
      .map((l) => `  ${l}`)
      .join('\n');
  }

  /**
   * A reboot of the worker's pod network: the agent stops, the VTEP and subnet.env go; a new
   * agent finds the worker's lease again by its public IP and rebuilds the VTEP. Pods stay.
   */
  async restart(): Promise<SubnetEnv> {
    await this.stopAgent();
    for (const dev of [this.vxlanDevice, this.vxlanDevice6].filter((d) => d !== undefined))
      await this.sim.kernel.exec(this.ns, `ip link del ${dev} 2>/dev/null; true`);
    rmSync(this.subnetFile, { force: true });
    return this.startAgentAndWait();
  }

  /** Starts the agent again after a kill or stop; resolves when it has resynced the VTEP. */
  async startAgentAndWait(timeoutMs = 30000): Promise<SubnetEnv> {
    const offset = existsSync(this.agentLog) ? statSync(this.agentLog).size : 0;
    this.startAgent();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = existsSync(this.agentLog) ? readFileSync(this.agentLog).subarray(offset).toString() : '';
      if (/: ready: /.test(text)) return this.waitReady();
      if (!this.agentRunning) throw new Error(`${this.name}: the agent exited:\n${this.agentTail()}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: agent not ready in ${timeoutMs / 1000} s`);
      await sleep(20);
    }
  }

  // ---- pods on this worker (knetsim's verbs, camelCase and snake_case) ----

  /** Pods running here. */
  pods(): PodNode[] {
    return this.cluster.localPods().filter((p) => p.worker === this.name);
  }

  async createContainer(
    name: string,
    opts: { labels?: Record<string, string>; command?: string } = {},
  ): Promise<PodNode> {
    const [pod] = await this.cluster.createPods([{ name, worker: this.name, ...opts }]);
    return pod;
  }

  async deleteContainer(name: string): Promise<void> {
    const pod = this.podHere(name);
    await this.cluster.deletePod(pod.name);
  }

  /** Runs a shell line in a pod of this worker; resolves with its output (stdout then stderr). */
  async execContainer(name: string, cmd: string, opts: ExecOptions = {}): Promise<string> {
    const pod = this.podHere(name);
    if (opts.background) {
      const logFile = join(this.sim.dir, 'pods', `${pod.name}.bg.log`);
      mkdirSync(dirname(logFile), { recursive: true });
      const pid = this.sim.kernel.spawnDaemon({ ns: pod.ns, cmd: 'sh', args: ['-c', cmd], logFile });
      return `started in ${pod.name}: pid ${pid}, output in ${logFile}`;
    }
    if (opts.stream) {
      const write = typeof opts.stream === 'function' ? opts.stream : (t: string) => process.stdout.write(t);
      let out = '';
      const collect = (text: string) => {
        out += text;
        write(text);
      };
      await this.streamContainer(name, cmd, { out: collect, err: collect });
      return out;
    }
    const r = await pod.exec(cmd, { timeoutMs: opts.timeoutMs });
    return r.stdout + r.stderr;
  }

  /**
   * Runs a shell line in a pod of this worker in the foreground, its output streamed as it
   * comes (Ctrl-C in the REPL interrupts it through interrupt()); resolves with its exit status.
   */
  streamContainer(name: string, cmd: string, io: { out: (t: string) => void; err: (t: string) => void }) {
    const pod = this.podHere(name);
    return new Promise<number>((resolve) => {
      // its own process group, so an interrupt reaches whatever the line started
      const child = spawnIn(pod.ns, ['sh', '-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      this.foreground = child;
      child.stdout?.on('data', (d: Buffer) => io.out(d.toString()));
      child.stderr?.on('data', (d: Buffer) => io.err(d.toString()));
      child.on('error', (e) => io.err(`*** ${e.message}\n`));
      child.on('close', (code, signal) => {
        this.foreground = undefined;
        resolve(code ?? (signal ? 130 : 1));
      });
    });
  }

  /** Interrupts a streaming execContainer (what Ctrl-C does in the REPL). */
  interrupt(): boolean {
    const c = this.foreground;
    if (!c?.pid) return false;
    try {
      process.kill(-c.pid, 'SIGINT');
    } catch {
      c.kill('SIGINT');
    }
    return true;
  }

  create_container(name: string, opts?: { labels?: Record<string, string>; command?: string }) {
    return this.createContainer(name, opts);
  }

  delete_container(name: string) {
    return this.deleteContainer(name);
  }

  exec_container(name: string, cmd: string, opts?: ExecOptions) {
    return this.execContainer(name, cmd, opts);
  }

  private podHere(name: string): PodNode {
    const pod = this.cluster.localPods().find((p) => p.name === name);
    if (!pod)
      throw new Error(
        `no pod "${name}" on ${this.name} (its pods: ${
          this.pods()
            .map((p) => p.name)
            .join(', ') || 'none'
        })`,
      );
    if (pod.worker !== this.name) throw new Error(`pod "${name}" runs on ${pod.worker}, not on ${this.name}`);
    return pod;
  }
}
