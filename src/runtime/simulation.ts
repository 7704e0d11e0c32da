// A running simulation: builds the plan in phases (with progress and timings), owns the live
// node objects, and tears everything down through the ledger.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Features, probeFeatures } from '../kernel/features.js';
import { Kernel, type LinkState } from '../kernel/kernel.js';
import { Ledger } from '../kernel/ledger.js';
import { holdNeighThresholds } from '../kernel/neigh.js';
import { OWNER_ENV, ownerTag, processStartTime } from '../kernel/proc.js';
import { pool } from '../kernel/run.js';
import { kindOf } from '../model/kinds/registry.js';
import type { Family, Model } from '../model/model.js';
import { buildPlan, type Plan } from '../plan/plan.js';
import { sleep } from '../util/wait.js';
import { writeEtcHosts } from './etc-hosts.js';
import { SimEvents } from './events.js';
import { runExecLines } from './exec-lines.js';
import { runtimeOf } from './kind-runtime.js';
import { type LearnedAddrs, learnAddrs } from './learned.js';
import { SimNode } from './node.js';
import { SimObjects } from './objects.js';
import { ensureSimsDir, makeSimDir, runDir, simDir } from './paths.js';
import { type MatrixResult, type PingTarget, pingModel, pingPairOf, pingTargetsOf } from './ping.js';
import { clusterOf, ifaceState, isRunning, readState, type SimState, writeState } from './state.js';
import { teardownSim } from './teardown.js';

export interface UpOptions {
  /** progress lines ("[ 0.12s] namespaces: 201 ...") */
  log?: (line: string) => void;
  source?: string;
  /** aborts the build between phases (everything made so far is removed) */
  signal?: AbortSignal;
  /** internal: no UTS namespace per node (the benchmark measures what they cost) */
  uts?: boolean;
}

export interface PhaseTiming {
  phase: string;
  ms: number;
  count?: number;
}

export class Simulation {
  readonly nodes = new Map<string, SimNode<Simulation>>();
  /** what features keep for this simulation: named live objects (a cluster) and their state */
  readonly objects = new SimObjects();
  /** nodes made while running (pods) -> the node they live in */
  private readonly runtimeNodes = new Map<string, string | undefined>();
  private status: SimState['status'] = 'building';
  readonly timings: PhaseTiming[] = [];
  /** links up/down, pods made and removed, teardown: what the web view pushes to the page */
  readonly events = new SimEvents();
  readonly dir: string;
  readonly kernel: Kernel;
  features!: Features;
  private stopped = false;
  /** links taken down while running (the model keeps what the topology said) */
  private readonly downLinks = new Set<number>();
  /** the route lines planned for each namespace, replayed when a link comes back up */
  private plannedRoutes = new Map<string, string[]>();
  /** addresses the kernel has where the model has none (a lab's exec lines): learned.ts */
  private learned: LearnedAddrs = new Map();
  private learned6: LearnedAddrs = new Map();

  private constructor(
    readonly model: Model,
    private readonly opts: UpOptions,
  ) {
    this.dir = simDir(model.name);
    this.kernel = new Kernel(new Ledger(join(this.dir, 'ledger.jsonl')));
    this.kernel.uts = opts.uts ?? true;
    for (const l of model.links) if (l.spec.state === 'down') this.downLinks.add(l.index);
  }

  /** A link's state now: as the topology said, then as `setLink` changed it. */
  linkState(index: number): 'up' | 'down' {
    return this.downLinks.has(index) ? 'down' : 'up';
  }

  get name(): string {
    return this.model.name;
  }

