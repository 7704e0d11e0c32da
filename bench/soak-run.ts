// The chaos soak itself (bench/soak.ts is its command line, test/integration/soak.test.ts its
// 60 s version): the default scenario with r1 running FRR (OSPF, so that it has daemons to
// kill), the Service `web` of C0 exposed to C1 over a Skupper-style link, C0 and C1 peered
// Liqo-style; traffic through all of it while the seeded schedule injects faults; then the
// invariants, and per fault kind the outage the traffic saw.
import { cpSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { defaultTopology } from '../scenarios/default.js';
import { RouterNode } from '../src/features/frr/node.js';
import type { Cluster } from '../src/features/k8s/cluster.js';
import { clustersOf } from '../src/features/k8s/cluster.js';
import type { PodNode } from '../src/features/k8s/pod.js';
import { settleServices } from '../src/features/k8s/settle.js';
import { Topology } from '../src/model/builder.js';
import { PROJECT_ROOT } from '../src/model/load.js';
import { validate } from '../src/model/validate.js';
import { Simulation } from '../src/runtime/simulation.js';
import { sleep, waitFor } from '../src/util/wait.js';
import { type FaultRun, faultTargets, runFault, type SoakWorld } from './soak-faults.js';
import { type Check, settleInvariants } from './soak-invariants.js';
import { describe, FAULT_KINDS, type FaultKind, schedule } from './soak-schedule.js';
import { type Flow, outages, Traffic } from './soak-traffic.js';

export interface SoakOptions {
  seed: number;
  durationMs: number;
  simName: string;
  log?: (line: string) => void;
  /** how long the invariants may take to hold after the last fault (default 60 s) */
  recoverMs?: number;
  /** when something stays broken: the simulation's directory (logs) is copied here before teardown */
  keepDir?: string;
}

export interface KindRow {
  kind: FaultKind;
  count: number;
  errors: string[];
  /** per fault: the longest outage any flow saw, in ms */
  outagesMs: number[];
  lost: number;
}

export interface SoakReport {
  seed: number;
  minutes: number;
  faults: (FaultRun & { outageMs: number; lost: number })[];
  kinds: KindRow[];
  flows: { name: string; from: string; to: string; requests: number; failed: number; restarts: number }[];
  invariants: Check[];
  /** ms from the first invariant check (5 s after the last fault) until all held, or the checks gave up */
  recoveredMs: number;
  ok: boolean;
}

/** The default scenario, with OSPF on r1 (its only change). */
function soakModel(simName: string) {
  const t = new Topology(simName, join(PROJECT_ROOT, 'scenarios', 'default.ts'));
  defaultTopology(t);
  const spec = t.toSpec();
  spec.nodes.r1 = { ...spec.nodes.r1, ospf: { area: 0 } };
  return validate(spec, t.source, { simName });
}

/** Up, and the Service, the service link and the peering in place. */
export async function buildWorld(simName: string, log: (l: string) => void): Promise<SoakWorld> {
  const sim = await Simulation.up(soakModel(simName));
  try {
    await settleServices(sim, 10000);
    const [c0, c1] = clustersOf(sim) as [Cluster, Cluster];
    await c1.skupperLink(await c0.skupperToken());
    await (await c1.skupperSite()).waitLink('C0', 20000);
    await c0.skupperExpose('web', { port: 80 });
    await c0.peer('C1');
    const router = sim.node('r1') as RouterNode;
    if (!(router instanceof RouterNode) || !router.frr) throw new Error('r1 runs no FRR');
    log(`${sim.name}: up; web exposed to C1 over the service link, C0 and C1 peered`);
    return { sim, clusters: [c0, c1], router };
  } catch (err) {
    await sim.down();
    throw err;
  }
}

function pod(w: SoakWorld, name: string): PodNode {
  return w.sim.node(name) as PodNode;
}

/** The flows: pings in each cluster and across the peering, HTTP two ways, one iperf3 stream. */
async function startTraffic(w: SoakWorld): Promise<{ traffic: Traffic; liqo: Flow }> {
  const [c0, c1] = w.clusters;
  const traffic = new Traffic(w.sim);
  const clusterIp = async (c: Cluster, name: string) =>
    (await c.services()).find((s) => s.name === name && s.namespace === 'default')!.clusterIP;
  traffic.add('ping-C0', 'ping', pod(w, 'c2'), pod(w, 'c4').ip!);
  traffic.add('ping-C1', 'ping', pod(w, 'c6'), pod(w, 'c7').ip!);
  const liqo = traffic.add('ping-peering', 'ping', pod(w, 'c3'), c0.remoteIp('C1', 'c8'));
  traffic.add('http-clusterip', 'http', pod(w, 'c3'), await clusterIp(c0, 'web'));
  traffic.add('http-link', 'http', pod(w, 'c6'), await clusterIp(c1, 'web'));
  await traffic.iperfServer(pod(w, 'c7'));
  traffic.add('iperf3', 'iperf', pod(w, 'c8'), pod(w, 'c7').ip!);
  traffic.startAll();
  // every flow answers before the first fault
  await waitFor(
    () =>
      traffic.flows.every((f) => {
        const s = f.samples();
        return s.length > 0 && s[s.length - 1].ok;
      }),
    { timeoutMs: 30000, what: 'every flow to answer before the faults' },
  ).catch((err: Error) => {
    const bad = traffic.flows.filter((f) => !f.samples().at(-1)?.ok).map((f) => f.name);
    throw new Error(`${err.message}: ${bad.join(', ')}`);
  });
  return { traffic, liqo };
}

/** The outage the traffic saw around one fault: the longest run of failures that began during it. */
function attribute(run: FaultRun, flows: Flow[]): { outageMs: number; lost: number } {
  const from = run.startedAt;
  const to = run.healedAt + 3000;
  let outageMs = 0;
  let lost = 0;
  for (const f of flows)
    for (const o of outages(f.samples()))
      if (o.from >= from && o.from <= to) {
        outageMs = Math.max(outageMs, o.to - o.from);
        lost += o.lost;
      }
  return { outageMs, lost };
}

/** The simulation's directory without its sockets (the daemons' logs, the flows' output). */
function keepLogs(dir: string, to: string, log: (l: string) => void): void {
  cpSync(dir, to, { recursive: true, filter: (src) => !lstatSync(src).isSocket() });
  log(`the simulation's logs are in ${to}`);
}

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? (() => {});
  const w = await buildWorld(opts.simName, log);
  try {
    const { traffic, liqo } = await startTraffic(w);
    w.onPeered = () => liqo.retarget(w.clusters[0].remoteIp('C1', 'c8'));
    const plan = schedule({ seed: opts.seed, durationMs: opts.durationMs, targets: faultTargets(w) });
    log(`seed ${opts.seed}: ${plan.length} faults in ${opts.durationMs / 60000} min`);
    const t0 = Date.now();
    const byKind = new Map<FaultKind, Promise<unknown>>();
    const runs: Promise<FaultRun>[] = plan.map((f) => {
      const prev = byKind.get(f.kind) ?? Promise.resolve();
      const run = prev.then(async () => {
        await sleep(Math.max(0, t0 + f.at - Date.now()));
        log(`  ${describe(f)}`);
        const r = await runFault(w, f);
        log(`  #${f.n} ${f.kind} undone in ${r.healedAt - r.startedAt} ms${r.error ? `: ${r.error}` : ''}`);
        return r;
      });
      byKind.set(f.kind, run);
      return run;
    });
    const done = await Promise.all(runs);
    // the traffic goes on a little after the last fault, so that its outage ends inside the run
    await sleep(5000);
    await traffic.stopAll();
    log('faults stopped; checking the invariants');
    const { checks, ms } = await settleInvariants(w, opts.recoverMs ?? 60000);
    const faults = done.map((r) => ({ ...r, ...attribute(r, traffic.flows) }));
    const kinds = FAULT_KINDS.map((kind) => {
      const of = faults.filter((f) => f.fault.kind === kind);
      return {
        kind,
        count: of.length,
        errors: of.flatMap((f) => (f.error ? [`#${f.fault.n}: ${f.error}`] : [])),
        outagesMs: of.map((f) => f.outageMs),
        lost: of.reduce((s, f) => s + f.lost, 0),
      };
    });
    const flows = traffic.flows.map((f) => {
      const s = f.samples();
      return {
        name: f.name,
        from: f.from.name,
        to: f.to,
        requests: s.length,
        failed: s.filter((x) => !x.ok).length,
        restarts: f.restarts,
      };
    });
    const ok = checks.every((c) => c.ok) && kinds.every((k) => k.errors.length === 0);
    if (!ok && opts.keepDir) keepLogs(w.sim.dir, opts.keepDir, log);
    return {
      seed: opts.seed,
      minutes: opts.durationMs / 60000,
      faults,
      kinds,
      flows,
      invariants: checks,
      recoveredMs: ms,
      ok,
    };
  } finally {
    await w.sim.down();
  }
}
