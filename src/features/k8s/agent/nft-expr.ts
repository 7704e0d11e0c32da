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
  return chains.map((c, i) =>
    i === chains.length - 1
      ? [goto(c)]
      : [match({ numgen: { mode: 'random', mod: chains.length - i, offset: 0 } }, 0), goto(c)],
  );
}
