// Connectivity matrix: every source's pairs from one or two pinger processes (kernel/pinger.ts:
// a raw ICMP socket in each source's namespace, a bounded number of pairs in flight, each
// tried as fping -t/-r would). Shared by the REPL's pingall and `netsim check`; a single pair
// (pingPairOf) is one fping each way.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Kernel } from '../kernel/kernel.js';
import { readBacklogDrops, readNetdevBacklog } from '../kernel/neigh.js';
import { pingJobs } from '../kernel/pinger.js';
import { kindOf } from '../model/kinds/registry.js';
import type { Family, Model } from '../model/model.js';
import { sleep } from '../util/wait.js';

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
  /** failed at first, answered when pinged again (a recheck) */
  retried?: boolean;
}

export interface MatrixResult {
  pairs: number;
  passed: number;
  failed: number;
  results: PairResult[];
  ms: number;
  /** failed pairs pinged again (PingOptions.recheck) and how many of them answered then */
  rechecked?: { pairs: number; answered: number; drops?: number };
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

export interface PingOptions {
  timeoutMs?: number;
  retries?: number;
  /** ports of the lab's largest broadcast domain (floodPorts): bounds the pairs in flight */
  floodPorts?: number;
  /**
   * Failed pairs pinged again, more patiently (RECHECK_RETRIES more requests): `auto` when the
   * CPUs' backlog queues dropped packets during the pass (a lost probe or ARP/ND flood copy,
   * not a missing path, may explain a failure), after waiting for the drops to stop; `always`;
   * `never` (the default). A pair that answers then passes, marked `retried`.
   */
  recheck?: 'auto' | 'always' | 'never';
  /** progress lines of a recheck */
  log?: (line: string) => void;
}

/** Requests a recheck adds to the pass's retries (timeout 1 s: 1 + 1.5 + ... = 13 s of waiting). */
const RECHECK_RETRIES = 2;
/** How long a recheck waits at most for the backlog queues to stop dropping packets. */
const QUIET_MAX_MS = 20_000;
/** A broadcast domain of more ports than this is large (pingWindow: under 16 pairs in flight). */
const LARGE_DOMAIN_PORTS = 512;

/**
 * The ports of the largest broadcast domain: link ends on bridging nodes, joined through the
 * bridges (`bridging`) and the links (ends written `node:iface`). An ARP request or neighbour
 * solicitation into that domain is copied to every one of them.
 */
export function floodPorts(links: { a: string; b: string }[], bridging: (node: string) => boolean): number {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.has(r) && parent.get(r) !== r) r = parent.get(r)!;
    parent.set(x, r);
    return r;
  };
  const keyOf = (end: string) => {
    const node = end.slice(0, end.lastIndexOf(':'));
    return bridging(node) ? node : end;
  };
  for (const l of links) {
    const [a, b] = [find(keyOf(l.a)), find(keyOf(l.b))];
    if (a !== b) parent.set(a, b);
  }
  const ports = new Map<string, number>();
  for (const l of links)
    for (const end of [l.a, l.b]) {
      if (!bridging(end.slice(0, end.lastIndexOf(':')))) continue;
      const r = find(keyOf(end));
      ports.set(r, (ports.get(r) ?? 0) + 1);
    }
  return Math.max(1, ...ports.values());
}

/** Every pair of a model's `targets` (the REPL's pingall), as many in flight as its broadcast domains allow. */
export function pingModel(
  model: Model,
  targets: PingTarget[],
  opts: PingOptions = {},
): Promise<MatrixResult> {
  return pingMatrix(targets, { ...opts, floodPorts: modelFloodPorts(model) });
}

/** floodPorts of a model's links. */
export function modelFloodPorts(model: Model): number {
  return floodPorts(
    model.links.map((l) => ({
      a: `${l.ends[0].node}:${l.ends[0].name}`,
      b: `${l.ends[1].node}:${l.ends[1].name}`,
    })),
    (n) => Boolean(kindOf(model.nodes.get(n)?.kind ?? '', false)?.bridging),
  );
}

/**
 * Pairs in flight per pinger process. A pair's first request waits on ARP/ND: a broadcast the
 * bridges copy to every port of the domain at once, each copy into the CPU's backlog queue
 * (net.core.netdev_max_backlog). The floods in flight must fit there with room to spare, or
 * copies are dropped, the destination's among them: with 16 pairs in flight, 1,000 sampled
 * pairs of tree,2,71 (5,183 ports, backlog 40,896) saw 13.5 million copies dropped and 56
 * pairs fail that answered when pinged alone. Without a domain size: 16.
 */
export function pingWindow(
  ports: number | undefined,
  processes: number,
  backlog = readNetdevBacklog(),
): number {
  if (ports === undefined) return 16;
  const copies = Math.min(backlog / (2 * processes), FLOOD_COPIES_PER_PROCESS);
  return Math.max(1, Math.min(16, Math.floor(copies / ports)));
}

/**
 * Flood copies in flight per pinger process, however large the backlog: the CPUs must also
 * process them. With the backlog raised to 128 per link, tree,2,71 (5,183 ports) got 16 pairs
 * in flight per process: 13 million copies dropped and 246 of 1,000 sampled pairs failed, the
 * queues being seconds deep; one pair per process (8 per link, 40,896) failed 6.
 */
