// `npm run bench`: build+teardown of the same networks by netsim, by Mininet 2.3 (fenced in
// its own namespaces) and by the floor (one long-lived pyroute2 process performing the same
// kernel operations over netlink: bench/floor.py), several times each, interleaved so that
// load from other work on the machine falls on all three alike.
//
//   node dist/bench/run.js [--reps 3] [--topo single,200 ...] [--no-mininet] [--ping-reps 3]
//     [--suite S ...] [--part single|tree (scale)]
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { registerBuiltins } from '../src/features/index.js';
import type { Model } from '../src/model/model.js';
import { type ClabRun, runScaledNetwork } from './clab.js';
import { dualStackSuite } from './dual-stack.js';
import { e2eSuite } from './e2e.js';
import { FloorProcess } from './floor.js';
import { checkFloor } from './floor-check.js';
import { bgpChain, type FrrRun, ospfRing, runFrr } from './frr.js';
import { ingressReport, runIngressBench } from './ingress.js';
import { ipv6Suite } from './ipv6.js';
import { type PodRun, runDefaultScenario, runManyPods, runThroughput } from './k8s.js';
import { loadAverage, median, settle, spreadPercent } from './measure.js';
import { ensureMininet, type MininetRun, runMininet } from './mininet.js';
import { multiclusterSuite } from './multicluster.js';
import { benchModel, type NetsimRun, runNetsim, runPingAll } from './netsim.js';
import { scaleSuite } from './scale.js';
import { runServices, type ServicesRun, servicesReport } from './services.js';
import { utsSuite } from './uts.js';

const DEFAULT_TOPOS = ['single,50', 'single,200', 'single,500', 'linear,200'];
const TARGET_VS_MININET = 20; // in-process, at least this much faster than Mininet at 200 hosts (issue 22)
const TARGET_VS_FLOOR = 1.5; // at most this much slower than the netlink floor (bench/floor.py)
const PING_TARGET_S = 3;
const SUITES = [
  'engine',
  'uts',
  'ipv6',
  'frr',
  'k8s',
  'dual-stack',
  'services',
  'ingress',
  'clab',
  'multicluster',
  'scale',
  'e2e',
];

type Tool = 'netsim' | 'mininet' | 'floor';

interface Cell {
  seconds: number[];
}

async function engineSuite(
  reps: number,
  topos: string[],
  noMininet: boolean,
  pingReps: number,
  log: (l: string) => void,
): Promise<string[]> {
  const lines: string[] = [];
  lines.push('## Build + teardown (engine)', '');
  let mininetSkip: string | undefined = noMininet ? 'skipped (--no-mininet)' : undefined;
  mininetSkip ??= await ensureMininet(log);
  const tools: Tool[] = mininetSkip ? ['netsim', 'floor'] : ['netsim', 'floor', 'mininet'];

  log(`starting the floor (bench/floor.py)`);
  const floor = await FloorProcess.start();
  try {
    return await timeEngine(floor, reps, topos, tools, mininetSkip, pingReps, log, lines);
  } finally {
    await floor.stop();
  }
}

