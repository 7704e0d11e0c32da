// Pods replaying workload templates: the current sample of each series (read by /metrics at
// scrape time) and real traffic at the profile's rate (iperf3 UDP bursts from the pod).
//
// Series are keyed by pod name only. Where a pod runs (cluster, worker) is looked up when
// metrics are read, so a pod that moves (offloaded to another cluster: removed here, made
// again there under the same name) keeps its series, which then carry its new labels. While
// the pod is absent its series are not exported and its traffic pauses; if it does not
// come back within `absentGraceMs` its workload ends.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SimEvent } from '../../runtime/events.js';
import type { SimNode } from '../../runtime/node.js';
import { ObjectKey } from '../../runtime/objects.js';
import { groupOf } from '../../runtime/plugin.js';
import type { Simulation } from '../../runtime/simulation.js';
import { parseIp } from '../../util/ipv4.js';
import { sleep } from '../../util/wait.js';
import {
  readWorkload,
  SERIES,
  type SeriesName,
  type WorkloadTemplate,
  workloadFromObject,
} from './template.js';

export interface WorkloadSample {
  pod: string;
  workload: string;
  /** where the pod runs now */
  cluster?: string;
  node?: string;
  /** step within the template (0-based) and passes completed */
  step: number;
  pass: number;
  ended: boolean;
  values: Partial<Record<SeriesName, number>>;
  /** bits per second the pod is asked to send now (0 without traffic) */
  trafficBps: number;
  /** traffic bursts that ran to the end, and that failed */
  bursts: number;
  failedBursts: number;
}

const BASE_PORT = 5301;

class Active {
  stopped = false;
  bursts = 0;
  failedBursts = 0;
  absentSince?: number;
  private clientPid?: number;
  private serverPid?: { pid: number; ns: string };
  private loop?: Promise<void>;

  constructor(
    readonly sim: Simulation,
    readonly pod: string,
    readonly template: WorkloadTemplate,
    readonly startedAt: number,
    readonly port: number,
  ) {}

  /** The step at `now` and the seconds left in it; undefined once a non-looping profile ended. */
  position(now = performance.now()): { step: number; pass: number; left: number } | undefined {
    const t = Math.max(0, (now - this.startedAt) / 1000);
    const abs = Math.floor(t / this.template.step);
    const pass = Math.floor(abs / this.template.length);
    if (!this.template.loop && pass > 0) return undefined;
    return { step: abs % this.template.length, pass, left: (abs + 1) * this.template.step - t };
  }

  /** The pod while it exists (a pod deleted and made again is the same workload's pod). */
  podNode(): SimNode | undefined {
    const n = this.sim.nodes.get(this.pod);
    return n?.kind === 'pod' ? n : undefined;
  }

  startTraffic(): void {
    if (!this.template.traffic || this.loop) return;
    this.loop = this.trafficLoop().catch(() => {});
  }

  /** Where the traffic goes: the target pod's current address (it may have moved) or a literal IP. */
  private target(): { ip: string; ns?: string } | undefined {
    const to = this.template.traffic!.to;
    const n = this.sim.nodes.get(to);
    if (n?.ip) return { ip: n.ip, ns: n.ns };
    return parseIp(to) !== undefined ? { ip: to } : undefined;
  }

  private logFile(what: string): string {
    const dir = join(this.sim.dir, 'workloads');
    mkdirSync(dir, { recursive: true });
    return join(dir, `${this.pod}-${what}.log`);
  }

  /** An iperf3 server in the target pod (started again if the target moved). */
  private ensureServer(target: { ip: string; ns?: string }): void {
    if (!target.ns || this.serverPid?.ns === target.ns) return;
    if (this.serverPid) void this.sim.kernel.stopProcesses([{ pid: this.serverPid.pid }]);
    const pid = this.sim.kernel.spawnDaemon({
      ns: target.ns,
      cmd: 'iperf3',
      args: ['-s', '-p', String(this.port)],
      logFile: this.logFile('server'),
    });
    this.serverPid = { pid, ns: target.ns };
  }

