// The one interface through which a feature (FRR, Kubernetes, multi-cluster, trace, workloads)
// plugs into the engine and the surfaces: its node kinds with their runtime hooks, REPL verbs,
// node groups (clusters) for the web view and metrics, metric families, and the few moments
// where the engine asks features (a link changed, a name is resolved, Ctrl-C). Surfaces iterate
// the registered plugins and never test for another feature's classes.

import type { Expectation } from '../model/expectation.js';
import type { NodeKind } from '../model/kinds/kind.js';
import { registerKind } from '../model/kinds/registry.js';
import { type KindRuntime, setKindRuntime } from './kind-runtime.js';
import type { SimNode } from './node.js';
import type { Simulation } from './simulation.js';

export type { KindRuntime };

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** A REPL verb; `names` are aliases (the first is the one `help` lists). */
export interface Verb {
  names: string[];
  usage: string;
  help: string;
  run(args: string[], rest: string): Promise<number>;
  /** completions for the word being typed after the verb (default: node names) */
  complete?(args: string[]): string[];
}

/** What the REPL lends a feature's verbs. */
export interface VerbContext {
  readonly sim: Simulation;
  readonly io: Io;
  /** other node names in a command line become addresses, as seen from `from` */
  substitute(line: string, from?: SimNode): string;
  /** a foreground process with its output streamed; Ctrl-C interrupts it */
  stream(ns: string | undefined, argv: string[]): Promise<number>;
}

/** A box the web view draws nodes in, and the `cluster` label of metrics. */
export interface NodeGroup {
  name: string;
  kind: string;
  /** what the box's label adds (a pod CIDR) */
  detail?: string;
  members: string[];
}

/** One metric family a feature exports at /metrics (the surface turns it into Prometheus). */
export interface MetricFamily {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  labels: readonly string[];
  collect(): Promise<{ labels: Record<string, string>; value: number }[]>;
}

export interface Settled {
  /** how long routing took to converge, from a feature that runs routing daemons */
  routingMs?: number;
  /** what had not settled in time */
  notes: string[];
}

export interface Plugin {
  readonly name: string;
  /** node kinds: the static descriptor (src/model/kinds) and what it does at run time */
  readonly kinds?: readonly { kind: NodeKind; runtime?: KindRuntime<Simulation> }[];
  /** REPL verbs */
  verbs?(ctx: VerbContext): Verb[];
  /** Ctrl-C in the REPL while no foreground process runs: stops the feature's own; true if one was */
  interrupt?(sim: Simulation): boolean;
  /**
   * After `link a b up|down` at `t0` (performance.now()): e.g. wait for routing to settle and
   * report it. Resolves with an exit status, or undefined when the feature has nothing to do.
   */
  afterLinkChange?(sim: Simulation, io: Io, t0: number): Promise<number | undefined>;
  /** The address `target` has as seen from `from` when it differs from its own (a Liqo remap). */
  addressFor?(sim: Simulation, from: SimNode, target: SimNode): string | undefined;
  /** groups of nodes (clusters) */
  groups?(sim: Simulation): NodeGroup[];
  /** what the web view shows about a node besides its interfaces and routes */
  nodeDetails?(sim: Simulation, node: SimNode): Promise<Record<string, unknown> | undefined>;
  /** metric families for one simulation */
  metrics?(sim: Simulation): MetricFamily[];
  /**
   * Before a topology's `expect:` entries are checked (`netsim verify`): waits until what the
   * feature runs has settled (routing converged, services programmed).
   */
  settle?(sim: Simulation, timeoutMs: number, log?: (line: string) => void): Promise<Settled | undefined>;
  /** An `expect:` entry of a kind this feature checks (ospf, bgp); undefined for the others. */
  checkExpectation?(sim: Simulation, e: Expectation): Promise<{ ok: boolean; detail: string } | undefined>;
  /** called once when registered (e.g. to add methods to another feature's live objects) */
  install?(): void;
}

/** every registered feature in registration order: its plugin once its code is loaded */
const features = new Map<string, { entry?: LazyPlugin; plugin?: Plugin }>();

/**
 * A feature as the model sees it before its code is loaded: its kinds' static descriptors
 * (so topologies that use them validate and plan) and how to load the rest. `netsim up` loads
 * the features whose `uses` kinds its topology has before it builds (their kinds' runtime
 * hooks), and all of them before it reaches features otherwise (the REPL, the web view).
 */
export interface LazyPlugin {
  readonly name: string;
  /** the kinds it brings: registered at once */
  readonly kinds?: readonly NodeKind[];
  /** node kinds a topology must have for a simulation to need this feature (default: its kinds) */
  readonly uses?: readonly string[];
  /** the whole plugin (its module imports the runtime code) */
  load(): Promise<Plugin>;
}

/** Registers a feature: its kinds join the model's registry, its hooks the surfaces'. Idempotent. */
export function registerPlugin(plugin: Plugin): void {
  const f = features.get(plugin.name);
  if (f?.plugin) return;
  if (f) f.plugin = plugin;
  else features.set(plugin.name, { plugin });
  for (const { kind, runtime } of plugin.kinds ?? []) {
    registerKind(kind);
    if (runtime) setKindRuntime(kind.name, runtime);
  }
  plugin.install?.();
}

/** Registers a feature by its descriptor: its kinds now, its code when loadPlugins asks. Idempotent. */
export function registerLazyPlugin(entry: LazyPlugin): void {
  if (features.has(entry.name)) return;
  features.set(entry.name, { entry });
  for (const kind of entry.kinds ?? []) registerKind(kind);
}

/**
 * Loads the registered features not loaded yet: all of them, or those a topology with these
 * node kinds needs. Concurrent callers share the loads (import() caches the modules).
 */
export async function loadPlugins(kinds?: Iterable<string>): Promise<void> {
  const want = kinds && new Set(kinds);
  const todo = [...features.values()].flatMap(({ entry, plugin }) =>
    entry &&
    !plugin &&
    (!want || (entry.uses ?? (entry.kinds ?? []).map((k) => k.name)).some((k) => want.has(k)))
      ? [entry]
      : [],
  );
  // in registration order (one feature's install may extend another's objects)
  const loaded = await Promise.all(todo.map((e) => e.load()));
  for (const p of loaded) registerPlugin(p);
}

/** The features whose code is loaded, in registration order. */
export function allPlugins(): Plugin[] {
  return [...features.values()].flatMap((f) => (f.plugin ? [f.plugin] : []));
}

/** Every node's group (cluster), for a pass over all nodes. */
export function groupIndex(sim: Simulation): Map<string, NodeGroup> {
  const out = new Map<string, NodeGroup>();
  for (const p of allPlugins())
    for (const g of p.groups?.(sim) ?? []) for (const m of g.members) out.set(m, g);
  return out;
}

/** The group (cluster) a node belongs to, if any. */
export function groupOf(sim: Simulation, node: string): NodeGroup | undefined {
  for (const p of allPlugins()) for (const g of p.groups?.(sim) ?? []) if (g.members.includes(node)) return g;
  return undefined;
}