async function timeEngine(
  floor: FloorProcess,
  reps: number,
  topos: string[],
  tools: Tool[],
  mininetSkip: string | undefined,
  pingReps: number,
  log: (l: string) => void,
  lines: string[],
): Promise<string[]> {
  log(`warming up (feature probe, JIT)`);
  await runNetsim('single,10');
  await floor.run(benchModel('single,10', 'benchfl'));
  await settle();
  // before anything is timed: the floor must leave what netsim leaves
  const checked: string[] = [];
  for (const topo of topos) {
    log(`  self-check ${topo}: netsim and the floor build the same kernel state`);
    const nodes = await checkFloor(() => benchModel(topo, 'benchchk'), floor);
    checked.push(`${topo} (${nodes} nodes)`);
    await settle();
  }
  const started = new Date();
  const loadBefore = loadAverage();

  const cells = new Map<string, Cell>();
  const cell = (topo: string, tool: Tool) => {
    const key = `${topo}/${tool}`;
    if (!cells.has(key)) cells.set(key, { seconds: [] });
    return cells.get(key)!;
  };
  const netsimRuns = new Map<string, NetsimRun[]>();
  const mininetRuns: { topo: string; run: MininetRun }[] = [];
  const floorRuns = new Map<string, { build: number; teardown: number }[]>();

  for (let rep = 0; rep < reps; rep++) {
    for (const topo of topos) {
      // rotate the order so no tool always runs right after the slow one
      const order = tools.map((_, i) => tools[(i + rep) % tools.length]);
      for (const tool of order) {
        let seconds: number;
        if (tool === 'netsim') {
          const r = await runNetsim(topo);
          seconds = r.seconds;
          netsimRuns.set(topo, [...(netsimRuns.get(topo) ?? []), r]);
        } else if (tool === 'floor') {
          const r = await floor.run(benchModel(topo, 'benchfl'));
          seconds = r.seconds;
          floorRuns.set(topo, [...(floorRuns.get(topo) ?? []), r]);
        } else {
          const r = await runMininet(topo);
          seconds = r.seconds;
          mininetRuns.push({ topo, run: r });
        }
        cell(topo, tool).seconds.push(seconds);
        log(`  rep ${rep + 1}/${reps} ${topo.padEnd(11)} ${tool.padEnd(8)} ${seconds.toFixed(2)} s`);
        await settle();
      }
    }
  }

  log(`all-pairs ping, 50 hosts on one switch`);
  const ping = await runPingAll(50, pingReps);
  const loadAfter = loadAverage();

  const fmt = (x: number | undefined, digits = 2) =>
    x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits);
  const med = (topo: string, tool: Tool) => {
    const c = cells.get(`${topo}/${tool}`);
    return c?.seconds.length ? median(c.seconds) : undefined;
  };
  lines.push(
    `Measured ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpus().length} × ${cpus()[0]?.model.trim() ?? '?'}, kernel ${release()}; median of ${reps} runs of build+teardown; load average ${loadBefore} before, ${loadAfter} after.`,
  );
  lines.push('');
  // each cell's median (spread); the ratios per rep (netsim and floor ran side by side)
  const cellText = (topo: string, tool: Tool) => {
    const c = cells.get(`${topo}/${tool}`);
    return c?.seconds.length ? `${fmt(median(c.seconds))} (${spreadPercent(c.seconds).toFixed(0)}%)` : '–';
  };
  const ratioText = (topo: string) => {
    const [n, f] = [cells.get(`${topo}/netsim`)?.seconds ?? [], cells.get(`${topo}/floor`)?.seconds ?? []];
    const rs = n.slice(0, f.length).map((x, i) => x / f[i]);
    return rs.length ? `${fmt(median(rs))}× (${fmt(Math.min(...rs))}–${fmt(Math.max(...rs))})` : '–';
  };
  lines.push(
    '| topology | netsim s | Mininet s | floor s | Mininet/netsim | netsim/floor (range over reps) |',
  );
  lines.push('|---|---:|---:|---:|---:|---:|');
  for (const topo of topos) {
    const [n, m] = [med(topo, 'netsim'), med(topo, 'mininet')];
    const vsMininet = n && m ? m / n : undefined;
    lines.push(
      `| ${topo} | ${cellText(topo, 'netsim')} | ${cellText(topo, 'mininet')} | ${cellText(topo, 'floor')} | ${vsMininet ? `${fmt(vsMininet, 1)}×` : '–'} | ${ratioText(topo)} |`,
    );
  }
  lines.push('');
  lines.push(
    'Seconds: median (spread = (max − min) / median over the runs of the cell). The floor is one long-lived Python process (bench/floor.py, pyroute2 from Debian) performing the kernel operations netsim performs for the same validated model, over netlink, switching namespaces with setns(2): namespaces bound under /run/netns as `ip netns add` does, a UTS namespace per node with its hostname, veths created with each end in its namespace and the same ifindexes, in each switch a bridge with the same attributes (stp_state, forward_delay, mcast_snooping), ports enslaved and up, the same bridge-nf-call sysctls, addresses, lo up, waiting for the bridge ports to be forwarding as netsim does; teardown as netsim does it. The clock covers the build and teardown requests, not Python start-up.',
  );
  const floorMs = (topo: string, k: 'build' | 'teardown') =>
    (median((floorRuns.get(topo) ?? []).map((r) => r[k])) * 1000).toFixed(0);
  lines.push(
    `Floor: Python and pyroute2 start-up ${fmt(floor.startup)} s (once, untimed); build / teardown ms: ${topos.map((t) => `${t} ${floorMs(t, 'build')} / ${floorMs(t, 'teardown')}`).join(', ')}. Self-check before timing (netsim and the floor built side by side; every node's \`ip -j addr\`, \`ip -j -d link\`, \`ip -j route\`, hostname and bridge sysctls equal, MACs and timers aside): passed for ${checked.join(', ')}.`,
  );
  lines.push('');
  lines.push(
    `All-pairs ping, 50 hosts on one switch (sim.pingAll): ${fmt(median(ping.seconds))} s median of ${ping.seconds.length} (target < ${PING_TARGET_S} s), ${ping.failures} failed pairs.`,
  );
  if (mininetSkip) lines.push(`Mininet: ${mininetSkip}.`);
  lines.push('');
  lines.push('Where netsim spends its time (median ms per phase of Simulation.up; teardown = down):');
  lines.push('');
  const phases = [...new Set([...netsimRuns.values()].flat().flatMap((r) => r.timings.map((t) => t.phase)))];
  lines.push(`| topology | ${phases.join(' | ')} | teardown |`);
  lines.push(`|---|${phases.map(() => '---:').join('|')}|---:|`);
  for (const topo of topos) {
    const runs = netsimRuns.get(topo) ?? [];
    const ms = (p: string) =>
      median(runs.map((r) => r.timings.find((t) => t.phase === p)?.ms ?? 0)).toFixed(0);
    lines.push(
      `| ${topo} | ${phases.map(ms).join(' | ')} | ${median(runs.map((r) => r.down * 1000)).toFixed(0)} |`,
    );
  }
  const leftovers = mininetRuns.filter((r) => r.run.leftoverLinks.length || r.run.changedSysctls.length);
  if (mininetRuns.length) {
    lines.push('');
    lines.push(
      leftovers.length
        ? `Mininet left behind (removed by the benchmark): ${leftovers
            .map((r) => `${r.topo}: ${[...r.run.leftoverLinks, ...r.run.changedSysctls].join(', ')}`)
            .join('; ')}`
        : 'Mininet left nothing behind in its namespace and changed no host setting.',
    );
  }
  lines.push('');
  const checks: string[] = [];
  for (const topo of topos.filter((t) => /^single,200$/.test(t))) {
    const [n, m] = [med(topo, 'netsim'), med(topo, 'mininet')];
    if (n && m)
      checks.push(`${topo}: ${(m / n).toFixed(1)}× faster than Mininet (target ≥ ${TARGET_VS_MININET}×)`);
  }
  for (const topo of topos) {
    const [n, f] = [med(topo, 'netsim'), med(topo, 'floor')];
    if (n && f && n / f > TARGET_VS_FLOOR)
      checks.push(`${topo}: ${(n / f).toFixed(2)}× the floor (target ≤ ${TARGET_VS_FLOOR}×)`);
  }
  if (checks.length) lines.push(checks.map((c) => `- ${c}`).join('\n'));

  return lines;
}

