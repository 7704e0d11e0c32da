// Small builders of libnftables JSON expressions, shared by kube-proxy's rule renderers.
export type Expr = Record<string, unknown>;
export type Rule = Expr[];

export const payload = (protocol: string, field: string) => ({ payload: { protocol, field } });
export const meta = (key: string) => ({ meta: { key } });
export const match = (left: unknown, right: unknown, op = '=='): Expr => ({ match: { op, left, right } });
export const jump = (target: string): Expr => ({ jump: { target } });
export const goto = (target: string): Expr => ({ goto: { target } });
export const counter: Expr = { counter: { packets: 0, bytes: 0 } };
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
