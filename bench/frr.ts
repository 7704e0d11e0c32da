// Routed topologies with real FRR: a ring of 10 OSPF routers and a chain of 10 eBGP ASes, a
// host behind each router. Clocks from the start of Simulation.up to (a) the network built
// and the daemons started, (b) waitConverged() satisfied, (c) the first full host ping matrix.
import { randomBytes } from 'node:crypto';
import { Topology } from '../src/model/builder.js';
import type { Model } from '../src/model/model.js';
import { validate } from '../src/model/validate.js';
import { pingMatrix } from '../src/runtime/ping.js';
import { Simulation } from '../src/runtime/simulation.js';

export interface FrrRun {
  topo: string;
  built: number;
  converged: number;
  matrix: number;
  /** ping rounds until every host pair answered */
  rounds: number;
  adjacencies: number;
  sessions: number;
}

function build(topo: string, fill: (t: Topology) => void): Model {
  const t = new Topology(`benchfrr_${randomBytes(3).toString('hex')}`, `bench:${topo}`);
  fill(t);
  return validate(t.toSpec(), t.source, { simName: t.name });
}

/** r1..rN in a ring (eth1 to the next, eth2 to the previous), each with a host on eth3. */
export function ospfRing(n: number): Model {
  return build(`ospf-ring,${n}`, (t) => {
    for (let i = 1; i <= n; i++) t.router(`r${i}`, { ospf: { area: 0 } });
    for (let i = 1; i <= n; i++) t.host(`h${i}`);
    for (let i = 1; i <= n; i++) t.link(`r${i}`, `r${(i % n) + 1}`);
    for (let i = 1; i <= n; i++) t.link(`r${i}`, `h${i}`);
  });
}

/** r1..rN in a line, router i in AS 65000+i peering with its neighbours, each announcing its host's LAN. */
export function bgpChain(n: number): Model {
  return build(`bgp-chain,${n}`, (t) => {
    for (let i = 1; i <= n; i++) {
      const neighbors = [i > 1 ? `r${i - 1}` : undefined, i < n ? `r${i + 1}` : undefined].filter(Boolean);
      // links are numbered in order: the chain first, then the host link
      const hostIf = `eth${neighbors.length + 1}`;
      t.router(`r${i}`, { bgp: { asn: 65000 + i, neighbors, networks: [hostIf] } });
      t.host(`h${i}`);
    }
    for (let i = 1; i < n; i++) t.link(`r${i}`, `r${i + 1}`);
    for (let i = 1; i <= n; i++) t.link(`r${i}`, `h${i}`);
  });
}

export async function runFrr(topo: string, model: Model): Promise<FrrRun> {
  const t0 = performance.now();
  const sim = await Simulation.up(model);
  try {
    const built = performance.now();
    const conv = await sim.waitConverged({ timeout: 120000 });
    const converged = performance.now();
    const hosts = [...sim.nodes.values()]
      .filter((x) => x.kind === 'host' && x.ip)
      .map((x) => ({ name: x.name, ns: x.ns, ip: x.ip! }));
    let rounds = 0;
    for (;;) {
      rounds++;
      const m = await pingMatrix(hosts, { timeoutMs: 1000 });
      if (m.failed === 0) break;
      if (performance.now() - t0 > 180000) throw new Error(`${topo}: ${m.failed} host pairs still fail`);
    }
    const matrix = performance.now();
    return {
      topo,
      built: (built - t0) / 1000,
      converged: (converged - t0) / 1000,
      matrix: (matrix - t0) / 1000,
      rounds,
      adjacencies: conv.ospfAdjacencies,
      sessions: conv.bgpSessions,
    };
  } finally {
    await sim.down();
  }
}
