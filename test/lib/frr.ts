// Helpers for the FRR tests: skip without FRR, host-only ping matrices, a REPL with its
// output captured, and checks that a simulation's FRR left nothing behind.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { Test } from 'tap';
import { FRR_BIN_DIR } from '../../src/features/frr/daemons.js';
import { RouterNode } from '../../src/features/frr/node.js';
import { type MatrixResult, pingMatrix } from '../../src/runtime/ping.js';
import type { Simulation } from '../../src/runtime/simulation.js';
import { Commands } from '../../src/surfaces/repl/commands.js';

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

/** The REPL's verbs with their output captured. */
export function repl(sim: Simulation) {
  const io = { out: '', err: '' };
  const cmds = new Commands(sim, {
    out: (s) => {
      io.out += s;
    },
    err: (s) => {
      io.err += s;
    },
  });
  /** runs a line; resolves with its exit status and the output it printed */
  const run = async (line: string) => {
    const [o, e] = [io.out.length, io.err.length];
    const code = await cmds.run(line);
    return { code, out: io.out.slice(o), err: io.err.slice(e) };
  };
  return { cmds, io, run };
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

export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 20000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
