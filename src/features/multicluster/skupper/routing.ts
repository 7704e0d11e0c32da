// A site router's routing decisions, plain data in and out (no sockets, no timers, no state of
// its own): a distance vector with link costs and split horizon, and the choice of where a new
// connection for a routing key goes. Skupper's rule: the candidate with the lowest cost plus
// open connections; among equals, each in turn.
import { INFINITE_COST } from './protocol.js';

/** hops a connection may take through intermediate sites (bounds a loop while routes settle) */
export const MAX_TTL = 16;

/** What routing needs to know of one link. */
export interface LinkRoutes {
  /** what crossing the link costs */
  readonly cost: number;
  /** routing key -> the peer's own cost to it, as the peer last advertised */
  readonly routes: ReadonlyMap<string, number>;
  /** only a link that is up carries routes and connections */
  readonly up: boolean;
  /** open connections this site started through the link */
  readonly inflight: number;
}

/** routing key -> cost, as one site tells a neighbour */
export type Advertisement = Record<string, number>;

/**
 * What a site tells the neighbour on `to`: cost 0 for the keys of its own connectors, and its
 * best cost through every other link that is up. Split horizon: nothing learned from `to` goes
 * back to it. Costs at INFINITE_COST or beyond are unreachable and left out, which also ends a
 * count to infinity after a key is lost in a loop.
 */
export function advertisement<L extends LinkRoutes>(
  localKeys: Iterable<string>,
  links: Iterable<L>,
  to: L,
): Advertisement {
  const out: Advertisement = {};
  for (const k of localKeys) out[k] = 0;
  for (const l of links) {
    if (l === to || !l.up) continue;
    for (const [k, c] of l.routes) {
      const total = c + l.cost;
      if (total < INFINITE_COST && (out[k] === undefined || total < out[k])) out[k] = total;
    }
  }
  return out;
}

/** A place a new connection for a key can go: the local connector, or a link. */
export interface Candidate<L, C> {
  cost: number;
  /** open connections there now */
  load: number;
  local?: C;
  link?: L;
}

/**
 * Every destination for `key`: the local connector (cost 0) and each up link with a finite
 * route, except `from`, the link the connection arrived on.
 */
export function candidates<L extends LinkRoutes, C extends { readonly inflight: number }>(
  key: string,
  local: C | undefined,
  links: Iterable<L>,
  from?: L,
): Candidate<L, C>[] {
  const out: Candidate<L, C>[] = [];
  if (local) out.push({ cost: 0, load: local.inflight, local });
  for (const l of links) {
    if (l === from || !l.up) continue;
    const r = l.routes.get(key);
    if (r !== undefined && r + l.cost < INFINITE_COST)
      out.push({ cost: r + l.cost, load: l.inflight, link: l });
  }
  return out;
}

/**
 * The candidate with the lowest cost plus load; when several tie, the `turn`th of them (modulo
 * their count), so a caller that counts its turns spreads connections over equals.
 */
export function choose<T extends { cost: number; load: number }>(
  all: readonly T[],
  turn: number,
): T | undefined {
  if (all.length === 0) return undefined;
  const score = (x: T) => x.cost + x.load;
  const best = Math.min(...all.map(score));
  const tied = all.filter((x) => score(x) === best);
  return tied[turn % tied.length];
}

/**
 * Each key the site knows of (its own, or advertised on any link) -> its lowest cost from
 * here (Infinity when no up link has a finite route to it).
 */
export function reachable<L extends LinkRoutes>(
  localKeys: Iterable<string>,
  links: Iterable<L>,
): Record<string, number> {
  const own = new Set(localKeys);
  const all = [...links];
  const keys = new Set([...own, ...all.flatMap((l) => [...l.routes.keys()])]);
  const connectorHere = { inflight: 0 };
  return Object.fromEntries(
    [...keys].map((k) => [
      k,
      Math.min(...candidates(k, own.has(k) ? connectorHere : undefined, all).map((c) => c.cost)),
    ]),
  );
}
