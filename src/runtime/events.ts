// What happens to a running simulation, for whoever watches it (the web view pushes these to
// the page): links set up or down, nodes made or removed while running (pods), teardown.
import { EventEmitter } from 'node:events';

export type SimEvent =
  /** `link a b up|down` (the REPL verb, sim.setLink): the model links that changed */
  | { type: 'link'; a: string; b: string; state: 'up' | 'down'; links: number[] }
  /** nodes made or removed while running (pods) */
  | { type: 'nodes'; added: string[]; removed: string[] }
  /** a pod's workload series started or stopped (src/features/workload) */
  | { type: 'workload'; pod: string; state: 'started' | 'stopped' }
  /** a packet path explained by `trace` (src/features/trace): the page highlights it hop by hop */
  | { type: 'trace'; trace: TracedPath }
  /** the simulation is being torn down */
  | { type: 'down' };

/** What the web view needs of a trace: the nodes in order, what happened at each, the outcome. */
export interface TracedPath {
  src: string;
  dst: string;
  outcome: string;
  summary: string;
  hops: { node: string; in?: string; out?: string; steps: { kind: string; text: string }[] }[];
  drop?: { node: string; reason: string };
}

export class SimEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    // one listener per open page and per collector: no leak warning at 10
    this.emitter.setMaxListeners(0);
  }

  emit(event: SimEvent): void {
    this.emitter.emit('event', event);
  }

  /** Calls `fn` for every event; returns the function that stops it. */
  on(fn: (event: SimEvent) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }
}
