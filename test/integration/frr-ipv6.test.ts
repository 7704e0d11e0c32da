// FRR for IPv6 with real daemons: OSPFv3 (ospf6d) rendered from the same ospf intent on a
// dual-stack triangle with a host behind each router (IPv6 pings between all hosts, a link
// cut rerouted the other way, `ospf6 neighbors` expectations); BGP IPv6 unicast sessions to
// the neighbours' global addresses with routes learned in the kernel; an IPv6-only triangle
// (no ospfd, derived router ids); and a user's own frr.conf with IPv6 lines run as it is.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { checkFrrExpectation } from '../../src/features/frr/expect.js';
import { frrNeighbors } from '../../src/features/frr/metrics.js';
import { parseExpectation } from '../../src/model/expect.js';
import { loadTopology } from '../../src/model/load.js';
import { pingMatrix } from '../../src/runtime/ping.js';
import type { Simulation } from '../../src/runtime/simulation.js';
import { formatCidr } from '../../src/util/ipv4.js';
import { formatCidr6 } from '../../src/util/ipv6.js';
import { tempDir, writeFile } from '../lib/cli.js';
import { failedPairs, repl, requireFrr, router } from '../lib/frr.js';
import { modelFromYaml, requireRoot, uniqueName, up } from '../lib/harness.js';

const TRIANGLE = (family: string) => `
name: x
addressing: {family: ${family}}
nodes:
  r1: {kind: router, ospf: {area: 0}}
  r2: {kind: router, ospf: {area: 0}}
  r3: {kind: router, ospf: {area: 0}}
  s1: {kind: switch}
  s2: {kind: switch}
  s3: {kind: switch}
  h1: {kind: host}
  h2: {kind: host}
  h3: {kind: host}
links:
  - endpoints: [r1, r2]
  - endpoints: [r2, r3]
  - endpoints: [r3, r1]
  - endpoints: [r1, s1]
  - endpoints: [r2, s2]
  - endpoints: [r3, s3]
  - endpoints: [h1, s1]
  - endpoints: [h2, s2]
  - endpoints: [h3, s3]
`;

/** Ping matrix between the hosts' IPv6 addresses. */
function hostMatrix6(sim: Simulation) {
  const targets = [...sim.nodes.values()]
    .filter((n) => n.kind === 'host' && n.ip6)
    .map((n) => ({ name: n.name, ns: n.ns, ip: n.ip6! }));
  return pingMatrix(targets, { timeoutMs: 1000 });
}

async function expectOk(t: Test, sim: Simulation, entry: string): Promise<void> {
  const r = await checkFrrExpectation(sim, parseExpectation(entry));
  t.ok(r?.ok, `${entry}: ${r?.detail}`);
}

/** The IPv6 subnet of a host's first interface. */
function lan6(sim: Simulation, host: string): string {
  return formatCidr6(sim.model.segments[sim.node(host).model.ifaces[0].segment].subnet6!);
}

/** The interface the kernel of `node` sends to `dst` through (ip -6 route get). */
async function routeDev(sim: Simulation, node: string, dst: string): Promise<string | undefined> {
  const out = await sim.node(node).cmd(`ip -6 route get ${dst}`);
  return / dev (\S+)/.exec(out)?.[1];
}

