// Connectivity matrix: every source's pairs from one or two pinger processes (kernel/pinger.ts:
// a raw ICMP socket in each source's namespace, a bounded number of pairs in flight, each
// tried as fping -t/-r would). Shared by the REPL's pingall and `netsim check`; a single pair
// (pingPairOf) is one fping each way.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Kernel } from '../kernel/kernel.js';
import { pingJobs } from '../kernel/pinger.js';
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

/** Every ordered pair of `targets` (pingPairs over the whole matrix). */
export function pingMatrix(
  targets: PingTarget[],
  opts: { timeoutMs?: number; retries?: number } = {},
): Promise<MatrixResult> {
  const pairs: [number, number][] = [];
  for (let s = 0; s < targets.length; s++)
    for (let d = 0; d < targets.length; d++) if (s !== d) pairs.push([s, d]);
  return pingPairs(targets, pairs, opts);
}

/**
 * Chosen pairs of a matrix ([source, destination] indexes into `targets`, e.g. a sample of
 * it): all from one or two pinger processes (kernel/pinger.ts: a raw socket in each source's
 * namespace, a bounded number of pairs in flight), tried as fping -t/-r would; results in the
 * pairs' order.
 */
export async function pingPairs(
  targets: PingTarget[],
  pairs: [number, number][],
  opts: { timeoutMs?: number; retries?: number } = {},
): Promise<MatrixResult> {
  const t0 = Date.now();
  const bySource = new Map<number, number[]>();
  for (const [s, d] of pairs) {
    const ds = bySource.get(s);
    if (ds) ds.push(d);
    else bySource.set(s, [d]);
  }
  const sources = [...bySource];
  const alive = await pingJobs(
    sources.map(([s, ds]) => ({ ns: targets[s].ns, ips: ds.map((d) => targets[d].ip) })),
    { timeoutMs: opts.timeoutMs, retries: opts.retries, processes: Math.min(2, availableParallelism()) },
  );
  const aliveOf = new Map(sources.map(([s], i) => [s, alive[i]]));
  const results = pairs.map(([s, d]) => ({
    src: targets[s].name,
    dst: targets[d].name,
    dstIp: targets[d].ip,
    ok: aliveOf.get(s)!.has(targets[d].ip),
  }));
  const passed = results.filter((r) => r.ok).length;
  return { pairs: results.length, passed, failed: results.length - passed, results, ms: Date.now() - t0 };
}
