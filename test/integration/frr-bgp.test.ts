// BGP with real FRR: a chain of three ASes from the users' own frr.conf and daemons files
// (prefixes learned, AS-path loop prevention visible), iBGP with a route reflector over an
// OSPF underlay (rendered from intent), and a BGP daemon crash in the middle of a chain.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadTopology } from '../../src/model/load.js';
import { netsim, tempDir, writeFile } from '../lib/cli.js';
import { failedPairs, frrProcessesOf, hostMatrix, repl, requireFrr, router } from '../lib/frr.js';
import { modelFromYaml, requireRoot, uniqueName, up } from '../lib/harness.js';

const R1_CONF = `frr defaults traditional
hostname r1
this line is not an FRR command
!
router bgp 65001
 bgp router-id 1.1.1.1
 no bgp ebgp-requires-policy
 timers bgp 1 3
 neighbor 10.0.12.2 remote-as 65002
 neighbor 10.0.12.2 timers connect 1
 address-family ipv4 unicast
  network 192.168.1.0/24
  neighbor 10.0.12.2 soft-reconfiguration inbound
 exit-address-family
!
`;
const R2_CONF = `frr defaults traditional
hostname r2
router bgp 65002
 bgp router-id 2.2.2.2
 no bgp ebgp-requires-policy
 timers bgp 1 3
 neighbor 10.0.12.1 remote-as 65001
 neighbor 10.0.12.1 timers connect 1
 neighbor 10.0.23.2 remote-as 65003
 neighbor 10.0.23.2 timers connect 1
!
`;
// r3 also announces 198.51.100.0/24 with 65001 already in its AS path: r1 must refuse it
const R3_CONF = `frr defaults traditional
hostname r3
ip route 198.51.100.0/24 Null0
!
route-map LOOP permit 10
 set as-path prepend 65001
exit
!
router bgp 65003
 bgp router-id 3.3.3.3
 no bgp ebgp-requires-policy
 timers bgp 1 3
 neighbor 10.0.23.1 remote-as 65002
 neighbor 10.0.23.1 timers connect 1
 address-family ipv4 unicast
  network 192.168.3.0/24
  network 198.51.100.0/24 route-map LOOP
 exit-address-family
!
`;
const DAEMONS = `# as Debian ships it
bgpd=yes
ospfd=no
vtysh_enable=yes
zebra_options="  -A 127.0.0.1 -s 90000000"
bgpd_options="   -A 127.0.0.1"
`;
// r2's comes from a newer FRR (9/10): mgmtd and its options, which this FRR does not have, are
// read as FRR's init reads the file (shell variables; mgmtd=no is harmless); the options of the
// daemons it runs reach them
const DAEMONS_FRR10 = `# as FRR 10 ships it
bgpd=yes
ospfd=no
mgmtd=no
pim6d=no
sharpd=no
vtysh_enable=yes
zebra_options="  -A 127.0.0.1 -s 90000000"
mgmtd_options="  -A 127.0.0.1"
bgpd_options="   --daemon -A 127.0.0.1"
staticd_options="-A 127.0.0.1"
frr_profile="traditional"
MAX_FDS=1024
FRR_NO_ROOT="yes"
#frr_global_options=""
`;
const CHAIN = `name: chain
nodes:
  r1: {kind: router, frr: {config: r1/frr.conf, daemons: r1/daemons}}
  r2: {kind: router, frr: {config: r2/frr.conf, daemons: r2/daemons}}
  r3: {kind: router, frr: {config: r3/frr.conf}}
  h1: {kind: host}
  h3: {kind: host}
links:
  - {endpoints: ["r1:eth1", "r2:eth1"], ipv4: [10.0.12.1/30, 10.0.12.2/30]}
  - {endpoints: ["r2:eth2", "r3:eth1"], ipv4: [10.0.23.1/30, 10.0.23.2/30]}
  - {endpoints: ["r1:eth2", h1], ipv4: [192.168.1.1/24, 192.168.1.10/24]}
  - {endpoints: ["r3:eth2", h3], ipv4: [192.168.3.1/24, 192.168.3.10/24]}
`;

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

