// The chaos soak's fault schedule: a pure function of a seed, the soak's length and the
// targets each fault kind may hit, so the same seed replays the same faults in the same order
// at the same times on the same targets. The first round holds every kind once (in an order
// the seed shuffles), spaced so that it fits in the first minute; later faults come at random
// times, at most `concurrency` at once and never two of one kind at once.
import { seededRandom } from '../src/runtime/sample.js';

export const FAULT_KINDS = ['link', 'flannel', 'etcd', 'frr', 'pod', 'router', 'peering'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** What each kind does (for the report's table). */
export const FAULT_TEXT: Record<FaultKind, string> = {
  link: 'underlay link down, then up',
  flannel: 'flannel agent killed (SIGKILL), then restarted',
  etcd: 'one etcd member killed (SIGKILL), then restarted',
  frr: 'an FRR daemon killed (SIGKILL), then restarted',
  pod: 'a pod deleted, then re-created',
  router: "the service link's site router killed (SIGKILL)",
  peering: 'the peering removed, then re-added',
};

export interface Fault {
  /** index in the schedule */
  n: number;
  /** ms after the soak starts */
  at: number;
  kind: FaultKind;
  target: string;
  /** how long the fault lasts before it is undone (for `router`: nothing undoes it) */
  holdMs: number;
}

export interface ScheduleOptions {
  seed: number;
  durationMs: number;
  targets: Record<FaultKind, string[]>;
  /** the first round's faults are this far apart (default: fits the round in 56 s) */
  firstRoundSpacingMs?: number;
  /** mean gap between later faults (default 6 s) */
  meanGapMs?: number;
  /** faults in force at once at most (default 2) */
  concurrency?: number;
  /** how long a fault of each kind is assumed to take to undo, for the concurrency bound */
  healMs?: Partial<Record<FaultKind, number>>;
}

const HOLD_MS: [number, number] = [1000, 4000];
const DEFAULT_HEAL_MS: Record<FaultKind, number> = {
  link: 1000,
  flannel: 3000,
  etcd: 4000,
  frr: 2000,
  pod: 3000,
  router: 4000,
  peering: 3000,
};

/** The seeded generator `netsim check --sample` draws its pairs with (mulberry32, in [0, 1)). */
export const rng = seededRandom;

function shuffle<T>(items: readonly T[], rand: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** The faults of one soak, ordered by start time. */
export function schedule(opts: ScheduleOptions): Fault[] {
  const rand = rng(opts.seed);
  const kinds = FAULT_KINDS.filter((k) => opts.targets[k]?.length);
  const spacing = opts.firstRoundSpacingMs ?? Math.floor(56000 / Math.max(1, kinds.length));
  const meanGap = opts.meanGapMs ?? 6000;
  const concurrency = opts.concurrency ?? 2;
  const heal = { ...DEFAULT_HEAL_MS, ...opts.healMs };
  const out: Fault[] = [];
  /** when each fault is assumed to be over (start + hold + heal) */
  const ends: number[] = [];
  const kindFree = new Map<FaultKind, number>();
  const add = (at: number, kind: FaultKind): void => {
    const targets = opts.targets[kind];
    const target = targets[Math.floor(rand() * targets.length)];
    const holdMs = Math.round(HOLD_MS[0] + rand() * (HOLD_MS[1] - HOLD_MS[0]));
    out.push({ n: out.length, at: Math.round(at), kind, target, holdMs });
    const end = at + holdMs + heal[kind];
    ends.push(end);
    kindFree.set(kind, end);
  };
  // the first round: every kind once, one every `spacing` ms from 2 s on, in a seeded order
  let at = 2000;
  for (const kind of shuffle(kinds, rand)) {
    add(at, kind);
    at += spacing;
  }
  // then random kinds at random times, within the bounds
  at = out.length ? out[out.length - 1].at : 0;
  for (;;) {
    at += Math.round(-Math.log(1 - rand()) * meanGap) + 500;
    const kind = kinds[Math.floor(rand() * kinds.length)];
    // not before the last fault of its kind is over, nor while `concurrency` are in force
    at = Math.max(at, kindFree.get(kind) ?? 0);
    for (;;) {
      const active = ends.filter((e) => e > at).sort((a, b) => a - b);
      if (active.length < concurrency) break;
      at = active[0];
    }
    if (at >= opts.durationMs) break;
    add(at, kind);
  }
  return out.filter((f) => f.at < opts.durationMs);
}

/** One line per fault, for logs and the report. */
export function describe(f: Fault): string {
  return `#${f.n} +${(f.at / 1000).toFixed(1)} s ${f.kind} ${f.target} (${(f.holdMs / 1000).toFixed(1)} s)`;
}
