// Scaled-Network (frr01): a real 79-node containerlab lab from a public research repository
// (13 FRR routers, 6 Arista cEOS switches, 60 hosts), run from its own unchanged files: those in
// ../shared/reference/scaled-network (or $NETSIM_SHARED/reference/scaled-network) when present,
// otherwise a clone of https://github.com/Hamidhrf/Scaled-Network (its frr01.clab.yml), cached in
// ~/.cache/netsim/labs (the repository has no licence, so its files are not shipped here). The
// cEOS switches become Linux bridges, the hosts are addressed from the lab's ip-mapping.txt.
// OSPF instance 200 uses FRR's default timers, so its adjacencies take about 40 s.
//   Try:  router2 vtysh -c "show ip ospf 200 neighbor"     client1 ping -c2 Edge_server9
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../src/model/load.js';
import type { Simulation } from '../src/runtime/simulation.js';

export const name = 'frr01';

const local = join(
  resolve(process.env.NETSIM_SHARED ?? join(PROJECT_ROOT, '..', 'shared')),
  'reference/scaled-network/frr01.clab.yml',
);

export const topology = existsSync(local) ? local : 'https://github.com/Hamidhrf/Scaled-Network';
/** the lab in the repository, when `topology` is its URL */
export const topologyFile = 'frr01.clab.yml';

export async function ready(sim: Simulation): Promise<void> {
  process.stdout.write('\nwaiting for BGP and OSPF (FRR default timers: up to a minute) ...\n');
  const conv = await sim.waitConverged({ timeout: 120000 });
  process.stdout.write(
    `converged in ${(conv.ms / 1000).toFixed(1)} s: ${conv.bgpSessions / 2} BGP sessions, ${conv.ospfAdjacencies / 2} OSPF adjacencies\n` +
      '  try:  client1 ping -c2 Edge_server9     router2 vtysh -c "show ip bgp summary"     pingall\n',
  );
}
