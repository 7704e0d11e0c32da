// netsim through its library API, as a program embedding it would: topology from the builder,
// validated, Simulation.up, then down. The clock covers all of that.
import { randomBytes } from 'node:crypto';
import type { Model } from '../src/model/model.js';
import { builtinTopology } from '../src/model/topos.js';
import { validate } from '../src/model/validate.js';
import type { PhaseTiming } from '../src/runtime/simulation.js';
import { Simulation } from '../src/runtime/simulation.js';

/** `family`: the topology's addressing.family (default: the built-in's, IPv4 only). */
export function benchModel(topo: string, prefix: string, family?: 'ipv4' | 'ipv6' | 'dual'): Model {
  const t = builtinTopology(topo);
  if (!t) throw new Error(`not a built-in topology: ${topo}`);
  const spec = t.toSpec();
  if (family) spec.addressing = { ...spec.addressing, family };
  return validate(spec, t.source, { simName: `${prefix}_${randomBytes(3).toString('hex')}` });
}

export interface NetsimRun {
  seconds: number;
  up: number;
  down: number;
  timings: PhaseTiming[];
}

/**
 * `uts: false`: no UTS namespace per node (to measure what they cost); `hosts`: each node's own
 * /etc/hosts too, as an imported lab has (a mount namespace per node); `family`: the
 * topology's addressing.family (dual-stack against IPv4 only).
 */
export async function runNetsim(
  topo: string,
  opts: { uts?: boolean; hosts?: boolean; family?: 'ipv4' | 'ipv6' | 'dual' } = {},
): Promise<NetsimRun> {
  const t0 = performance.now();
  const model = benchModel(topo, 'bench', opts.family);
  if (opts.hosts) model.hosts = {};
  const sim = await Simulation.up(model, { uts: opts.uts });
  const t1 = performance.now();
  await sim.down();
  const t2 = performance.now();
  return { seconds: (t2 - t0) / 1000, up: (t1 - t0) / 1000, down: (t2 - t1) / 1000, timings: sim.timings };
}

/** All-pairs ping (sim.pingAll) on single,<hosts>; the network is built before the clock starts. */
export async function runPingAll(
  hosts: number,
  reps: number,
): Promise<{ seconds: number[]; failures: number }> {
  const sim = await Simulation.up(benchModel(`single,${hosts}`, 'benchping'));
  const seconds: number[] = [];
  let failures = 0;
  try {
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      const r = await sim.pingAll();
      seconds.push((performance.now() - t0) / 1000);
      failures += r.failed;
    }
  } finally {
    await sim.down();
  }
  return { seconds, failures };
}