/** up -> converged -> full host ping matrix for a 10-router OSPF ring and a 10-AS eBGP chain. */
async function frrSuite(reps: number, log: (l: string) => void): Promise<string[]> {
  const cases: [string, () => Model][] = [
    ['ospf-ring,10', () => ospfRing(10)],
    ['bgp-chain,10', () => bgpChain(10)],
  ];
  const runs = new Map<string, FrrRun[]>();
  for (let rep = 0; rep < reps; rep++) {
    for (const [topo, model] of cases) {
      const r = await runFrr(topo, model());
      runs.set(topo, [...(runs.get(topo) ?? []), r]);
      log(
        `  rep ${rep + 1}/${reps} ${topo.padEnd(13)} built ${r.built.toFixed(2)} s, converged ${r.converged.toFixed(2)} s, matrix ${r.matrix.toFixed(2)} s`,
      );
      await settle();
    }
  }
  const lines = ['', '## Routed topologies with real FRR (seconds from the start of up)', ''];
  lines.push(
    '| topology | built + daemons | converged | full host ping matrix | spread | adjacencies / sessions |',
  );
  lines.push('|---|---:|---:|---:|---:|---|');
  for (const [topo] of cases) {
    const rs = runs.get(topo) ?? [];
    const m = (f: (r: FrrRun) => number) => median(rs.map(f)).toFixed(2);
    lines.push(
      `| ${topo} | ${m((r) => r.built)} | ${m((r) => r.converged)} | ${m((r) => r.matrix)} | ${spreadPercent(rs.map((r) => r.matrix)).toFixed(0)}% | ${rs[0]?.adjacencies ?? 0} OSPF / ${rs[0]?.sessions ?? 0} BGP |`,
    );
  }
  lines.push(
    '',
    `Median of ${reps}; OSPF hello 1 s / dead 4 s, SPF throttle 0/50/500 ms; BGP keepalive/hold as rendered by netsim; each host ping waits at most 1 s.`,
  );
  return lines;
}

