// `netsim check`: Mininet's pingall on a running simulation, from another shell (its state
// file). Several ping matrices, each node in one: the hosts (the pingable kinds that do not
// forward: hosts, Kubernetes workers, etcd members; with --all the routers too) and, for each
// cluster, its pods among themselves. Pods of different clusters are never paired: they reach
// each other only through a multi-cluster link, under other addresses (Liqo's remapped CIDRs),
// and the underlay does not route pod addresses. Addresses are the model's, or the kernel's
// for interfaces the model left without one (a lab's exec lines; see src/runtime/learned.ts).
// Each family is pinged on its own (`--family 4|6|both`, default: the families the nodes have
// addresses of), each matrix once per family, between the nodes that have an address of it.
// A large matrix is sampled: `--sample N` pings N random pairs of each matrix (`--seed S`
// repeats a run's pairs; without it a seed is drawn and printed); a matrix of more than
// FULL_MATRIX_MAX pairs is sampled (AUTO_SAMPLE pairs) unless --sample or --full says otherwise.

import { kindOf } from '../../model/kinds/registry.js';
import type { Family } from '../../model/model.js';
import { floodPorts, type MatrixResult, type PairResult, pingMatrix, pingPairs } from '../../runtime/ping.js';
import { freshSeed, pairCount, samplePairs, seededRandom } from '../../runtime/sample.js';
import { type NodeState, pickRunning } from '../../runtime/state.js';
import { requireRoot } from './errors.js';

/** A matrix of more pairs than this is sampled unless --full or --sample says otherwise. */
export const FULL_MATRIX_MAX = 20_000;
/** ... with this many pairs. */
export const AUTO_SAMPLE = 1_000;

export interface CheckOptions {
  sim?: string;
  json?: boolean;
  timeout?: string;
  all?: boolean;
  /** 4, 6 or both (default: the families the nodes have addresses of) */
  family?: string;
  /** N random pairs of each matrix */
  sample?: string;
  /** the sample's seed (default: drawn, and printed) */
  seed?: string;
  /** every pair, however many */
  full?: boolean;
  /** failed pairs pinged again whatever happened (default: when packets were dropped meanwhile) */
  recheck?: boolean;
}

/** How a matrix of `n` nodes is pinged: all pairs, or `pairs` of them drawn at random. */
export type Sampling = { pairs: number; auto: boolean } | undefined;

/** --sample/--full for a matrix of n nodes (a sample as large as the matrix is the matrix). */
export function samplingOf(n: number, opts: Pick<CheckOptions, 'sample' | 'full'>): Sampling {
  if (opts.sample !== undefined && opts.full) throw new Error('--sample and --full exclude each other');
  let pairs: number | undefined;
  if (opts.sample !== undefined) {
    pairs = Number(opts.sample);
    if (!/^\d+$/.test(opts.sample) || pairs < 1)
      throw new Error(`--sample is a number of pairs (1 or more), got "${opts.sample}"`);
  }
  const full = pairCount(n);
  if (pairs !== undefined) return pairs < full ? { pairs, auto: false } : undefined;
  return !opts.full && full > FULL_MATRIX_MAX ? { pairs: AUTO_SAMPLE, auto: true } : undefined;
}

/** --seed: a whole number below 2^32 (default: a fresh one). */
export function seedOf(opt: string | undefined): number {
  if (opt === undefined) return freshSeed();
  const seed = Number(opt);
  if (!/^\d+$/.test(opt) || seed >= 2 ** 32)
    throw new Error(`--seed is a whole number from 0 to 4294967295, got "${opt}"`);
  return seed;
}