  private async trafficLoop(): Promise<void> {
    const rates = this.template.traffic!.rate;
    let failedInRow = 0;
    while (!this.stopped) {
      const pos = this.position();
      if (!pos) break;
      const src = this.podNode();
      const target = this.target();
      const rate = rates[pos.step];
      if (!src || !target || rate <= 0 || pos.left < 1) {
        await sleep(Math.min(500, Math.max(50, pos.left * 1000)));
        continue;
      }
      this.ensureServer(target);
      // one burst of whole seconds for as long as the rate stays the same (at most 10 s), so
      // each step's rate holds for its length and few bursts start (each costs a handshake)
      let until = pos.left;
      for (let i = pos.step; until < 10; ) {
        if (!this.template.loop && i + 1 >= rates.length) break;
        i = (i + 1) % rates.length;
        if (rates[i] !== rate) break;
        until += this.template.step;
      }
      const secs = Math.max(1, Math.min(10, Math.floor(until)));
      const burst = this.sim.kernel.spawnTracked({
        ns: src.ns,
        cmd: 'iperf3',
        // UDP, 1200-byte datagrams: they fit a VXLAN pod network's MTU without fragments
        args: [
          ...['-c', target.ip, '-p', String(this.port), '-u', '-l', '1200'],
          ...['-b', String(Math.round(rate)), '-t', String(secs)],
        ],
        logFile: this.logFile('client'),
      });
      this.clientPid = burst.pid;
      const timer = setTimeout(
        () => void this.sim.kernel.stopProcesses([{ pid: burst.pid }]),
        (secs + 3) * 1000,
      );
      const code = await burst.exited;
      clearTimeout(timer);
      this.clientPid = undefined;
      if (code === 0) {
        this.bursts++;
        failedInRow = 0;
      } else {
        this.failedBursts++;
        // the server is not listening yet (or was busy): try again shortly
        await sleep(Math.min(2000, 100 * 2 ** Math.min(4, failedInRow++)));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const procs = [this.clientPid, this.serverPid?.pid].filter((p): p is number => p !== undefined);
    await this.sim.kernel.stopProcesses(procs.map((pid) => ({ pid })));
    await this.loop;
  }

  sample(now = performance.now()): WorkloadSample {
    const pos = this.position(now);
    const pod = this.podNode();
    const values: Partial<Record<SeriesName, number>> = {};
    if (pos)
      for (const s of SERIES) if (this.template.series[s]) values[s] = this.template.series[s]![pos.step];
    return {
      pod: this.pod,
      workload: this.template.name,
      cluster: pod && groupOf(this.sim, pod.name)?.name,
      node: pod && this.sim.parentOf(pod.name),
      step: pos?.step ?? this.template.length - 1,
      pass: pos?.pass ?? 1,
      ended: !pos,
      values,
      trafficBps: pos && this.template.traffic ? this.template.traffic.rate[pos.step] : 0,
      bursts: this.bursts,
      failedBursts: this.failedBursts,
    };
  }
}

export class Workloads {
  private readonly active = new Map<string, Active>();
  private nextPort = BASE_PORT;
  /** how long a pod may be gone (moving to another cluster) before its workload ends */
  absentGraceMs = 60000;

  constructor(readonly sim: Simulation) {
    sim.events.on((e) => this.onEvent(e));
  }

  private onEvent(e: SimEvent): void {
    if (e.type === 'down') void this.stopAll();
    if (e.type !== 'nodes') return;
    for (const name of e.removed) {
      const a = this.active.get(name);
      if (!a) continue;
      a.absentSince = performance.now();
      setTimeout(() => {
        if (a.absentSince !== undefined && !a.podNode()) void this.stop(name);
      }, this.absentGraceMs).unref();
    }
    for (const name of e.added) {
      const a = this.active.get(name);
      if (a) a.absentSince = undefined;
    }
  }

  /**
   * Starts a workload on a pod: a template file (YAML/JSON), or a template object. A pod that
   * already replays one switches to the new one.
   */
  async start(
    pod: string,
    template: string | WorkloadTemplate | Record<string, unknown>,
  ): Promise<WorkloadSample> {
    const node = this.sim.nodes.get(pod);
    if (node?.kind !== 'pod')
      throw new Error(
        `no pod "${pod}" (pods: ${
          [...this.sim.nodes.values()]
            .filter((n) => n.kind === 'pod')
            .map((n) => n.name)
            .join(', ') || 'none'
        })`,
      );
    const t =
      typeof template === 'string'
        ? readWorkload(template)
        : 'length' in template && 'file' in template
          ? (template as WorkloadTemplate)
          : workloadFromObject(template);
    if (t.traffic) {
      const to = t.traffic.to;
      const target = this.sim.nodes.get(to);
      if (!target?.ip && parseIp(to) === undefined)
        throw new Error(
          `${t.file}: traffic.to: "${to}" is neither a node of ${this.sim.name} nor an IPv4 address`,
        );
      if (target === node) throw new Error(`${t.file}: traffic.to: ${pod} cannot send traffic to itself`);
    }
    await this.stop(pod);
    const a = new Active(this.sim, pod, t, performance.now(), t.traffic?.port ?? this.nextPort++);
    this.active.set(pod, a);
    a.startTraffic();
    this.sim.events.emit({ type: 'workload', pod, state: 'started' });
    return a.sample();
  }

  async stop(pod: string): Promise<boolean> {
    const a = this.active.get(pod);
    if (!a) return false;
    this.active.delete(pod);
    await a.stop();
    this.sim.events.emit({ type: 'workload', pod, state: 'stopped' });
    return true;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.active.keys()].map((p) => this.stop(p)));
  }

  /** Current samples of every workload whose pod is present (what /metrics exports). */
  samples(now = performance.now()): WorkloadSample[] {
    return [...this.active.values()].filter((a) => a.podNode()).map((a) => a.sample(now));
  }

  get(pod: string): WorkloadSample | undefined {
    return this.active.get(pod)?.sample();
  }

  get size(): number {
    return this.active.size;
  }
}

const WORKLOADS = new ObjectKey<Workloads>('workloads');

/** The workloads of a simulation (made on first use). */
export function workloadsOf(sim: Simulation): Workloads {
  return sim.objects.state(WORKLOADS, () => new Workloads(sim));
}
