// Connectivity matrix: one fping per source namespace (all its destinations in one
// process), all sources at once. Shared by the REPL's pingall and `netsim check`.
import { existsSync } from 'node:fs';
import { Kernel } from '../kernel/kernel.js';
import { pool } from '../kernel/run.js';
import { kindOf } from '../model/kinds/registry.js';
import type { Family } from '../model/model.js';

export interface PingTarget {
  name: string;
  ns: string;
  ip: string;
}

/** What pinging a node needs of it: its namespace and its first address of each family. */
export interface Pingable {
  name: string;
  kind: string;
  ns: string;
  ip?: string;
  ip6?: string;
}

/**
 * The address a node stands for: of the family asked for, else its IPv4 address, else its
 * IPv6 one (a node with no IPv4: an IPv6-only topology).
 */
export function nodeAddress(n: { ip?: string; ip6?: string }, family?: Family): string | undefined {
  return family === 6 ? n.ip6 : family === 4 ? n.ip : (n.ip ?? n.ip6);
}

/** The pingable kinds' nodes that have an address of the family (pingall's hosts). */
export function pingTargetsOf(nodes: Iterable<Pingable>, family?: Family): PingTarget[] {
  return [...nodes].flatMap((n) => {
    const ip = nodeAddress(n, family);
    return kindOf(n.kind).pingable && ip ? [{ name: n.name, ns: n.ns, ip }] : [];
  });
}

export interface PairResult {
  src: string;
  dst: string;
  dstIp: string;
  ok: boolean;
}

export interface MatrixResult {
  pairs: number;
  passed: number;
  failed: number;
  results: PairResult[];
  ms: number;
}

function fpingPath(): string | undefined {
  return ['/usr/bin/fping', '/usr/sbin/fping'].find((p) => existsSync(p));
}

export async function pingFrom(
  src: PingTarget,
  dsts: PingTarget[],
  opts: { timeoutMs?: number; retries?: number } = {},
): Promise<PairResult[]> {
  const timeout = opts.timeoutMs ?? 1000;
  const retries = opts.retries ?? 2;
  if (dsts.length === 0) return [];
  let alive: Set<string>;
  const fping = fpingPath();
  if (fping) {
    const res = await Kernel.tool(
      src.ns,
      fping,
      ['-a', '-q', '-r', String(retries), '-t', String(timeout), ...dsts.map((d) => d.ip)],
      { check: false },
    );
    alive = new Set(
      res.stdout
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean),
    );
  } else {
    const script = dsts
      .map(
        (d) =>
          `(ping -c1 -W${Math.ceil(timeout / 1000)} ${d.ip} >/dev/null 2>&1 || ping -c1 -W${Math.ceil(timeout / 1000)} ${d.ip} >/dev/null 2>&1) && echo ${d.ip} &`,
      )
      .join('\n');
    const res = await Kernel.tool(src.ns, 'sh', ['-c', `${script}\nwait`], { check: false });
    alive = new Set(
      res.stdout
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean),
    );
  }
  return dsts.map((d) => ({ src: src.name, dst: d.name, dstIp: d.ip, ok: alive.has(d.ip) }));
}

/** Two nodes ping each other (both ways) at their addresses of the family. */
export async function pingPairOf(a: Pingable, b: Pingable, family?: Family): Promise<boolean> {
  const [ta, tb] = [a, b].map((n) => {
    const ip = nodeAddress(n, family);
    if (!ip) throw new Error(`${n.name} has no ${family ? `IPv${family} ` : ''}address`);
    return { name: n.name, ns: n.ns, ip };
  });
  const [r1, r2] = await Promise.all([pingFrom(ta, [tb]), pingFrom(tb, [ta])]);
  return r1[0].ok && r2[0].ok;
}

export async function pingMatrix(
  targets: PingTarget[],
  opts: { timeoutMs?: number; concurrency?: number } = {},
): Promise<MatrixResult> {
  const t0 = Date.now();
  const results: PairResult[] = [];
  await pool(targets, opts.concurrency ?? 32, async (src) => {
    results.push(
      ...(await pingFrom(
        src,
        targets.filter((t) => t !== src),
        opts,
      )),
    );
  });
  const order = new Map(targets.map((t, i) => [t.name, i]));
  results.sort((a, b) => order.get(a.src)! - order.get(b.src)! || order.get(a.dst)! - order.get(b.dst)!);
  const passed = results.filter((r) => r.ok).length;
  return { pairs: results.length, passed, failed: results.length - passed, results, ms: Date.now() - t0 };
}

/**
 * Chosen pairs of a matrix ([source, destination] indexes into `targets`, e.g. a sample of
 * it): one fping per source with its destinations, as pingMatrix does; results in the pairs' order.
 */
export async function pingPairs(
  targets: PingTarget[],
  pairs: [number, number][],
  opts: { timeoutMs?: number; concurrency?: number } = {},
): Promise<MatrixResult> {
  const t0 = Date.now();
  const bySource = new Map<number, number[]>();
  for (const [s, d] of pairs) {
    const ds = bySource.get(s);
    if (ds) ds.push(d);
    else bySource.set(s, [d]);
  }
  const got = new Map<string, PairResult>();
  await pool([...bySource], opts.concurrency ?? 32, async ([s, ds]) => {
    const res = await pingFrom(
      targets[s],
      ds.map((d) => targets[d]),
      opts,
    );
    res.forEach((r, i) => {
      got.set(`${s} ${ds[i]}`, r);
    });
  });
  const results = pairs.map(([s, d]) => got.get(`${s} ${d}`)!);
  const passed = results.filter((r) => r.ok).length;
  return { pairs: results.length, passed, failed: results.length - passed, results, ms: Date.now() - t0 };
}