/** Pods: up -> every pod reachable, agent memory, per-pod memory, VXLAN throughput vs a veth. */
/** kube-proxy at 10,000 services × 2 endpoints on one worker. */
async function servicesSuite(log: (l: string) => void): Promise<string[]> {
  const runs: ServicesRun[] = [];
  for (const n of [10000]) {
    log(`  ${n} services x 2 endpoints`);
    runs.push(await runServices(n));
    await settle();
  }
  return servicesReport(runs);
}

async function k8sSuite(reps: number, log: (l: string) => void): Promise<string[]> {
  const def: PodRun[] = [];
  for (let i = 0; i < reps; i++) {
    def.push(await runDefaultScenario());
    log(
      `  rep ${i + 1}/${reps} default scenario: up ${def[i].up.toFixed(2)} s, all pods reachable ${def[i].reachable.toFixed(2)} s`,
    );
    await settle();
  }
  log('  50 workers x 20 pods, direct path (cni: false)');
  const many = await runManyPods(50, 20, false);
  log(`  1000 pods direct: up ${many.up.toFixed(1)} s, reachable ${many.reachable.toFixed(1)} s`);
  await settle();
  log('  50 workers x 20 pods through the CNI plugins (the default)');
  const manyCni = await runManyPods(50, 20, true);
  log(`  1000 pods through CNI: up ${manyCni.up.toFixed(1)} s, reachable ${manyCni.reachable.toFixed(1)} s`);
  await settle();
  log('  iperf3: pod to pod across workers vs a raw veth');
  const tp = await runThroughput(5);
  const rss = [...def.flatMap((d) => d.agentRssMiB), ...many.agentRssMiB, ...manyCni.agentRssMiB];
  const lines = ['', '## Kubernetes pod networking', ''];
  lines.push('| case | pods | workers | up s | all pods reachable s | agent RSS MiB (median / max) |');
  lines.push('|---|---:|---:|---:|---:|---:|');
  const row = (r: PodRun, up: number, reach: number) =>
    `| ${r.name} | ${r.pods} | ${r.workers} | ${up.toFixed(2)} | ${reach.toFixed(2)} | ${median(r.agentRssMiB).toFixed(1)} / ${Math.max(...r.agentRssMiB).toFixed(1)} |`;
  lines.push(row(def[0], median(def.map((d) => d.up)), median(def.map((d) => d.reachable))));
  lines.push(row(many, many.up, many.reachable));
  lines.push(row(manyCni, manyCni.up, manyCni.reachable));
  lines.push('');
  lines.push(
    `Default scenario: median of ${reps} (target: all pods reachable ≤ 5 s, spread ${spreadPercent(def.map((d) => d.reachable)).toFixed(0)}%). Reachable = the first pod of each cluster pings every other pod of it.`,
  );
  lines.push(
    `1,000 pods through the CNI plugins (the default: a real ADD per pod, \`bridge\` execing \`host-local\`) against the direct path (cni: false), same run: up ${(manyCni.up / many.up).toFixed(2)}×, all reachable ${(manyCni.reachable / many.reachable).toFixed(2)}× (goal ≤ 1.5×). The default scenario's pods go through CNI too.`,
  );
  lines.push(
    `Agent memory: ${Math.max(...rss).toFixed(1)} MiB RSS at most over ${rss.length} agents (target ≤ 60 MB). Per pod (kernel: namespace, veth pair, routes, neighbours; MemAvailable lost minus the processes' PSS, over 1000 pods): ${(many.perPodKiB ?? 0).toFixed(0)} KiB.`,
  );
  lines.push(
    `iperf3 5 s, best of 2 interleaved: pod to pod across workers (VXLAN, MTU 1450) ${tp.podGbps.toFixed(2)} Gbit/s, raw veth ${tp.vethGbps.toFixed(2)} Gbit/s: ${((100 * tp.podGbps) / tp.vethGbps).toFixed(0)}% (target ≥ 70%).`,
  );
  return lines;
}

