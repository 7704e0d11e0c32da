// Connectivity matrix: one fping per source namespace (all its destinations in one
// process), all sources at once. Shared by the REPL's pingall and `netsim check`.
import { existsSync } from 'node:fs';
import { Kernel } from '../kernel/kernel.js';
import { pool } from '../kernel/run.js';

export interface PingTarget {
  name: string;
  ns: string;
  ip: string;
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
