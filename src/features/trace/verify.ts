// `netsim verify`: a topology's expectations checked against the running network. Routing
// converges first (FRR) and kube-proxy has programmed every service; then each positive
// expectation (reachable, OSPF neighbours, BGP sessions) is retried until it holds or time is
// up, and only then the negative ones (blocked, unreachable) are checked, once, so that a
// network still coming up cannot pass them by accident. A failed reachability expectation
// carries the trace that explains it.

import { formatPos } from '../../model/errors.js';
import type { Simulation } from '../../runtime/simulation.js';
import { ConvergenceError } from '../frr/converge.js';
import { RouterNode } from '../frr/node.js';
import { parseBgpSummary } from '../frr/show-bgp.js';
import { hasFrrRouters } from '../frr/verbs.js';
import { vtysh } from '../frr/vtysh.js';
import type { Expectation } from './expect.js';
import { liveOptions, liveTracer } from './live.js';
import { inNs } from './net.js';
import { formatTrace, type TraceResult } from './trace.js';

export interface VerifyResult {
  text: string;
  index: number;
  /** file:line:col of the entry */
  at: string;
  ok: boolean;
  detail: string;
  trace?: TraceResult;
}

export interface VerifyReport {
  topology: string;
  sim: string;
  passed: number;
  failed: number;
  /** how long routing took to converge (FRR), when there is FRR */
  convergedMs?: number;
  notes: string[];
  results: VerifyResult[];
  ms: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ClusterLike {
  name: string;
  workers: { name: string; ns: string }[];
  services(): Promise<{ namespace: string; name: string; clusterIP: string; endpoints: string[] }[]>;
}

/** Until every worker's kube-proxy has every service's ClusterIP (and its endpoints' map entry). */
async function waitServices(sim: Simulation, deadline: number, notes: string[]): Promise<void> {
  const clusters = [...sim.objects.values()].filter(
    (o): o is ClusterLike => typeof (o as Partial<ClusterLike>)?.services === 'function',
  );
  for (const c of clusters) {
    for (;;) {
      const svcs = await c.services().catch(() => []);
      const missing: string[] = [];
      for (const w of c.workers) {
        const r = await inNs(w.ns, 'nft', ['list', 'table', 'ip', 'kube-proxy']);
        for (const s of svcs) {
          const withEp = s.endpoints.length > 0;
          const needle = withEp ? `${s.clusterIP} . ` : s.clusterIP;
          if (!r.stdout.includes(needle) || (withEp && !r.stdout.includes(`-${s.namespace}/${s.name}/`)))
            missing.push(`${w.name}: ${s.namespace}/${s.name}`);
        }
      }
      if (missing.length === 0) break;
      if (Date.now() > deadline) {
        notes.push(`kube-proxy had not programmed ${missing.slice(0, 5).join(', ')} in time`);
        break;
      }
      await sleep(200);
    }
  }
}

async function ospfFull(sim: Simulation, name: string): Promise<number | string> {
  const n = sim.nodes.get(name);
  if (!(n instanceof RouterNode) || !n.frr) return `${name} does not run FRR`;
  const nbrs = await n.ospfNeighbors().catch(() => []);
  // on a LAN two DROthers stay 2-Way: that is their final state
  return nbrs.filter((x) => x.state === 'Full' || x.state.startsWith('2-Way')).length;
}

async function bgpSessions(sim: Simulation, name: string): Promise<{ up: number; all: number } | string> {
  const n = sim.nodes.get(name) as (RouterNode & { frr?: { dir: string } }) | undefined;
  if (!n) return `no node ${name}`;
  let text: string;
  if (n instanceof RouterNode && n.frr) text = await n.vtysh('show bgp summary json').catch(() => '{}');
  else if (n.frr?.dir) text = await vtysh(n.frr, ['show bgp summary json']).catch(() => '{}');
  else return `${name} does not run BGP`;
  const peers = parseBgpSummary(text).peers;
  return { up: peers.filter((p) => p.state === 'Established').length, all: peers.length };
}

type Check = { ok: boolean; detail: string; trace?: TraceResult };

async function checkOnce(sim: Simulation, e: Expectation, final: boolean): Promise<Check> {
  const tracer = liveTracer(sim);
  const opts = liveOptions(sim, { port: e.kind === 'reach' ? e.port : undefined });
  if (e.kind === 'ospf') {
    const n = await ospfFull(sim, e.router);
    if (typeof n === 'string') return { ok: false, detail: n };
    return { ok: n === e.neighbors, detail: `${n} OSPF neighbour${n === 1 ? '' : 's'} Full` };
  }
  if (e.kind === 'bgp') {
    const s = await bgpSessions(sim, e.router);
    if (typeof s === 'string') return { ok: false, detail: s };
    const ok = e.established === undefined ? s.up > 0 && s.up === s.all : s.up === e.established;
    return { ok, detail: `${s.up} of ${s.all} BGP session${s.all === 1 ? '' : 's'} Established` };
  }
  if (e.want === 'reachable') {
    const { probe } = await tracer.probeOnly(e.src, e.dst, opts);
    if (probe.result === 'answered') return { ok: true, detail: `${probe.detail} (${probe.ms} ms)` };
    if (!final) return { ok: false, detail: probe.detail };
    const trace = await tracer.trace(e.src, e.dst, opts);
    return { ok: trace.outcome === 'delivered', detail: trace.summary, trace };
  }
  if (e.want === 'unreachable') {
    const { probe } = await tracer.probeOnly(e.src, e.dst, opts);
    if (probe.result !== 'answered') return { ok: true, detail: `${probe.result}: ${probe.detail}` };
    const trace = await tracer.trace(e.src, e.dst, opts);
    return { ok: false, detail: `answered: ${trace.summary}`, trace };
  }
  // blocked: the probe fails and an nftables rule is why
  const trace = await tracer.trace(e.src, e.dst, opts);
  if (trace.outcome === 'delivered') return { ok: false, detail: `answered: ${trace.summary}`, trace };
  if (trace.drop?.rule) return { ok: true, detail: trace.summary, trace };
  return { ok: false, detail: `not answered, but no rule blocked it: ${trace.summary}`, trace };
}

export async function verify(
  sim: Simulation,
  expectations: Expectation[],
  opts: { timeoutMs?: number; topology?: string; log?: (l: string) => void } = {},
): Promise<VerifyReport> {
  const t0 = performance.now();
  const timeoutMs = opts.timeoutMs ?? 60000;
  const deadline = Date.now() + timeoutMs;
  const notes: string[] = [];
  let convergedMs: number | undefined;
  if (hasFrrRouters(sim)) {
    opts.log?.('waiting for routing to converge');
    try {
      convergedMs = Math.round((await sim.waitConverged({ timeout: timeoutMs })).ms);
    } catch (err) {
      if (!(err instanceof ConvergenceError)) throw err;
      notes.push(err.message);
    }
  }
  await waitServices(sim, deadline, notes);
  const results = new Map<number, VerifyResult>();
  const at = (e: Expectation) => formatPos(sim.model.source.locate(['expect', e.index]));
  const positive = expectations.filter((e) => e.kind !== 'reach' || e.want === 'reachable');
  const negative = expectations.filter((e) => e.kind === 'reach' && e.want !== 'reachable');
  let pending = positive;
  opts.log?.(`checking ${expectations.length} expectation${expectations.length === 1 ? '' : 's'}`);
  while (pending.length) {
    const last = Date.now() > deadline;
    const still: Expectation[] = [];
    for (const e of pending) {
      const c = await checkOnce(sim, e, last);
      if (c.ok || last) results.set(e.index, { text: e.text, index: e.index, at: at(e), ...c });
      else still.push(e);
    }
    pending = still;
    if (pending.length) await sleep(500);
  }
  for (const e of negative) {
    const c = await checkOnce(sim, e, true);
    results.set(e.index, { text: e.text, index: e.index, at: at(e), ...c });
  }
  const list = expectations.map((e) => results.get(e.index)!);
  const failed = list.filter((r) => !r.ok).length;
  return {
    topology: opts.topology ?? sim.model.source.file,
    sim: sim.name,
    passed: list.length - failed,
    failed,
    convergedMs,
    notes,
    results: list,
    ms: Math.round(performance.now() - t0),
  };
}

export function formatVerify(r: VerifyReport): string {
  const lines = [`verify ${r.topology} (simulation ${r.sim}): ${r.results.length} expectations`];
  if (r.convergedMs !== undefined)
    lines.push(`  routing converged in ${(r.convergedMs / 1000).toFixed(2)} s`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  const width = Math.min(48, Math.max(...r.results.map((x) => x.text.length)));
  for (const x of r.results) {
    lines.push(
      `  ${x.ok ? 'ok  ' : 'FAIL'}  ${x.text.padEnd(width)}  ${x.detail}${x.ok ? '' : `  (${x.at})`}`,
    );
    if (!x.ok && x.trace)
      for (const l of formatTrace(x.trace).trimEnd().split('\n')) lines.push(`          ${l}`);
  }
  lines.push(
    r.failed
      ? `${r.failed} of ${r.results.length} expectation${r.results.length === 1 ? '' : 's'} failed: ${r.results
          .filter((x) => !x.ok)
          .map((x) => `"${x.text}" (${x.at})`)
          .join(', ')}`
      : `all ${r.results.length} expectations hold (${(r.ms / 1000).toFixed(1)} s)`,
  );
  return `${lines.join('\n')}\n`;
}