const FLOOD_COPIES_PER_PROCESS = 8192;

/** Every ordered pair of `targets` (pingPairs over the whole matrix). */
export function pingMatrix(targets: PingTarget[], opts: PingOptions = {}): Promise<MatrixResult> {
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
  opts: PingOptions = {},
): Promise<MatrixResult> {
  const t0 = Date.now();
  const processes = Math.min(2, availableParallelism());
  const pass = {
    timeoutMs: opts.timeoutMs ?? 1000,
    retries: opts.retries ?? 2,
    processes,
    window: pingWindow(opts.floodPorts, processes),
  };
  const recheck = opts.recheck ?? 'never';
  // a domain this large: its hosts' link-up multicast may still be filling the queues (a lab
  // just built); then the first pass waits for it too, since at one pair in flight every lost
  // probe costs the pass a whole timeout
  if (recheck === 'auto' && (opts.floodPorts ?? 0) > LARGE_DOMAIN_PORTS && (await dropping(300))) {
    opts.log?.("the host's backlog queues are dropping packets: waiting for that to stop before pinging");
    await quietBacklog(opts.log);
  }
  const drops0 = readBacklogDrops();
  const ok = await pingOnce(targets, pairs, pass);
  const results: PairResult[] = pairs.map(([s, d], i) => ({
    src: targets[s].name,
    dst: targets[d].name,
    dstIp: targets[d].ip,
    ok: ok[i],
  }));
  let rechecked: MatrixResult['rechecked'];
  const failed = pairs.flatMap((_, i) => (ok[i] ? [] : [i]));
  const drops = drops0 === undefined ? undefined : (readBacklogDrops() ?? drops0) - drops0;
  if (failed.length && (recheck === 'always' || (recheck === 'auto' && (drops ?? 0) > 0))) {
    if (drops) {
      opts.log?.(
        `${failed.length} of ${pairs.length} pairs failed while the host's backlog queues dropped ${drops.toLocaleString('en')} packets: pinging them again once the drops stop`,
      );
      await quietBacklog(opts.log);
    }
    const again = await pingOnce(
      targets,
      failed.map((i) => pairs[i]),
      { ...pass, retries: pass.retries + RECHECK_RETRIES },
    );
    failed.forEach((i, k) => {
      if (again[k]) results[i] = { ...results[i], ok: true, retried: true };
    });
    rechecked = { pairs: failed.length, answered: again.filter(Boolean).length, drops };
    opts.log?.(`${rechecked.answered} of ${failed.length} failed pairs answered when pinged again`);
  }
  const passed = results.filter((r) => r.ok).length;
  return {
    pairs: results.length,
    passed,
    failed: results.length - passed,
    results,
    ms: Date.now() - t0,
    ...(rechecked && { rechecked }),
  };
}

/** One pass over the pairs (kernel/pinger.ts); whether each answered, in the pairs' order. */
async function pingOnce(
  targets: PingTarget[],
  pairs: [number, number][],
  opts: { timeoutMs: number; retries: number; processes: number; window: number },
): Promise<boolean[]> {
  const bySource = new Map<number, number[]>();
  for (const [s, d] of pairs) {
    const ds = bySource.get(s);
    if (ds) ds.push(d);
    else bySource.set(s, [d]);
  }
  const sources = [...bySource];
  const alive = await pingJobs(
    sources.map(([s, ds]) => ({ ns: targets[s].ns, ips: ds.map((d) => targets[d].ip) })),
    opts,
  );
  const aliveOf = new Map(sources.map(([s], i) => [s, alive[i]]));
  return pairs.map(([s, d]) => aliveOf.get(s)!.has(targets[d].ip));
}

/** Whether the CPUs' backlog queues drop packets within `ms`. */
async function dropping(ms: number): Promise<boolean> {
  const before = readBacklogDrops();
  if (before === undefined) return false;
  await sleep(ms);
  return (readBacklogDrops() ?? before) > before;
}

/**
 * Waits (at most QUIET_MAX_MS) until a second passes in which the CPUs' backlog queues drop
 * no packet: after a build the hosts' link-up IPv6 multicast (MLD reports, DAD, router
 * solicitations with backoff), copied by the bridges to every port, can keep them full for a
 * while. Says every 5 s how it goes.
 */
async function quietBacklog(log?: (line: string) => void): Promise<void> {
  const t0 = Date.now();
  let last = readBacklogDrops();
  let told = t0;
  while (last !== undefined && Date.now() - t0 < QUIET_MAX_MS) {
    await sleep(1000);
    const now = readBacklogDrops() ?? last;
    if (now === last) return;
    if (Date.now() - told >= 5000) {
      told = Date.now();
      log?.(
        `  backlog queues still dropping packets (${(now - last).toLocaleString('en')} in the last second), ${((told - t0) / 1000).toFixed(0)} s ...`,
      );
    }
    last = now;
  }
  if (last !== undefined) log?.(`  still dropping after ${QUIET_MAX_MS / 1000} s: pinging them again anyway`);
}
