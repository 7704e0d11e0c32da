// The dual-stack default scenario (scenarios/dual-stack.ts) against the IPv4 one
// (scenarios/default.ts), interleaved in the same run: time to up, and to ready = services
// settled in every kube-proxy and every pod reachable from the first pod of its cluster over
// each family the scenario has (goal for the dual-stack one: ≤ 5 s).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { clustersOf } from '../src/features/k8s/cluster.js';
import { settleServices } from '../src/features/k8s/settle.js';
import { loadTopology, PROJECT_ROOT } from '../src/model/load.js';
import { pingFrom } from '../src/runtime/ping.js';
import { Simulation } from '../src/runtime/simulation.js';
import { median, settle } from './measure.js';

interface ScenarioRun {
  up: number;
  ready: number;
  pods: number;
}

/** Every pod reachable over `family` from the first pod of its cluster; repeated until none fails. */
async function reachable(sim: Simulation, family: 4 | 6, deadline: number): Promise<void> {
  for (;;) {
    let failed = 0;
    for (const c of clustersOf(sim)) {
      const pods = c
        .localPods()
        .map((p) => ({ name: p.name, ns: p.ns, ip: (family === 6 ? p.ip6 : p.ip) ?? '' }));
      if (pods.some((p) => !p.ip)) throw new Error(`a pod of ${c.name} has no IPv${family} address`);
      const res = await pingFrom(pods[0], pods.slice(1), { timeoutMs: 500, retries: 0 });
      failed += res.filter((r) => !r.ok).length;
    }
    if (failed === 0) return;
    if (performance.now() > deadline) throw new Error(`${failed} pods unreachable over IPv${family}`);
  }
}

async function runScenario(file: string, families: (4 | 6)[]): Promise<ScenarioRun> {
  const { model } = await loadTopology(join(PROJECT_ROOT, 'scenarios', file), {
    simName: `benchds_${randomBytes(3).toString('hex')}`,
  });
  const t0 = performance.now();
  const sim = await Simulation.up(model);
  try {
    const up = (performance.now() - t0) / 1000;
    await settleServices(sim, 10000);
    for (const f of families) await reachable(sim, f, performance.now() + 60000);
    const ready = (performance.now() - t0) / 1000;
    const pods = clustersOf(sim).reduce((n, c) => n + c.localPods().length, 0);
    return { up, ready, pods };
  } finally {
    await sim.down();
  }
}

export async function dualStackSuite(reps: number, log: (l: string) => void): Promise<string[]> {
  const dual: ScenarioRun[] = [];
  const v4: ScenarioRun[] = [];
  for (let i = 0; i < reps; i++) {
    dual.push(await runScenario('dual-stack.ts', [4, 6]));
    await settle();
    v4.push(await runScenario('default.ts', [4]));
    await settle();
    log(
      `  rep ${i + 1}/${reps}: dual-stack up ${dual[i].up.toFixed(2)} s, ready ${dual[i].ready.toFixed(2)} s; IPv4 up ${v4[i].up.toFixed(2)} s, ready ${v4[i].ready.toFixed(2)} s`,
    );
  }
  const row = (name: string, runs: ScenarioRun[]) =>
    `| ${name} | ${runs[0].pods} | ${median(runs.map((r) => r.up)).toFixed(2)} | ${median(runs.map((r) => r.ready)).toFixed(2)} |`;
  return [
    '',
    '## Dual-stack default scenario',
    '',
    '| scenario | pods | up s | ready s |',
    '|---|---:|---:|---:|',
    row('scenarios/dual-stack.ts (IPv4 + IPv6, flannel.1 + flannel-v6.1)', dual),
    row('scenarios/default.ts (IPv4)', v4),
    '',
    `Median of ${reps}, interleaved. Ready = up, then services settled in every kube-proxy, then every pod reachable from the first pod of its cluster over each family (the dual-stack one: IPv4, then IPv6). Target: dual-stack ready ≤ 5 s.`,
  ];
}
