// The Scaled-Network lab (79 nodes: 13 FRR routers, 6 cEOS switches, 60 hosts) from its own,
// unchanged containerlab files: every BGP session and OSPF adjacency its configs declare
// comes up, and all 60 hosts reach each other (3540 pairs).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import type { RouterNode } from '../../src/features/frr/node.js';
import { loadTopology, PROJECT_ROOT } from '../../src/model/load.js';
import { Simulation } from '../../src/runtime/simulation.js';
import { waitFor } from '../../src/util/wait.js';
import { failedPairs, hostMatrix, requireFrr } from '../lib/frr.js';
import { requireRoot, uniqueName } from '../lib/harness.js';

const REF = resolve(
  process.env.NETSIM_SHARED ?? join(PROJECT_ROOT, '..', 'shared'),
  'reference/scaled-network',
);
const LAB = join(REF, 'frr01.clab.yml');

if (!existsSync(LAB))
  t.plan(0, `the reference lab is not here (${LAB}); set NETSIM_SHARED to the shared directory`);
else if (requireRoot(t) && requireFrr(t)) {
  t.test('Scaled-Network runs unchanged: 11 BGP sessions, 4 OSPF adjacencies, 3540 host pairs', async (t) => {
    const t0 = performance.now();
    const { model, notes } = await loadTopology(LAB, { simName: uniqueName('sn') });
    t.equal(model.nodes.size, 79, '79 nodes');
    t.equal(model.links.length, 81, '81 links');
    const kinds = (k: string) => [...model.nodes.values()].filter((n) => n.kind === k).length;
    t.same(
      [kinds('router'), kinds('switch'), kinds('host')],
      [13, 6, 60],
      '13 routers, 6 switches, 60 hosts',
    );
    t.ok(
      notes?.some((n) => n.includes('ip-mapping.txt')),
      'the hosts are addressed from ip-mapping.txt',
    );
    const sim = await Simulation.up(model, {
      log: process.env.NETSIM_TEST_LOG ? (l) => t.comment(l) : undefined,
    });
    t.teardown(() => sim.down());
    const built = performance.now();
    const conv = await sim.waitConverged({ timeout: 120000 });
    const converged = performance.now();
    // each session and adjacency is counted at both of its ends
    t.equal(conv.bgpSessions, 22, 'all 11 BGP sessions Established (22 ends)');
    t.equal(conv.ospfAdjacencies, 8, 'all 4 OSPF adjacencies of instance 200 Full (8 ends)');
    // OSPF instances that the daemons files do not start stay off, as upstream
    const r3 = sim.node('router3') as RouterNode;
    const ospf = await r3.vtysh('show ip ospf neighbor');
    t.notMatch(ospf, /Full/, 'router3 runs no OSPF (its instance 100 is not in ospfd_instances)');

    // BGP may still be passing the last updates when the tables looked stable: the matrix
    // again until every pair answers; if some never do, the check below lists them
    let m = await hostMatrix(sim);
    if (m.failed > 0)
      await waitFor(
        async () => {
          m = await hostMatrix(sim);
          return m.failed === 0;
        },
        {
          what: 'every pair of hosts to reach each other',
          timeoutMs: 15000,
          intervalMs: 1000,
        },
      ).catch(() => undefined);
    const done = performance.now();
    t.equal(m.pairs, 3540, '60 hosts: 3540 ordered pairs');
    t.equal(
      m.failed,
      0,
      `every pair reachable${m.failed ? `: ${failedPairs(m).slice(0, 10).join(' ')}` : ''}`,
    );
    t.comment(
      `up ${((built - t0) / 1000).toFixed(1)} s, converged +${((converged - built) / 1000).toFixed(1)} s, matrix +${((done - converged) / 1000).toFixed(1)} s: up to full matrix ${((done - t0) / 1000).toFixed(1)} s`,
    );
  });
}
