// Small builders of libnftables JSON expressions, shared by kube-proxy's rule renderers.
export type Expr = Record<string, unknown>;
export type Rule = Expr[];

export const payload = (protocol: string, field: string) => ({ payload: { protocol, field } });
export const meta = (key: string) => ({ meta: { key } });
export const match = (left: unknown, right: unknown, op = '=='): Expr => ({ match: { op, left, right } });
export const jump = (target: string): Expr => ({ jump: { target } });
export const goto = (target: string): Expr => ({ goto: { target } });

/**
 * A statement every rule that has it shares, frozen (with what it holds): the netlink encoder
 * keeps its bytes by identity (nft-netlink-expr.ts), and 10,000 services hold one copy of it.
 */
export function shared<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (v && typeof v === 'object') shared(v);
  return Object.freeze(o);
}

export const counter: Expr = shared({ counter: { packets: 0, bytes: 0 } });
/** `jump mark-for-masquerade` */
export const markForMasquerade: Expr = shared(jump('mark-for-masquerade'));
const L4PROTO: Record<string, Expr> = {
  tcp: shared(match(meta('l4proto'), 'tcp')),
  udp: shared(match(meta('l4proto'), 'udp')),
  sctp: shared(match(meta('l4proto'), 'sctp')),
};
/** `meta l4proto tcp` (shared for tcp, udp, sctp) */
export const l4proto = (proto: string): Expr =>
  Object.hasOwn(L4PROTO, proto) ? L4PROTO[proto] : match(meta('l4proto'), proto);
/** `fib saddr type local` / `fib daddr type local`: the address is one of this host's */
export const fibLocal = (which: 'saddr' | 'daddr') =>
  match({ fib: { result: 'type', flags: [which] } }, 'local');

/**
 * Spreads new connections evenly: endpoint i of n is taken with probability 1/(n−i). kube-proxy
 * writes `numgen random mod n vmap { 0 : goto A, 1 : goto B }`; this kernel names every such
 * anonymous map by scanning all sets of the table, so 10,000 services took 50 s to load
 * (quadratic), against 2 s with one draw per rule. Same distribution, linear cost.
 */
export function spread(chains: string[]): Rule[] {
  return chains.map((c, i) => (i === chains.length - 1 ? [goto(c)] : [draw(chains.length - i), goto(c)]));
}

const numgen = (mod: number) => match({ numgen: { mode: 'random', mod, offset: 0 } }, 0);
/** `numgen random mod n == 0` for the usual endpoint counts, shared */
const DRAWS: readonly Expr[] = Array.from({ length: 33 }, (_, n) => shared(numgen(n)));
const draw = (mod: number) => DRAWS[mod] ?? numgen(mod);

/**
 * Statements that recur across a table's services (an endpoint's address, its DNAT, a port), one
 * shared frozen object per kind and value for as long as the memo holds them: the netlink encoder
 * then takes their bytes by identity instead of writing their JSON. Bounded; a full memo makes
 * fresh statements (the same JSON).
 */
export class StatementMemo {
  private readonly m = new Map<string, Expr>();

  constructor(private readonly max = 20_000) {}

  /** The statement under `key`, or `made` (shared, and kept when there is room). */
  get(key: string): Expr | undefined {
    return this.m.get(key);
  }

  keep(key: string, made: Expr): Expr {
    if (this.m.size >= this.max) return made;
    const s = shared(made);
    this.m.set(key, s);
    return s;
  }
}
