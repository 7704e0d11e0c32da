// What a kind does while a simulation runs, by kind name: its live object, the daemons it
// starts once every link is up, and how they stop. Features register these with their kinds
// (src/runtime/plugin.ts); host and switch have none (plain namespaces).
import type { NodeModel } from '../model/model.js';
import type { NodeHost, SimNode } from './node.js';

export interface KindRuntime<S extends NodeHost = NodeHost> {
  /** the live object for the REPL and API (default: a plain SimNode) */
  createRuntime?(node: NodeModel, sim: S): SimNode<S>;
  /** processes started after every link is up (daemons) */
  start?(node: SimNode<S>, sim: S): Promise<void>;
  /** stops what start() started (processes are also stopped by PID at teardown) */
  stop?(node: SimNode<S>, sim: S): Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: each kind's hooks are typed where they are written
const runtimes = new Map<string, KindRuntime<any>>();

export function setKindRuntime<S extends NodeHost>(kind: string, runtime: KindRuntime<S>): void {
  runtimes.set(kind, runtime);
}

export function runtimeOf<S extends NodeHost>(kind: string): KindRuntime<S> {
  return (runtimes.get(kind) ?? {}) as KindRuntime<S>;
}
