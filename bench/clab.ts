// The Scaled-Network lab from its unchanged containerlab files: time from `up` to the first
// full 60-host ping matrix (polled from the moment the network is built, not after
// convergence), and when the FRR sessions were all up.
import { join, resolve } from 'node:path';
import { loadTopology, PROJECT_ROOT } from '../src/model/load.js';
import { pingMatrix } from '../src/runtime/ping.js';
import { Simulation } from '../src/runtime/simulation.js';

export interface ClabRun {
  nodes: number;
  upS: number;
  convergedS: number;
  fullMatrixS: number;
  pairs: number;
}

export const SCALED_NETWORK = join(
  resolve(process.env.NETSIM_SHARED ?? join(PROJECT_ROOT, '..', 'shared')),
  'reference/scaled-network/frr01.clab.yml',
);

export async function runScaledNetwork(simName: string): Promise<ClabRun> {
  const t0 = performance.now();
  const { model } = await loadTopology(SCALED_NETWORK, { simName });
  const sim = await Simulation.up(model);
  try {
    const upS = (performance.now() - t0) / 1000;
    const hosts = [...sim.nodes.values()]
      .filter((n) => n.kind === 'host' && n.ip)
      .map((n) => ({ name: n.name, ns: n.ns, ip: n.ip! }));
    let convergedS = Number.NaN;
    const conv = sim
      .waitConverged({ timeout: 180000 })
      .then(() => {
        convergedS = (performance.now() - t0) / 1000;
      })
      .catch(() => undefined);
    let fullMatrixS = Number.NaN;
    let pairs = 0;
    while (performance.now() - t0 < 180000) {
      const m = await pingMatrix(hosts, { timeoutMs: 300 });
      pairs = m.pairs;
      if (m.failed === 0) {
        fullMatrixS = (performance.now() - t0) / 1000;
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    await conv;
    return { nodes: model.nodes.size, upS, convergedS, fullMatrixS, pairs };
  } finally {
    await sim.down();
  }
}
