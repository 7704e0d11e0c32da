// REPL verbs for FRR routers: fault injection (stop/start a router's daemons, kill one) and
// waiting for routing to settle, each printing how long re-convergence took.
import type { Io, Verb } from '../../runtime/plugin.js';
import type { Simulation } from '../../runtime/simulation.js';
import { ConvergenceError, type ConvergeReport, waitConverged } from './converge.js';
import { RouterNode } from './node.js';

export function hasFrrRouters(sim: Simulation): boolean {
  return [...sim.nodes.values()].some((n) => n instanceof RouterNode && n.frr !== undefined);
}

function frrRouter(sim: Simulation, name: string | undefined): RouterNode {
  const node = sim.node(name ?? '');
  if (!(node instanceof RouterNode) || !node.frr)
    throw new Error(`${node.name} is not a router running FRR (give it ospf, bgp or frr in the topology)`);
  return node;
}

/** "N OSPFv3 adjacencies, " when there are any (an IPv4-only network prints what it did). */
function ospf6Text(r: ConvergeReport): string {
  return r.ospf6Adjacencies ? `${r.ospf6Adjacencies} OSPFv3 adjacencies, ` : '';
}

/**
 * Waits for routing to settle after a change made at `t0` (performance.now()) and prints
 * the time; a timeout prints what is still missing. Returns the exit status.
 */
export async function reportConvergence(
  sim: Simulation,
  io: Io,
  t0: number,
  timeoutMs = 60000,
): Promise<number> {
  const waitStart = performance.now();
  try {
    const r = await waitConverged(sim, { timeout: timeoutMs });
    const s = (waitStart - t0 + r.ms) / 1000;
    io.out(
      `*** re-converged in ${s.toFixed(2)} s (${r.ospfAdjacencies} OSPF adjacencies, ${ospf6Text(r)}${r.bgpSessions} BGP sessions)\n`,
    );
    return 0;
  } catch (err) {
    if (!(err instanceof ConvergenceError)) throw err;
    io.err(`*** ${err.message}\n`);
    return 1;
  }
}

export function frrVerbs(sim: Simulation, io: Io): Verb[] {
  /** `stop|start router [daemon...]`: what changed, then the time routing took to settle */
  const daemonsVerb = (
    verb: 'stop' | 'start',
    help: string,
    unchanged: string,
    act: (r: RouterNode, daemons: string[]) => Promise<string[]>,
  ): Verb => ({
    names: [verb],
    usage: `${verb} router [daemon...]`,
    help: `${help}; prints re-convergence time`,
    async run([name, ...daemons]) {
      const r = frrRouter(sim, name);
      const t0 = performance.now();
      const changed = await act(r, daemons);
      io.out(
        `${r.name}: ${verb === 'stop' ? 'stopped' : 'started'} ${changed.length ? changed.join(', ') : `nothing (${unchanged})`}\n`,
      );
      return reportConvergence(sim, io, t0);
    },
  });
  return [
    daemonsVerb(
      'stop',
      "stop a router's FRR daemons (all of them: the router is down)",
      'not running',
      (r, d) => r.stopDaemons(d),
    ),
    daemonsVerb('start', "start a router's FRR daemons that are not running", 'all running', (r, d) =>
      r.startDaemons(d),
    ),
    {
      names: ['kill'],
      usage: 'kill router daemon [signal]',
      help: 'kill one FRR daemon (SIGKILL: a crash); prints re-convergence time',
      async run([name, daemon, signal]) {
        const r = frrRouter(sim, name);
        if (!daemon) {
          io.err(`*** usage: kill ${r.name} <daemon> (${r.frr!.runIds.join(', ')})\n`);
          return 1;
        }
        const sig = (
          signal ? (signal.startsWith('SIG') ? signal : `SIG${signal}`).toUpperCase() : 'SIGKILL'
        ) as NodeJS.Signals;
        const t0 = performance.now();
        await r.killDaemon(daemon, sig);
        io.out(`${r.name}: ${daemon} killed (${sig})\n`);
        return reportConvergence(sim, io, t0);
      },
    },
    {
      names: ['daemons'],
      usage: 'daemons [router]',
      help: 'FRR daemons of each router, with their PIDs',
      async run([name]) {
        const routers = name
          ? [frrRouter(sim, name)]
          : [...sim.nodes.values()].filter(
              (n): n is RouterNode => n instanceof RouterNode && n.frr !== undefined,
            );
        for (const r of routers)
          io.out(
            `${r.name}: ${r
              .daemons()
              .map((d) => `${d.id}${d.running ? `(${d.pid})` : '(stopped)'}`)
              .join(' ')}\n`,
          );
        return 0;
      },
    },
    {
      names: ['converge'],
      usage: 'converge [timeout-seconds]',
      help: 'wait until OSPF adjacencies are Full and BGP sessions Established as configured',
      async run([timeout]) {
        const ms = timeout ? Number(timeout) * 1000 : 60000;
        if (!(ms > 0)) {
          io.err('*** usage: converge [timeout-seconds]\n');
          return 1;
        }
        try {
          const r = await waitConverged(sim, { timeout: ms });
          io.out(
            `*** converged in ${(r.ms / 1000).toFixed(2)} s: ${r.routers} routers, ${r.ospfAdjacencies} OSPF adjacencies, ${ospf6Text(r)}${r.bgpSessions} BGP sessions\n`,
          );
          return 0;
        } catch (err) {
          if (!(err instanceof ConvergenceError)) throw err;
          io.err(`*** ${err.message}\n`);
          return 1;
        }
      },
    },
  ];
}