  /** Builds the whole network. On any failure everything made so far is removed. */
  static async up(model: Model, opts: UpOptions = {}): Promise<Simulation> {
    await ensureSimsDir();
    const existing = readState(model.name);
    if (isRunning(existing)) {
      throw new Error(
        `simulation "${model.name}" is already running (pid ${existing!.pid}); stop it with "netsim down ${model.name}" or pick another --name`,
      );
    }
    if (existsSync(simDir(model.name))) await teardownSim(model.name); // leftovers of a crash
    const sim = new Simulation(model, opts);
    // carried by every process from here on: `netsim clean` finds those left after kill -9
    process.env[OWNER_ENV] = ownerTag();
    makeSimDir(model.name);
    sim.writeState('building');
    try {
      await sim.build();
    } catch (err) {
      await sim.down().catch(() => {});
      throw err;
    }
    return sim;
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  /**
   * One build phase, timed. A phase that runs longer than 2 s reports how far it got every
   * 2 s (items done out of `count`, elapsed time); `fn` counts items with `done()`.
   */
  private async phase<T>(
    name: string,
    count: number | undefined,
    fn: (done: () => void) => Promise<T>,
  ): Promise<T> {
    if (this.opts.signal?.aborted) throw new Error('build interrupted');
    const t0 = performance.now();
    let finished = 0;
    const progress = setInterval(() => {
      const s = ((performance.now() - t0) / 1000).toFixed(1);
      this.log(
        `  ${name.padEnd(12)} ${count !== undefined ? `${String(finished).padStart(5)}/${count}` : '     '}  ${s} s ...`,
      );
    }, 2000);
    progress.unref();
    let out: T;
    try {
      out = await fn(() => {
        finished++;
      });
    } finally {
      clearInterval(progress);
    }
    const ms = performance.now() - t0;
    this.timings.push({ phase: name, ms, count });
    this.log(
      `  ${name.padEnd(12)} ${count !== undefined ? String(count).padStart(5) : '     '}  ${ms.toFixed(0).padStart(6)} ms`,
    );
    return out;
  }

  private async build(): Promise<void> {
    const t0 = performance.now();
    const m = this.model;
    this.log(`building ${m.name}: ${m.nodes.size} nodes, ${m.links.length} links`);
    this.features = await this.phase('features', undefined, () =>
      probeFeatures(runDir(), `netsim-${m.name}--probe`),
    );
    // planning can still reject the topology (e.g. delay without netem): before anything exists
    const plan = buildPlan(m, this.features);
    for (const [ns, script] of plan.scripts) {
      const routes = script.ip.filter((l) => l.startsWith('route '));
      if (routes.length) this.plannedRoutes.set(ns, routes);
    }
    const neighNote = holdNeighThresholds(runDir(), m.name, { links: m.links.length });
    if (neighNote) this.log(`note: ${neighNote}`);
    for (const node of m.nodes.values()) {
      this.nodes.set(
        node.name,
        runtimeOf<Simulation>(node.kind).createRuntime?.(node, this) ?? new SimNode(this, node),
      );
    }
    const hosts = writeEtcHosts(this.dir, m);
    await this.phase('namespaces', plan.namespaces.length, () =>
      this.kernel.addNamespaces(plan.namespaces, plan.hostnames, plan.binds, hosts),
    );
    await this.phase('links', plan.veths.length, () => this.kernel.addVeths(plan.veths));
    const reported = await this.phase('configure', plan.scripts.size, () =>
      this.kernel.applyScripts(plan.scripts),
    );
    await this.phase('carrier', m.links.length, () => this.waitCarrier(reported));
    const starters = [...this.nodes.values()].filter((n) => runtimeOf<Simulation>(n.kind).start);
    if (starters.length) {
      await this.phase('daemons', starters.length, (done) =>
        pool(starters, 8, async (n) => {
          await runtimeOf<Simulation>(n.kind).start!(n, this);
          done();
        }),
      );
    }
    const execs = [...m.nodes.values()].filter((n) => Array.isArray(n.spec.exec) && n.spec.exec.length);
    if (execs.length) {
      await this.phase('exec', execs.length, (done) =>
        pool(execs, 8, async (n) => {
          const node = this.node(n.name);
          await runExecLines(
            n.name,
            n.spec.exec as string[],
            (l) => node.exec(l),
            join(this.dir, `exec-${n.name}.log`),
            (w) => this.log(w),
          );
          done();
        }),
      );
    }
    ({ v4: this.learned, v6: this.learned6 } = await learnAddrs(m.nodes.values(), m.families));
    writeEtcHosts(this.dir, m, this.learned, hosts); // the nodes' /etc/hosts again, with learned addresses
    this.writeState('ready');
    this.log(`ready in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  }

  /** Veth carriers come up asynchronously; wait until every enabled link reports it. */
  private async waitCarrier(reported = new Map<string, LinkState[]>(), timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // the switch ports are where traffic first gets dropped while the carrier is down
    let watched = [...this.model.nodes.values()].filter(
      (n) => n.ifaces.length > 0 && kindOf(n.kind).bridging,
    );
    // all watched namespaces are read in one go, then again only those still waiting
    while (watched.length) {
      // the first round uses what the bridges reported as their scripts ended
      const unread = watched.filter((n) => !reported.has(n.ns)).map((n) => n.ns);
      const states = new Map([...reported, ...(await this.kernel.linkStates(unread))]);
      reported = new Map();
      const stillWaiting: string[] = [];
      watched = watched.filter((node) => {
        const waiting = (states.get(node.ns) ?? []).filter(
          (l) =>
            l.flags.includes('UP') &&
            l.ifname !== 'lo' &&
            node.ifaces.some((i) => i.name === l.ifname) &&
            // the carrier flag is set at once, but a bridge only enables the port when the
            // kernel's link watcher has seen it (operstate), which can lag behind
            (!l.flags.includes('LOWER_UP') || (l.operstate !== 'UP' && l.operstate !== 'UNKNOWN')),
        );
        if (waiting.length) stillWaiting.push(`${node.name}: ${waiting.map((l) => l.ifname).join(', ')}`);
        return waiting.length > 0;
      });
      if (watched.length === 0) break;
      if (Date.now() > deadline) throw new Error(`no carrier on ${stillWaiting.join('; ')}`);
      await sleep(10);
    }
  }

  node(name: string): SimNode<Simulation> {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node named "${name}" (nodes: ${[...this.nodes.keys()].join(', ')})`);
    return n;
  }

  /** Links between two nodes (there may be several). */
  linksBetween(a: string, b: string) {
    return this.model.links.filter(
      (l) => (l.ends[0].node === a && l.ends[1].node === b) || (l.ends[0].node === b && l.ends[1].node === a),
    );
  }

  /** `link a b up|down`: both ends, as Mininet does. */
  async setLink(a: string, b: string, state: 'up' | 'down'): Promise<number> {
    this.node(a);
    this.node(b);
    const links = this.linksBetween(a, b);
    if (links.length === 0) throw new Error(`no link between ${a} and ${b}`);
    await Promise.all(
      links.flatMap((l) =>
        l.ends.map((e) => this.kernel.ip(this.node(e.node).ns, ['link', 'set', e.name, state])),
      ),
    );
    for (const l of links) {
      if (state === 'down') this.downLinks.add(l.index);
      else this.downLinks.delete(l.index);
    }
    this.events.emit({ type: 'link', a, b, state, links: links.map((l) => l.index) });
    // the kernel deletes routes through an interface that goes down (the default route
    // too); up again must bring the topology's routes back, not only the link
    if (state === 'up') {
      const nodes = new Set(links.flatMap((l) => l.ends.map((e) => this.node(e.node).ns)));
      await Promise.all(
        [...nodes].map((ns) => {
          const routes = this.plannedRoutes.get(ns);
          // -force: a route whose next hop sits behind another link still down fails alone
          return routes
            ? this.kernel.ip(ns, ['-force', '-batch', '-'], { input: `${routes.join('\n')}\n`, check: false })
            : undefined;
        }),
      );
    }
    return links.length;
  }

  learnedIps(node: string): string[] {
    return [...(this.learned.get(node)?.values() ?? [])].map((a) => a.split('/')[0]);
  }

  learnedIps6(node: string): string[] {
    return [...(this.learned6.get(node)?.values() ?? [])].map((a) => a.split('/')[0]);
  }

  /** pingall's nodes at their address of `family` (default: each one's first address) */
  pingTargets(family?: Family): PingTarget[] {
    return pingTargetsOf(this.nodes.values(), family);
  }

  pingAll(opts: { timeoutMs?: number; family?: Family } = {}): Promise<MatrixResult> {
    return pingModel(this.model, this.pingTargets(opts.family), opts);
  }

  pingPair(a: string, b: string, family?: Family): Promise<boolean> {
    return pingPairOf(this.node(a), this.node(b), family);
  }

  /**
   * Applies a plan fragment made while running (pods, peerings) the way the first build
   * applies its plan: namespaces (recorded in the ledger first), veths, then the scripts.
   */
  async apply(plan: Plan): Promise<void> {
    await this.kernel.addNamespaces(plan.namespaces, plan.hostnames, plan.binds);
    await this.kernel.addVeths(plan.veths);
    await this.kernel.applyScripts(plan.scripts);
  }

  /**
   * Registers nodes made while running (pods): their namespaces were made through the kernel
   * layer (so the ledger has them); state.json lists them with their parent for other shells.
   */
  addRuntimeNodes(added: { node: SimNode<Simulation>; parent?: string }[]): void {
    for (const { node, parent } of added) {
      if (this.nodes.has(node.name)) throw new Error(`there is already a node named "${node.name}"`);
      this.nodes.set(node.name, node);
      this.runtimeNodes.set(node.name, parent);
    }
    if (existsSync(this.dir)) this.writeState(this.status);
    this.events.emit({ type: 'nodes', added: added.map((x) => x.node.name), removed: [] });
  }

  /** The node a node made at run time lives in (a pod's worker). */
  parentOf(name: string): string | undefined {
    return this.runtimeNodes.get(name);
  }

  removeRuntimeNode(name: string): void {
    if (!this.runtimeNodes.delete(name)) return;
    this.nodes.delete(name);
    if (existsSync(this.dir)) this.writeState(this.status);
    this.events.emit({ type: 'nodes', added: [], removed: [name] });
  }

  state(status: SimState['status']): SimState {
    return {
      name: this.name,
      pid: process.pid,
      pidStart: processStartTime(process.pid) ?? '',
      startedAt: new Date().toISOString(),
      source: this.opts.source ?? this.model.source.file,
      status,
      nodes: [
        ...this.model.nodes.values(),
        ...[...this.runtimeNodes.keys()].map((name) => this.nodes.get(name)!.model),
      ].map((n) => ({
        name: n.name,
        kind: n.kind,
        ns: n.ns,
        pingable: kindOf(n.kind).pingable,
        labels: (n.spec as { labels?: Record<string, string> }).labels,
        parent: this.runtimeNodes.get(n.name),
        cluster:
          clusterOf(n.spec) ?? clusterOf(this.nodes.get(this.runtimeNodes.get(n.name) ?? '')?.model.spec),
        ifaces: n.ifaces.map((i) =>
          ifaceState(i, this.learned.get(n.name)?.get(i.name), this.learned6.get(n.name)?.get(i.name)),
        ),
      })),
      links: this.model.links.map((l) => ({
        index: l.index,
        a: `${l.ends[0].node}:${l.ends[0].name}`,
        b: `${l.ends[1].node}:${l.ends[1].name}`,
      })),
    };
  }

  private writeState(status: SimState['status']): void {
    this.status = status;
    writeState(this.state(status));
  }

  /** Stops daemons, deletes every namespace and file, restores host settings. Idempotent. */
  async down(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const t0 = performance.now();
    this.events.emit({ type: 'down' });
    if (existsSync(this.dir)) this.writeState('stopping');
    for (const n of this.nodes.values())
      await runtimeOf<Simulation>(n.kind)
        .stop?.(n, this)
        .catch(() => {});
    await teardownSim(this.name);
    rmSync(this.dir, { recursive: true, force: true });
    this.log(`stopped ${this.name} in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  }
}