/** The generator of one matrix's sample: the run's seed mixed with the matrix's name and family. */
export function matrixRandom(seed: number, matrix: { name: string; family: Family }): () => number {
  let h = 0x811c9dc5; // FNV-1a of "name/family"
  for (const c of `${matrix.name}/${matrix.family}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
  return seededRandom((seed ^ h) >>> 0);
}

/** One matrix: its name (hosts, hosts+routers, pods:CLUSTER), family and the nodes pinging each other. */
export interface CheckMatrix {
  name: string;
  family: Family;
  nodes: NodeState[];
}

/** The node's first address of a family (no prefix). */
export function firstIp(n: NodeState, family: Family = 4): string | undefined {
  for (const i of n.ifaces) {
    const a = family === 6 ? i.addr6 : i.addr;
    if (a) return a.split('/')[0];
  }
  return undefined;
}

/** The families `--family` names; none given: those the nodes have addresses of (IPv4 first). */
export function checkFamilies(opt: string | undefined, nodes: NodeState[]): Family[] {
  if (opt === '4' || opt === 'ipv4') return [4];
  if (opt === '6' || opt === 'ipv6') return [6];
  if (opt === 'both' || opt === 'dual') return [4, 6];
  if (opt !== undefined) throw new Error(`--family is 4, 6 or both, got "${opt}"`);
  const has = ([4, 6] as Family[]).filter((f) => nodes.some((n) => firstIp(n, f) !== undefined));
  return has.length ? has : [4];
}

/** The matrices `netsim check` pings for one family, in the order it reports them. */
export function checkMatrices(nodes: NodeState[], all: boolean, family: Family = 4): CheckMatrix[] {
  const addressed = nodes.filter((n) => firstIp(n, family) !== undefined);
  const hosts = addressed.filter((n) => n.pingable && (all || !kindOf(n.kind, false)?.forwards));
  const pods = new Map<string, NodeState[]>();
  for (const p of addressed.filter((n) => n.kind === 'pod')) {
    const c = p.cluster ?? p.parent ?? '?';
    pods.set(c, [...(pods.get(c) ?? []), p]);
  }
  return [
    { name: all ? 'hosts+routers' : 'hosts', family, nodes: hosts },
    // by cluster name: pods reach the state file in the order their clusters came up
    ...[...pods]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([c, ps]) => ({
        name: `pods:${c}`,
        family,
        nodes: ps.sort((a, b) => a.name.localeCompare(b.name)),
      })),
  ].filter((m) => m.nodes.length > 0);
}

type Pinged = { matrix: CheckMatrix; res: MatrixResult; sampling: Sampling };

function summary(res: { pairs: number; passed: number; failed: number; results?: PairResult[] }): string {
  const retried = res.results?.filter((r) => r.retried).length;
  return `${res.passed}/${res.pairs} pairs reachable${retried ? ` (${retried} answered on retry)` : ''}, ${res.failed} failed`;
}

/** The rechecks of all matrices added up: failed pairs pinged again, how many answered. */
function rechecked(pinged: Pinged[]): { pairs: number; answered: number } {
  const r = pinged.flatMap((p) => (p.res.rechecked ? [p.res.rechecked] : []));
  return { pairs: r.reduce((n, x) => n + x.pairs, 0), answered: r.reduce((n, x) => n + x.answered, 0) };
}

const kindsOf = (nodes: NodeState[]) => [...new Set(nodes.map((n) => n.kind))].sort().join(', ');
const familyName = (f: Family) => `IPv${f}`;

export async function cmdCheck(opts: CheckOptions): Promise<void> {
  requireRoot();
  const state = pickRunning(opts.sim);
  const families = checkFamilies(opts.family, state.nodes);
  // IPv4 alone prints as it always has; with IPv6 every line names its family
  const labelled = families.includes(6);
  const matrices = families.flatMap((f) => checkMatrices(state.nodes, Boolean(opts.all), f));
  const timeoutMs = opts.timeout ? Number(opts.timeout) * 1000 : undefined;
  const samplings = matrices.map((m) => samplingOf(m.nodes.length, opts));
  const seed = seedOf(opts.seed);
  const kinds = new Map(state.nodes.map((n) => [n.name, n.kind]));
  const ports = floodPorts(state.links, (n) => Boolean(kindOf(kinds.get(n) ?? '', false)?.bridging));
  const t0 = Date.now();
  // a failure while the host dropped packets may be a lost probe: pinged again (runtime/ping.ts)
  const recheck = opts.recheck ? ('always' as const) : ('auto' as const);
  const pinged: Pinged[] = await Promise.all(
    matrices.map(async (matrix, i) => {
      const targets = matrix.nodes.map((n) => ({ name: n.name, ns: n.ns, ip: firstIp(n, matrix.family)! }));
      const sampling = samplings[i];
      const tag = `${matrix.name}${labelled ? ` ${familyName(matrix.family)}` : ''}`;
      const ping = {
        timeoutMs,
        floodPorts: ports,
        recheck,
        log: (l: string) => console.error(`${tag}: ${l}`),
      };
      const res = sampling
        ? await pingPairs(
            targets,
            samplePairs(targets.length, sampling.pairs, matrixRandom(seed, matrix)),
            ping,
          )
        : await pingMatrix(targets, ping);
      return { matrix, res, sampling };
    }),
  );
  const sampled = pinged.filter((p) => p.sampling);
  const auto = sampled.some((p) => p.sampling?.auto);
  const results: (PairResult & { matrix: string; family: Family })[] = pinged.flatMap(({ matrix, res }) =>
    res.results.map((r) => ({ ...r, matrix: matrix.name, family: matrix.family })),
  );
  const passed = results.filter((r) => r.ok).length;
  const total = { pairs: results.length, passed, failed: results.length - passed, ms: Date.now() - t0 };
  const retried = results.filter((r) => r.retried);
  const checked = [...new Set(matrices.flatMap((m) => m.nodes))];
  if (opts.json) {
    const json = {
      sim: state.name,
      scope: opts.all ? 'all' : 'hosts',
      families,
      ...(sampled.length ? { sample: { seed, auto, pairs: sampled[0].sampling!.pairs } } : {}),
      nodes: matrices.flatMap((m) =>
        m.nodes.map((n) => ({
          name: n.name,
          kind: n.kind,
          ip: firstIp(n, m.family)!,
          family: m.family,
          matrix: m.name,
          ...(n.cluster ? { cluster: n.cluster } : {}),
        })),
      ),
      matrices: pinged.map(({ matrix, res, sampling }) => ({
        name: matrix.name,
        family: matrix.family,
        nodes: matrix.nodes.map((n) => n.name),
        pairs: res.pairs,
        passed: res.passed,
        failed: res.failed,
        ...(res.rechecked ? { rechecked: res.rechecked } : {}),
        ...(sampling ? { sampled: true, of: pairCount(matrix.nodes.length) } : {}),
      })),
      ...total,
      ...(pinged.some((p) => p.res.rechecked) ? { rechecked: rechecked(pinged) } : {}),
      results,
    };
    process.stdout.write(`${JSON.stringify(json, null, 1)}\n`);
  } else {
    for (const p of sampled) printSample(p, labelled);
    for (const r of results.filter((x) => !x.ok))
      console.log(
        `FAIL ${r.src} -> ${r.dst} (${r.dstIp}) [${r.matrix}${labelled ? `, ${familyName(r.family)}` : ''}]`,
      );
    for (const r of retried)
      console.log(
        `answered on retry: ${r.src} -> ${r.dst} (${r.dstIp}) [${r.matrix}${labelled ? `, ${familyName(r.family)}` : ''}]`,
      );
    if (pinged.length > 1)
      for (const { matrix, res } of pinged)
        console.log(
          `  ${matrix.name}${labelled ? ` ${familyName(matrix.family)}` : ''}: ${summary(res)}, between ${matrix.nodes.length} nodes (${kindsOf(matrix.nodes)})`,
        );
    console.log(
      `${state.name}: ${summary({ ...total, results })}, between ${checked.length} nodes (${kindsOf(checked) || 'none'}${opts.all ? '' : '; routers left out: --all'})${labelled ? `, ${families.map(familyName).join(' and ')}` : ''} (${(total.ms / 1000).toFixed(2)} s)`,
    );
    if (sampled.length)
      console.log(
        `sampled: ${sampled[0].sampling!.pairs} random pairs of ${sampled.length === 1 ? 'the matrix' : `each of ${sampled.length} matrices`}, seed ${seed} (--sample ${sampled[0].sampling!.pairs} --seed ${seed} repeats them)${auto ? `; a matrix of more than ${FULL_MATRIX_MAX.toLocaleString('en')} pairs is sampled unless --full` : ''}`,
      );
  }
  process.exitCode = total.failed ? 1 : 0;
}

/** A sampled matrix's pairs, one line per source: `  h1 -> h7 h99`. */
function printSample({ matrix, res }: Pinged, labelled: boolean): void {
  console.log(
    `sampled ${matrix.name}${labelled ? ` ${familyName(matrix.family)}` : ''}: ${res.pairs} of ${pairCount(matrix.nodes.length).toLocaleString('en')} pairs`,
  );
  const bySource = new Map<string, string[]>();
  for (const r of res.results) {
    const ds = bySource.get(r.src);
    if (ds) ds.push(r.dst);
    else bySource.set(r.src, [r.dst]);
  }
  for (const [src, dsts] of bySource) console.log(`  ${src} -> ${dsts.join(' ')}`);
}