async function clabSuite(reps: number, log: (l: string) => void): Promise<string[]> {
  const runs: ClabRun[] = [];
  for (let i = 0; i < reps; i++) {
    runs.push(await runScaledNetwork(`benchsn${i}`));
    const r = runs[i];
    log(
      `  rep ${i + 1}/${reps} scaled-network: up ${r.upS.toFixed(1)} s, full matrix ${r.fullMatrixS.toFixed(1)} s, converged ${r.convergedS.toFixed(1)} s`,
    );
    await settle();
  }
  const m = (f: (r: ClabRun) => number) => median(runs.map(f));
  return [
    '',
    '## containerlab: Scaled-Network (frr01), unchanged files',
    '',
    '| nodes | host pairs | up s | first full ping matrix s | all sessions up, tables stable s |',
    '|---:|---:|---:|---:|---:|',
    `| ${runs[0].nodes} | ${runs[0].pairs} | ${m((r) => r.upS).toFixed(1)} | ${m((r) => r.fullMatrixS).toFixed(1)} | ${m((r) => r.convergedS).toFixed(1)} |`,
    '',
    `Median of ${reps} (spread of the full-matrix time ${spreadPercent(runs.map((r) => r.fullMatrixS)).toFixed(0)}%; target ≤ 60 s). Times from the start of \`up\` (parsing included); the matrix (60 hosts, one fping per host, 300 ms timeout) is polled every 0.5 s from the moment the network is built. The lab's OSPF instance 200 runs FRR's default timers (hello 10 s, dead 40 s, broadcast links), so its adjacencies wait out the 40 s wait timer before DR election; that, not netsim, sets the floor.`,
  ];
}

async function main(): Promise<void> {
  registerBuiltins();
  const { values } = parseArgs({
    options: {
      reps: { type: 'string', default: '3' },
      topo: { type: 'string', multiple: true },
      'no-mininet': { type: 'boolean', default: false },
      'ping-reps': { type: 'string', default: '3' },
      suite: { type: 'string', multiple: true },
      /** scale: `single` (single,1000 timed, then held up and checked) or `tree` (tree,2,71) */
      part: { type: 'string', multiple: true },
    },
  });
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (network namespaces)');
  const reps = Number(values.reps);
  const topos = values.topo?.length ? values.topo : DEFAULT_TOPOS;
  const log = (l: string) => console.error(l);
  const suites = values.suite?.length ? values.suite.flatMap((x) => x.split(',')) : SUITES;
  for (const x of suites)
    if (!SUITES.includes(x)) throw new Error(`unknown suite "${x}" (suites: ${SUITES.join(', ')})`);
  const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  // one file per suite, so running one suite does not erase the figures of another
  for (const suite of suites) {
    const run: Record<string, () => Promise<string[]>> = {
      engine: () => engineSuite(reps, topos, values['no-mininet'] ?? false, Number(values['ping-reps']), log),
      uts: () => utsSuite(Math.max(reps, 5), log),
      ipv6: () => ipv6Suite(Math.max(reps, 5), log),
      frr: () => frrSuite(reps, log),
      k8s: () => k8sSuite(reps, log),
      'dual-stack': () => dualStackSuite(reps, log),
      clab: () => clabSuite(reps, log),
      multicluster: () => multiclusterSuite(reps, log),
      ingress: async () => ingressReport(await runIngressBench()),
      services: () => servicesSuite(log),
      scale: () =>
        scaleSuite(
          reps,
          values['no-mininet'] ?? false,
          log,
          (values.part?.length ? values.part : ['single', 'tree']).map((x) => {
            if (x !== 'single' && x !== 'tree') throw new Error(`unknown scale part "${x}" (single, tree)`);
            return x;
          }),
        ),
      e2e: () =>
        e2eSuite(
          reps,
          values.topo?.length ? values.topo : ['single,200'],
          values['no-mininet'] ?? false,
          log,
        ),
    };
    const lines = await run[suite]();
    const report = `${lines.join('\n')}\n`;
    console.log(report);
    const out = join(resultsDir, `${suite}.md`);
    writeFileSync(out, report);
    log(`written to ${out}`);
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
