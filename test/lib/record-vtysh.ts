// Records the vtysh output the parser tests read (test/unit/vtysh-parse.test.ts): brings up
// a small OSPF + BGP network with real FRR, waits for convergence, saves what vtysh prints.
// Needs root and FRR; hold the integration lock:
//   flock /tmp/netsim-it.lock node dist/test/lib/record-vtysh.js
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RouterNode } from '../../src/features/frr/node.js';
import { PROJECT_ROOT } from '../../src/model/load.js';
import { YamlSource } from '../../src/model/source.js';
import { validate } from '../../src/model/validate.js';
import { Simulation } from '../../src/runtime/simulation.js';

/** r1 -p2p- r2 (eBGP 65001-65002), r1 r2 r3 r4 on one LAN (DR election), r3 and r4 route
 * reflector clients of r2, r3's stub towards h3 in area 1. */
export const TOPOLOGY = `name: vtyrec
nodes:
  r1:
    kind: router
    loopback: 10.255.0.1
    ospf: {}
    bgp: {asn: 65001, neighbors: [{peer: 10.0.12.2, asn: 65002}], networks: [192.168.1.0/24]}
  r2:
    kind: router
    loopback: 10.255.0.2
    ospf: {}
    bgp:
      asn: 65002
      neighbors: [r1, {peer: r3, routeReflectorClient: true}, {peer: r4, routeReflectorClient: true}]
  r3:
    kind: router
    loopback: 10.255.0.3
    ospf: {interfaces: {eth1: {}, eth2: {area: 1}, lo: {}}}
    bgp: {asn: 65002, neighbors: [r2]}
  r4:
    kind: router
    loopback: 10.255.0.4
    ospf: {}
    bgp: {asn: 65002, neighbors: [r2], networks: [192.168.4.0/24]}
  s1: {kind: switch}
  h1: {kind: host}
  h3: {kind: host}
  h4: {kind: host}
links:
  - {endpoints: [r1, r2], subnet: 10.0.12.0/30}
  - {endpoints: [r1, s1]}
  - {endpoints: [r2, s1]}
  - {endpoints: [r3, s1]}
  - {endpoints: [r4, s1]}
  - {endpoints: [r1, h1], subnet: 192.168.1.0/24}
  - {endpoints: [r3, h3], subnet: 192.168.3.0/24}
  - {endpoints: [r4, h4], subnet: 192.168.4.0/24}
`;

/** fixture file -> [router, vtysh command] */
export const RECORDED: Record<string, [string, string]> = {
  'r1-ospf-neighbor.out': ['r1', 'show ip ospf neighbor json'],
  'r1-ospf-interface.out': ['r1', 'show ip ospf interface json'],
  'r3-ospf-database-router.out': ['r3', 'show ip ospf database router json'],
  'r2-bgp-summary.out': ['r2', 'show bgp summary json'],
  'r2-bgp-neighbors.out': ['r2', 'show bgp neighbors json'],
  'r2-bgp-update-groups.out': ['r2', 'show bgp ipv4 unicast update-groups'],
  'r3-bgp-ipv4.out': ['r3', 'show bgp ipv4 unicast json'],
  'r3-bgp-prefix.out': ['r3', 'show bgp ipv4 unicast 192.168.4.0/24 json'],
  'r3-route.out': ['r3', 'show ip route json'],
};

/** one `vtysh -E` run with several commands, for splitSections */
export const SECTIONS: [string, string[]] = ['r1', ['show ip route json', 'show bgp summary json']];

async function record(): Promise<void> {
  const dir = join(PROJECT_ROOT, 'test', 'unit', 'fixtures', 'vtysh');
  const { source, value } = YamlSource.parse('record.yml', TOPOLOGY);
  const sim = await Simulation.up(validate(value, source));
  try {
    await sim.waitConverged({ timeout: 60000 });
    const router = (name: string) => sim.node(name) as RouterNode;
    for (const [file, [name, command]] of Object.entries(RECORDED))
      writeFileSync(join(dir, file), await router(name).vtysh(command));
    const [name, commands] = SECTIONS;
    const r = router(name);
    const args = ['--vty_socket', r.frr!.dir, '--config_dir', r.frr!.dir, '-E'];
    for (const c of commands) args.push('-c', c);
    const res = await sim.kernel.tool(r.ns, 'vtysh', args);
    writeFileSync(join(dir, 'r1-sections.out'), res.stdout);
    const version = await sim.kernel.tool(r.ns, 'vtysh', ['--vty_socket', r.frr!.dir, '-c', 'show version']);
    writeFileSync(join(dir, 'frr-version.out'), `${version.stdout.split('\n')[0]}\n`);
  } finally {
    await sim.down();
  }
}

if (process.argv[1]?.endsWith('record-vtysh.js')) await record();