if (requireRoot(t) && requireFrr(t)) {
  t.test('OSPFv3 on a dual-stack triangle: converges, IPv6 pings, reroutes on a link cut', async (t) => {
    const sim = await up(t, modelFromYaml(TRIANGLE('dual')));
    const conv = await sim.waitConverged({ timeout: 30000 });
    t.comment(`converged ${(conv.ms / 1000).toFixed(2)} s after up`);
    t.equal(conv.ospfAdjacencies, 6, 'OSPFv2: 6 adjacencies Full');
    t.equal(conv.ospf6Adjacencies, 6, 'OSPFv3: 6 adjacencies Full');
    const r1 = router(sim, 'r1');
    t.same(
      r1.daemons().map((d) => d.id),
      ['zebra', 'staticd', 'ospfd', 'ospf6d'],
      'a dual-stack router runs ospfd and ospf6d',
    );
    const nbrs = await r1.ospf6Neighbors();
    t.same(
      nbrs.map((n) => [n.iface, n.state, n.role]).sort(),
      [
        ['eth1', 'Full', 'PointToPoint'],
        ['eth2', 'Full', 'PointToPoint'],
      ],
      'r1: two OSPFv3 neighbours, Full on point-to-point links',
    );
    await expectOk(t, sim, 'r1 ospf6 neighbors 2');
    await expectOk(t, sim, 'ospf6 r3 neighbors 2');
    t.same(
      (await frrNeighbors(r1)).map((n) => `${n.protocol} ${n.iface} ${n.up}`).sort(),
      ['ospf eth1 true', 'ospf eth2 true', 'ospf6 eth1 true', 'ospf6 eth2 true'],
      'the web view and metrics see the OSPFv3 neighbours next to the OSPF ones',
    );
    const ospf6Routes = (await r1.routes6('ospf6')).filter((r) => r.selected).map((r) => r.prefix);
    const h2 = sim.node('h2');
    const h2Lan = lan6(sim, 'h2');
    t.ok(ospf6Routes.includes(h2Lan), `r1 learned h2's LAN ${h2Lan} from OSPFv3 (${ospf6Routes.join(', ')})`);
    t.same(failedPairs(await hostMatrix6(sim)), [], 'h1, h2, h3 ping each other over IPv6');

    t.equal(await routeDev(sim, 'r1', h2.ip6!), 'eth1', 'r1 sends to h2 over the direct link r1-r2');
    const { run } = repl(sim);
    const cut = await run('link r1 r2 down');
    t.equal(cut.code, 0, 'link r1 r2 down re-converges');
    t.comment(cut.out.trim());
    t.match(
      cut.out,
      /re-converged in [\d.]+ s \(4 OSPF adjacencies, 4 OSPFv3 adjacencies, 0 BGP sessions\)/,
      'and says how many adjacencies of each protocol are left',
    );
    t.equal(await routeDev(sim, 'r1', h2.ip6!), 'eth2', 'r1 now sends to h2 through r3');
    t.same(failedPairs(await hostMatrix6(sim)), [], 'every host still reaches every other over IPv6');
    await expectOk(t, sim, 'r1 ospf6 neighbors 1');
    const back = await run('link r1 r2 up');
    t.equal(back.code, 0, 'link r1 r2 up re-converges');
    t.equal(await routeDev(sim, 'r1', h2.ip6!), 'eth1', 'back on the direct link');
  });

  t.test('BGP IPv6 unicast: sessions to global addresses, routes learned in the kernel', async (t) => {
    const sim = await up(
      t,
      modelFromYaml(`
name: x
addressing: {family: dual}
nodes:
  r1: {kind: router, bgp: {asn: 65001, neighbors: [r2], networks: [eth2]}}
  r2: {kind: router, bgp: {asn: 65002, neighbors: [r1, r3], redistribute: [connected]}}
  r3: {kind: router, bgp: {asn: 65003, neighbors: [r2], networks: [eth2]}}
  h1: {kind: host}
  h3: {kind: host}
links:
  - endpoints: [r1, r2]
  - endpoints: [r1, h1]
  - endpoints: [r2, r3]
  - endpoints: [r3, h3]
`),
    );
    const conv = await sim.waitConverged({ timeout: 30000 });
    t.equal(conv.bgpSessions, 8, '4 peerings, an IPv4 and an IPv6 session each, seen from both ends');
    const r1 = router(sim, 'r1');
    const peers = (await r1.bgpSummary()).peers;
    const r2eth1 = sim.node('r2').ips6[0];
    t.ok(
      peers.some((p) => p.peer === r2eth1 && p.state === 'Established'),
      `r1's session to r2's global address ${r2eth1} is Established`,
    );
    await expectOk(t, sim, 'bgp r1 established 2');
    await expectOk(t, sim, 'r2 bgp established');
    const h3Lan = lan6(sim, 'h3');
    const paths = await r1.bgpRoutes(h3Lan, 6);
    t.same(paths.find((p) => p.best)?.asPath, [65002, 65003], `r1's best path to ${h3Lan} is AS 65002 65003`);
    const kernel = await r1.cmd('ip -6 route');
    t.match(
      kernel,
      new RegExp(`^${h3Lan.replace(/[.:/]/g, '\\$&')} .*via fe80::\\S+ dev eth1 proto bgp`, 'm'),
      "r1's kernel routes r3's LAN via r2's link-local address (ip -6 route)",
    );
    const v4 = (await r1.routes('bgp')).filter((r) => r.selected).map((r) => r.prefix);
    const h3Lan4 = formatCidr(sim.model.segments[sim.node('h3').model.ifaces[0].segment].subnet);
    t.ok(v4.includes(h3Lan4), `IPv4 unicast still carries r3's IPv4 LAN ${h3Lan4}`);
    const m = await pingMatrix(
      ['h1', 'h3'].map((n) => ({ name: n, ns: sim.node(n).ns, ip: sim.node(n).ip6! })),
      { timeoutMs: 1000 },
    );
    t.same(failedPairs(m), [], 'h1 and h3 ping each other over IPv6 along BGP routes');
  });

  t.test('IPv6-only: OSPFv3 alone, router ids derived, hosts reach each other', async (t) => {
    const sim = await up(t, modelFromYaml(TRIANGLE('ipv6')));
    const conv = await sim.waitConverged({ timeout: 30000 });
    t.equal(conv.ospfAdjacencies, 0, 'no OSPFv2');
    t.equal(conv.ospf6Adjacencies, 6, 'OSPFv3: 6 adjacencies Full');
    const r2 = router(sim, 'r2');
    t.same(
      r2.daemons().map((d) => d.id),
      ['zebra', 'staticd', 'ospf6d'],
      'no ospfd without IPv4',
    );
    t.match(r2.frrConfig, /ospf6 router-id 0\.0\.0\.2\n/, 'r2, the second router, has router id 0.0.0.2');
    t.same(
      (await r2.ospf6Neighbors()).map((n) => n.routerId).sort(),
      ['0.0.0.1', '0.0.0.3'],
      'its neighbours are 0.0.0.1 and 0.0.0.3',
    );
    t.equal(sim.node('h1').ip, undefined, 'h1 has no IPv4 address');
    t.same(failedPairs(await hostMatrix6(sim)), [], 'h1, h2, h3 ping each other over IPv6');
  });

  t.test('IPv6-only BGP: iBGP between loopback6 addresses over an OSPFv3 underlay', async (t) => {
    const sim = await up(
      t,
      modelFromYaml(`
name: x
addressing: {family: ipv6}
nodes:
  r1: {kind: router, loopback6: "fd00:ffff::1", ospf: {}, bgp: {asn: 65000, neighbors: [r3], networks: [eth2]}}
  r2: {kind: router, ospf: {}}
  r3: {kind: router, loopback6: "fd00:ffff::3", ospf: {}, bgp: {asn: 65000, neighbors: [r1], networks: [eth2]}}
  h1: {kind: host}
  h3: {kind: host}
links:
  - endpoints: [r1, r2]
  - endpoints: [r1, h1]
  - endpoints: [r2, r3]
  - endpoints: [r3, h3]
`),
    );
    const conv = await sim.waitConverged({ timeout: 30000 });
    t.equal(conv.bgpSessions, 2, 'r1-r3 Established at both ends');
    const r1 = router(sim, 'r1');
    t.match(
      r1.frrConfig,
      /neighbor fd00:ffff::3 update-source fd00:ffff::1\n/,
      'the session runs between the loopbacks',
    );
    t.match(r1.frrConfig, / no bgp default ipv4-unicast\n/, 'no IPv4 unicast without IPv4');
    const peers = (await r1.bgpSummary()).peers;
    t.same(
      peers.map((p) => [p.peer, p.state]),
      [['fd00:ffff::3', 'Established']],
      "r1's one session, to r3's loopback6, is Established",
    );
    await expectOk(t, sim, 'bgp r3 established 1');
    const h3Lan = lan6(sim, 'h3');
    const best = (await r1.bgpRoutes(h3Lan, 6)).find((p) => p.best);
    t.equal(best?.nexthop, 'fd00:ffff::3', `r1 learned ${h3Lan} over iBGP, next hop r3's loopback6`);
    const lo3 = (await r1.routes6('ospf6')).find((r) => r.prefix === 'fd00:ffff::3/128');
    t.ok(lo3?.selected, "which r1 reaches through OSPFv3 (r3's lo is in area 0)");
    const m = await pingMatrix(
      ['h1', 'h3'].map((n) => ({ name: n, ns: sim.node(n).ns, ip: sim.node(n).ip6! })),
      { timeoutMs: 1000 },
    );
    t.same(failedPairs(m), [], 'h1 and h3 reach each other (OSPFv3 routes: distance 110 beats iBGP 200)');
  });

  t.test('unnumbered eBGP: one session over the link-local addresses', async (t) => {
    const sim = await up(
      t,
      modelFromYaml(`
name: x
addressing: {family: ipv6}
nodes:
  r1: {kind: router, bgp: {asn: 65001, neighbors: [{peer: r2, unnumbered: true}], networks: [eth2]}}
  r2: {kind: router, bgp: {asn: 65002, neighbors: [{peer: r1, unnumbered: true}], networks: [eth2]}}
  h1: {kind: host}
  h2: {kind: host}
links:
  - endpoints: [r1, r2]
  - endpoints: [r1, h1]
  - endpoints: [r2, h2]
`),
    );
    const conv = await sim.waitConverged({ timeout: 30000 });
    t.equal(conv.bgpSessions, 2, 'r1-r2 Established at both ends');
    const r1 = router(sim, 'r1');
    t.match(r1.frrConfig, / neighbor eth1 interface remote-as 65002\n/, 'the session is on r1 eth1');
    t.same(
      (await r1.bgpSummary()).peers.map((p) => [p.peer, p.state]),
      [['eth1', 'Established']],
      'r1 has one session, named by its interface',
    );
    await expectOk(t, sim, 'bgp r2 established 1');
    const kernel = await r1.cmd('ip -6 route');
    t.match(
      kernel,
      new RegExp(`^${lan6(sim, 'h2').replace(/[.:/]/g, '\\$&')} .*via fe80::\\S+ dev eth1 proto bgp`, 'm'),
      "h2's LAN via r2's link-local address",
    );
    const m = await pingMatrix(
      ['h1', 'h2'].map((n) => ({ name: n, ns: sim.node(n).ns, ip: sim.node(n).ip6! })),
      { timeoutMs: 1000 },
    );
    t.same(failedPairs(m), [], 'h1 and h2 reach each other');
    await sim.setLink('r1', 'r2', 'down');
    const down = await sim.waitConverged({ timeout: 30000 });
    t.equal(down.bgpSessions, 0, 'with the link down, no session is expected (and waitConverged settles)');
  });

  t.test("a user's frr.conf with IPv6 lines runs as it is", async (t) => {
    const dir = tempDir(t);
    // r1 - r2 - r3 on IPv4 links; the frr.conf files add IPv6 addresses, loopbacks and OSPFv3
    const conf = (i: number, ifaces: [string, string][]) =>
      [
        'frr defaults traditional',
        `hostname r${i}`,
        '!',
        'router ospf6',
        ` ospf6 router-id ${i}.${i}.${i}.${i}`,
        'exit',
        '!',
        ...ifaces.flatMap(([name, addr]) => [
          `interface ${name}`,
          ` ipv6 address ${addr}`,
          ' ipv6 ospf6 area 0',
          ...(name === 'lo' ? [] : [' ipv6 ospf6 network point-to-point', ' ipv6 ospf6 hello-interval 1']),
          'exit',
          '!',
        ]),
        'end',
        '',
      ].join('\n');
    writeFileSync(
      join(dir, 'r1.conf'),
      conf(1, [
        ['eth1', 'fd00:12::1/64'],
        ['lo', 'fd00:ff::1/128'],
      ]),
    );
    writeFileSync(
      join(dir, 'r2.conf'),
      conf(2, [
        ['eth1', 'fd00:12::2/64'],
        ['eth2', 'fd00:23::2/64'],
        ['lo', 'fd00:ff::2/128'],
      ]),
    );
    writeFileSync(
      join(dir, 'r3.conf'),
      conf(3, [
        ['eth1', 'fd00:23::3/64'],
        ['lo', 'fd00:ff::3/128'],
      ]),
    );
    const file = writeFile(
      dir,
      'lab.yml',
      `
name: x
nodes:
  r1: {kind: router, frr: {config: r1.conf}}
  r2: {kind: router, frr: {config: r2.conf}}
  r3: {kind: router, frr: {config: r3.conf}}
links:
  - endpoints: [r1, r2]
  - endpoints: [r2, r3]
`,
    );
    const { model } = await loadTopology(file, { simName: uniqueName() });
    t.same(model.families, [4], 'the topology itself is IPv4-only');
    const sim = await up(t, model);
    const r1 = router(sim, 'r1');
    t.same(
      r1.daemons().map((d) => d.id),
      ['zebra', 'staticd', 'ospf6d'],
      'ospf6d runs: the config has router ospf6',
    );
    const conv = await sim.waitConverged({ timeout: 30000 });
    t.equal(conv.ospf6Adjacencies, 4, 'OSPFv3: 4 adjacencies Full');
    await expectOk(t, sim, 'r2 ospf6 neighbors 2');
    const ping = await sim.node('r1').exec('ping -c1 -W2 -I fd00:ff::1 fd00:ff::3');
    t.equal(ping.exitCode, 0, "r1's loopback reaches r3's across r2 (r2 forwards IPv6)");
  });
}