if (requireRoot(t) && requireFrr(t)) {
  t.test("eBGP chain of three ASes from the users' own frr.conf and daemons files", async (t) => {
    const dir = tempDir(t);
    // the topology refers to r1/frr.conf etc., relative to its own file
    const confs: [string, string][] = [
      ['r1', R1_CONF],
      ['r2', R2_CONF],
      ['r3', R3_CONF],
    ];
    for (const [r, conf] of confs) {
      mkdirSync(join(dir, r));
      writeFileSync(join(dir, r, 'frr.conf'), conf);
    }
    writeFileSync(join(dir, 'r1', 'daemons'), DAEMONS);
    writeFileSync(join(dir, 'r2', 'daemons'), DAEMONS_FRR10);
    const file = writeFile(dir, 'chain.yml', CHAIN);
    const before = sha(readFileSync(join(dir, 'r1', 'frr.conf'), 'utf8'));

    const { model } = await loadTopology(file, { simName: uniqueName() });
    const sim = await up(t, model);
    const conv = await sim.waitConverged({ timeout: 20000 });
    t.comment(`converged ${(conv.ms / 1000).toFixed(2)} s after up (FRR's default 1 s update coalescing)`);
    t.equal(conv.bgpSessions, 4, 'r1-r2 and r2-r3, both ends Established');
    const [r1, r2, r3] = ['r1', 'r2', 'r3'].map((n) => router(sim, n));

    // the daemons files are honoured; r3 (no file) runs what its frr.conf needs
    t.same(
      r1.daemons().map((d) => d.id),
      ['zebra', 'staticd', 'bgpd'],
      'r1: zebra, staticd, bgpd (ospfd=no)',
    );
    t.same(
      r3.daemons().map((d) => d.id),
      ['zebra', 'staticd', 'bgpd'],
      'r3: inferred from router bgp',
    );
    const zebraCmd = readFileSync(`/proc/${r1.daemons()[0].pid}/cmdline`, 'utf8').split('\0');
    t.ok(zebraCmd.includes('-s') && zebraCmd.includes('90000000'), 'zebra_options reach zebra');
    t.same(
      r2.daemons().map((d) => d.id),
      ['zebra', 'staticd', 'bgpd'],
      'r2 (an FRR 10 daemons file with mgmtd=no): zebra, staticd, bgpd',
    );
    const r2Zebra = readFileSync(`/proc/${r2.daemons()[0].pid}/cmdline`, 'utf8').split('\0');
    t.match(r2Zebra.join(' '), /-A 127\.0\.0\.1 -s 90000000 -F traditional --limit-fds 1024/, "r2's options");

    // prefixes learned along the chain, with their AS paths
    const path = async (r: typeof r1, prefix: string) =>
      (await r.bgpRoutes()).find((p) => p.prefix === prefix && p.best)?.asPath;
    t.same(await path(r1, '192.168.3.0/24'), [65002, 65003], 'r1 learns h3 LAN via 65002 65003');
    t.same(await path(r3, '192.168.1.0/24'), [65002, 65001], 'r3 learns h1 LAN via 65002 65001');
    t.same(await path(r2, '192.168.1.0/24'), [65001], 'r2 learns it directly from 65001');
    t.match(await r1.cmd('ip route show 192.168.3.0/24'), /via 10\.0\.12\.2 .*proto bgp/, 'in the kernel');
    t.ok(await sim.pingPair('h1', 'h3'), 'h1 and h3 ping each other across three ASes');

    // loop prevention: r2 passes on what it has; r1 receives routes carrying its own AS and
    // keeps none of them
    t.same(
      await path(r2, '198.51.100.0/24'),
      [65003, 65001],
      'r2 accepts 198.51.100.0/24 (path 65003 65001)',
    );
    const received = JSON.parse(
      await r1.vtysh('show bgp ipv4 unicast neighbors 10.0.12.2 received-routes json'),
    ) as { receivedRoutes: Record<string, { path: string }> };
    t.equal(
      received.receivedRoutes['198.51.100.0/24']?.path,
      '65002 65003 65001',
      'r1 received 198.51.100.0/24 from r2 with 65001 in the path',
    );
    t.equal(
      received.receivedRoutes['192.168.1.0/24']?.path,
      '65002 65001',
      'and its own prefix back, through 65002',
    );
    t.notOk(
      (await r1.bgpRoutes()).some((p) => p.prefix === '198.51.100.0/24'),
      "but 198.51.100.0/24 is not in r1's BGP table (AS-path loop)",
    );
    t.same(
      (await r1.bgpRoutes()).filter((p) => p.prefix === '192.168.1.0/24').map((p) => p.asPath),
      [[]],
      'and 192.168.1.0/24 only as its own (no path through 65002)',
    );
    t.equal(await r1.cmd('ip route show 198.51.100.0/24'), '', 'nothing in the kernel either');

    // a line FRR rejects is reported and skipped, as FRR itself does; the file is not touched
    const warnings = readFileSync(join(r1.frr!.dir, 'config-warnings.log'), 'utf8');
    t.match(warnings, /line 3: .*this line is not an FRR command/, warnings.trim());
    t.equal(
      sha(readFileSync(join(dir, 'r1', 'frr.conf'), 'utf8')),
      before,
      "the user's frr.conf is unchanged",
    );
    t.equal(
      sha(readFileSync(join(r1.frr!.dir, 'frr.conf'), 'utf8')),
      before,
      'the daemons read it as written',
    );

    // vtysh from the CLI, in another process
    const cli = await netsim(['exec', '--sim', model.name, 'r2', '--', 'vtysh', '-c', 'show bgp summary']);
    t.equal(cli.code, 0, 'netsim exec r2 -- vtysh -c "show bgp summary"');
    t.match(cli.stdout, /10\.0\.23\.2\s+4\s+65003/, "prints r2's peers");
  });

  t.test('iBGP with a route reflector over an OSPF underlay (intent)', async (t) => {
    // c1 - rr - c2 - c3; c3 is not on a subnet of rr: their session runs between loopbacks
    const model = modelFromYaml(`
name: x
nodes:
  rr: {kind: router, loopback: 10.255.255.1, ospf: {interfaces: [eth1, eth2, lo]},
       bgp: {asn: 65000, neighbors: [{peer: c1, routeReflectorClient: true},
                                     {peer: c2, routeReflectorClient: true},
                                     {peer: c3, routeReflectorClient: true}]}}
  c1: {kind: router, loopback: 10.255.255.2, ospf: {interfaces: [eth1, lo]},
       bgp: {asn: 65000, neighbors: [rr], networks: [eth2]}}
  c2: {kind: router, loopback: 10.255.255.3, ospf: {interfaces: [eth1, eth2, lo]},
       bgp: {asn: 65000, neighbors: [rr], networks: [eth3]}}
  c3: {kind: router, loopback: 10.255.255.4, ospf: {interfaces: [eth1, lo]},
       bgp: {asn: 65000, neighbors: [rr], networks: [eth2]}}
  h1: {kind: host}
  h2: {kind: host}
  h3: {kind: host}
links:
  - endpoints: [c1, rr]
  - endpoints: [rr, c2]
  - endpoints: [c2, c3]
  - endpoints: [c1, h1]
  - endpoints: [c2, h2]
  - endpoints: [c3, h3]
`);
    const sim = await up(t, model);
    const [rr, c1, c3] = ['rr', 'c1', 'c3'].map((n) => router(sim, n));
    t.match(
      c3.frrConfig!,
      /neighbor 10\.255\.255\.1 update-source 10\.255\.255\.4/,
      'c3 peers from its loopback',
    );
    const conv = await sim.waitConverged({ timeout: 25000 });
    t.equal(conv.bgpSessions, 6, 'three client sessions, both ends Established');
    t.equal(conv.ospfAdjacencies, 6, 'the underlay: three links Full');
    t.same(
      (await c1.bgpSummary()).peers.map((p) => p.peer),
      ['10.255.0.2'],
      'c1 has one session only: the reflector',
    );

    const h3Lan = (await sim.node('h3').cmd('ip -4 -o route show scope link')).trim().split(/\s+/)[0];
    const [path] = await c1.bgpRoutes(h3Lan);
    t.ok(path?.best, `c1 has a best path to h3's LAN ${h3Lan}`);
    t.equal(path?.originatorId, '10.255.255.4', 'originated by c3 (originator id)');
    t.same(path?.clusterList, ['10.255.255.1'], 'reflected by rr (cluster list)');
    t.equal(path?.nexthop, '10.255.255.4', "next hop: c3's loopback, resolved through OSPF");
    t.same(path?.asPath, [], 'iBGP: empty AS path');
    t.match(await c1.cmd(`ip route show ${h3Lan}`), /proto bgp/, 'installed in the kernel as a BGP route');
    t.ok(
      (await rr.routes('ospf')).some((r) => r.prefix === '10.255.255.4/32'),
      "rr reaches c3's loopback through OSPF",
    );
    const m = await hostMatrix(sim);
    t.same(failedPairs(m), [], 'h1, h2, h3 all reach each other');
  });

  t.test('eBGP chain from intent: bgpd crashes in the middle, then comes back', async (t) => {
    const sim = await up(
      t,
      modelFromYaml(`
name: x
nodes:
  r1: {kind: router, bgp: {asn: 65001, neighbors: [r2], networks: [eth2]}}
  r2: {kind: router, bgp: {asn: 65002, neighbors: [r1, r3], networks: [eth3]}}
  r3: {kind: router, bgp: {asn: 65003, neighbors: [r2], networks: [eth2]}}
  h1: {kind: host}
  h2: {kind: host}
  h3: {kind: host}
links:
  - endpoints: [r1, r2]
  - endpoints: [r1, h1]
  - endpoints: [r2, r3]
  - endpoints: [r2, h2]
  - endpoints: [r3, h3]
`),
    );
    const conv = await sim.waitConverged({ timeout: 20000 });
    t.comment(`converged ${(conv.ms / 1000).toFixed(2)} s after up`);
    t.same(failedPairs(await hostMatrix(sim)), [], 'all hosts reach each other');
    const { run } = repl(sim);
    const before = frrProcessesOf(sim.name).length;
    let res = await run('kill r2 bgpd');
    t.equal(res.code, 0, 'kill r2 bgpd');
    t.match(res.out, /re-converged in \d+\.\d+ s/, res.out.trim().split('\n').pop() ?? '');
    t.equal(frrProcessesOf(sim.name).length, before - 1, 'one process fewer');
    const r1 = router(sim, 'r1');
    t.equal((await r1.bgpSummary()).peers[0].state !== 'Established', true, "r1's session to r2 is down");
    t.notOk(await sim.pingPair('h1', 'h3'), 'h1 no longer reaches h3 (routes withdrawn)');
    res = await run('start r2');
    t.match(res.out, /r2: started bgpd/);
    t.match(
      res.out,
      /re-converged in \d+\.\d+ s \(0 OSPF adjacencies, 4 BGP sessions\)/,
      res.out.trim().split('\n').pop() ?? '',
    );
    t.same(failedPairs(await hostMatrix(sim)), [], 'all hosts reach each other again');
  });
}
