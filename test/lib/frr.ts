// Helpers for the FRR tests: skip without FRR, host-only ping matrices, and checks that a
// simulation's FRR left nothing behind.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { Test } from 'tap';
import { FRR_BIN_DIR } from '../../src/features/frr/daemons.js';
import { RouterNode } from '../../src/features/frr/node.js';
import { type MatrixResult, pingMatrix } from '../../src/runtime/ping.js';
import type { Simulation } from '../../src/runtime/simulation.js';
import { waitFor } from '../../src/util/wait.js';

/** @deprecated moved to ./repl.js (the REPL driver); re-exported for the FRR tests owned elsewhere */
export { repl } from './repl.js';

/** Skips the whole file with a printed reason when FRR is not installed. */
export function requireFrr(t: Test): boolean {
  for (const d of ['zebra', 'staticd', 'ospfd', 'bgpd']) {
    if (!existsSync(`${FRR_BIN_DIR}/${d}`)) {
      t.plan(0, `FRR is not installed (${FRR_BIN_DIR}/${d} missing; apt-get install frr)`);
      return false;
    }
  }
  if (!existsSync('/usr/bin/vtysh')) {
    t.plan(0, 'vtysh is not installed (apt-get install frr)');
    return false;
  }
  return true;
}

/** Ping matrix between the hosts only (routers' own addresses need not be routed). */
export function hostMatrix(sim: Simulation, timeoutMs = 1000): Promise<MatrixResult> {
  const targets = [...sim.nodes.values()]
    .filter((n) => n.kind === 'host' && n.ip)
    .map((n) => ({ name: n.name, ns: n.ns, ip: n.ip! }));
  return pingMatrix(targets, { timeoutMs });
}

export function failedPairs(m: MatrixResult): string[] {
  return m.results.filter((r) => !r.ok).map((r) => `${r.src}->${r.dst}`);
}

export function router(sim: Simulation, name: string): RouterNode {
  const n = sim.node(name);
  if (!(n instanceof RouterNode)) throw new Error(`${name} is not a router`);
  return n;
}

/** PIDs of running FRR daemons whose command line mentions this simulation's directory. */
export function frrProcessesOf(sim: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.startsWith(`${FRR_BIN_DIR}/`) && cmd.includes(`/sims/${sim}/`)) pids.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return pids;
}

/** FRR's per-pathspace directories (/var/run/frr/<sim>-<router>) of a simulation. */
export function frrStateDirsOf(sim: string): string[] {
  try {
    return readdirSync('/var/run/frr').filter((d) => d.startsWith(`${sim}-`));
  } catch {
    return [];
  }
}

/** @deprecated kept for frr-ospf.test.ts (owned elsewhere): use waitFor from src/util/wait.ts */
export function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 20000,
  intervalMs = 200,
): Promise<T> {
  return waitFor(probe, { what, timeoutMs, intervalMs }) as Promise<T>;
}
