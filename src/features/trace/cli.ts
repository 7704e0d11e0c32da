// `netsim trace` (on the running simulation, from any shell, like `netsim exec`/`check`) and
// `netsim verify` (brings a topology up, checks its expectations, tears it down).
import { existsSync } from 'node:fs';
import { loadTopology } from '../../model/load.js';
import { controlRequest, controlSocket } from '../../runtime/control.js';
import { Simulation } from '../../runtime/simulation.js';
import { pickRunning } from '../../runtime/state.js';
import { formatTrace, formatTraceJson, type TraceResult, Tracer } from './trace.js';
import { traceArgs } from './verbs.js';
import { formatVerify, verify } from './verify.js';

/** Exit status: 0 delivered, 1 not delivered (refused, dropped, no answer). */
export async function cmdTrace(
  src: string,
  dst: string,
  port: string | undefined,
  opts: { sim?: string; json?: boolean; timeout?: string; ipv4?: boolean; ipv6?: boolean },
): Promise<void> {
  const a = traceArgs([
    src,
    dst,
    ...(port === undefined ? [] : [port]),
    ...(opts.ipv4 ? ['-4'] : []),
    ...(opts.ipv6 ? ['-6'] : []),
  ]);
  const state = pickRunning(opts.sim);
  const timeoutMs = opts.timeout ? Number(opts.timeout) * 1000 : undefined;
  if (timeoutMs !== undefined && !(timeoutMs > 0))
    throw new Error(`--timeout: "${opts.timeout}" is not a number of seconds`);
  // the simulation's own process traces when it can be reached (its web view then draws the
  // path, and it knows services without endpoints); otherwise this process does, from the state
  const r = existsSync(controlSocket(state.name))
    ? ((
        await controlRequest(
          state.name,
          { op: 'trace', src: a.src, dst: a.dst, port: a.port, family: a.family, timeoutMs },
          (timeoutMs ?? 2000) + 60000,
        )
      ).trace as TraceResult)
    : await Tracer.fromState(state).trace(a.src, a.dst, { port: a.port, family: a.family, timeoutMs });
  process.stdout.write(opts.json ? formatTraceJson(r) : formatTrace(r));
  process.exitCode = r.outcome === 'delivered' ? 0 : 1;
}

/** Exit status: 0 every expectation holds, 1 one failed (named in the report), 2 bad topology. */
export async function cmdVerify(
  topology: string,
  opts: { name?: string; json?: boolean; timeout?: string; quiet?: boolean },
): Promise<void> {
  const log = opts.quiet || opts.json ? undefined : (l: string) => process.stderr.write(`${l}\n`);
  const loaded = await loadTopology(topology, { simName: opts.name });
  const expectations = loaded.model.expectations ?? [];
  if (expectations.length === 0)
    throw new Error(`${loaded.file} has no expect: entries to verify (see netsim help verify)`);
  const timeoutMs = opts.timeout ? Number(opts.timeout) * 1000 : 60000;
  if (!(timeoutMs > 0)) throw new Error(`--timeout: "${opts.timeout}" is not a number of seconds`);
  const sim = await Simulation.up(loaded.model, { log, source: loaded.file });
  const stop = () => void sim.down().then(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    if (loaded.scenario?.ready) {
      // a scenario's own set-up (policies, workloads); what it prints goes to stderr
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
      try {
        await loaded.scenario.ready(sim);
      } finally {
        process.stdout.write = write;
      }
    }
    const report = await verify(sim, expectations, { timeoutMs, topology: loaded.file, log });
    process.stdout.write(opts.json ? `${JSON.stringify(report, null, 1)}\n` : formatVerify(report));
    process.exitCode = report.failed ? 1 : 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await sim.down();
  }
}
