// The FRR entries of a topology's `expect:` (ospf/ospf6 neighbours Full, BGP sessions of both
// families Established), checked against the routers' daemons, and waiting for routing to
// settle before any entry is checked (`netsim verify`).
import type { Expectation } from '../../model/expect.js';
import type { Settled } from '../../runtime/plugin.js';
import type { Simulation } from '../../runtime/simulation.js';
import { ConvergenceError } from './converge.js';
import { RouterNode } from './node.js';
import { parseBgpSummary } from './show-bgp.js';
import { hasFrrRouters } from './verbs.js';
import { type VtyshTarget, vtysh } from './vtysh.js';

async function ospfFull(sim: Simulation, name: string, v3: boolean): Promise<number | string> {
  const n = sim.nodes.get(name);
  if (!(n instanceof RouterNode) || !n.frr) return `${name} does not run FRR`;
  if (v3 && !n.frr.runIds.includes('ospf6d')) return `${name} does not run ospf6d`;
  const nbrs = await (v3 ? n.ospf6Neighbors() : n.ospfNeighbors()).catch(() => []);
  // on a LAN two DROthers stay 2-Way: that is their final state
  return nbrs.filter((x) => x.state === 'Full' || x.state.startsWith('2-Way')).length;
}

async function bgpSessions(sim: Simulation, name: string): Promise<{ up: number; all: number } | string> {
  const n = sim.nodes.get(name);
  if (!n) return `no node ${name}`;
  let text: string;
  // a router's daemons, or the BGP speaker another feature runs in its node (a worker's)
  const frr = (n as { frr?: VtyshTarget }).frr;
  if (n instanceof RouterNode && n.frr) text = await n.vtysh('show bgp summary json').catch(() => '{}');
  else if (frr) text = await vtysh(frr, ['show bgp summary json']).catch(() => '{}');
  else return `${name} does not run BGP`;
  const peers = parseBgpSummary(text).peers;
  return { up: peers.filter((p) => p.state === 'Established').length, all: peers.length };
}

/** An ospf/bgp entry checked now; undefined for entries of other kinds. */
export async function checkFrrExpectation(
  sim: Simulation,
  e: Expectation,
): Promise<{ ok: boolean; detail: string } | undefined> {
  if (e.kind === 'ospf' || e.kind === 'ospf6') {
    const n = await ospfFull(sim, e.router, e.kind === 'ospf6');
    if (typeof n === 'string') return { ok: false, detail: n };
    const what = e.kind === 'ospf' ? 'OSPF' : 'OSPFv3';
    return { ok: n === e.neighbors, detail: `${n} ${what} neighbour${n === 1 ? '' : 's'} Full` };
  }
  if (e.kind === 'bgp') {
    const s = await bgpSessions(sim, e.router);
    if (typeof s === 'string') return { ok: false, detail: s };
    const ok = e.established === undefined ? s.up > 0 && s.up === s.all : s.up === e.established;
    return { ok, detail: `${s.up} of ${s.all} BGP session${s.all === 1 ? '' : 's'} Established` };
  }
  return undefined;
}

/** Routing converged (or what is missing, as a note) before the entries are checked. */
export async function settleRouting(
  sim: Simulation,
  timeoutMs: number,
  log?: (line: string) => void,
): Promise<Settled | undefined> {
  if (!hasFrrRouters(sim)) return undefined;
  log?.('waiting for routing to converge');
  try {
    return { routingMs: Math.round((await sim.waitConverged({ timeout: timeoutMs })).ms), notes: [] };
  } catch (err) {
    if (!(err instanceof ConvergenceError)) throw err;
    return { notes: [err.message] };
  }
}
