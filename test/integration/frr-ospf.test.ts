// OSPF with real FRR daemons in the routers' namespaces: a triangle with a LAN and a host
// behind each router (rendered from ospf intent), vtysh from the REPL, the fault verbs with
// their re-convergence times; and two areas joined by an ABR.
import { existsSync } from 'node:fs';
import t from 'tap';
import { simDir } from '../../src/runtime/paths.js';
import { formatCidr } from '../../src/util/ipv4.js';
import {
  eventually,
  failedPairs,
  frrProcessesOf,
  frrStateDirsOf,
  hostMatrix,
  repl,
  requireFrr,
  router,
} from '../lib/frr.js';
import { modelFromYaml, namespacesOf, requireRoot, up } from '../lib/harness.js';

const TRIANGLE = `
name: x
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

if (requireRoot(t) && requireFrr(t)) {
  t.test('OSPF triangle: adjacencies, routes, every host reaches every other', async (t) => {
    const model = modelFromYaml(TRIANGLE);
    const sim = await up(t, model);
    const conv = await sim.waitConverged({ timeout: 20000 });
    t.comment(`converged ${(conv.ms / 1000).toFixed(2)} s after up`);
    t.equal(conv.ospfAdjacencies, 6, 'three links, two ends each: 6 adjacencies Full');
    for (const name of ['r1', 'r2', 'r3']) {
      const nbrs = await router(sim, name).ospfNeighbors();
      t.equal(nbrs.length, 2, `${name} has two neighbours`);
      t.ok(
        nbrs.every((n) => n.state === 'Full' && n.role === '-'),
        `${name}: both Full, point-to-point (no DR)`,
      );
    }
    const m = await hostMatrix(sim);
    t.same(failedPairs(m), [], 'h1, h2, h3 all ping each other');
    t.equal(m.pairs, 6);

    // r1 learned the LANs of r2 and r3 from OSPF, and FRR installed them in the kernel
    const r1 = router(sim, 'r1');
    const lan2 = model.segments[model.nodes.get('h2')!.ifaces[0].segment].subnet;
    const lan2Text = formatCidr(lan2);
    const ospfRoutes = await r1.routes('ospf');
    t.ok(
      ospfRoutes.some((r) => r.prefix === lan2Text && r.selected && r.installed),
      `r1 has an installed OSPF route to h2's LAN ${lan2Text}`,
    );
    t.match(await r1.cmd(`ip route show ${lan2Text}`), /proto ospf/, 'in the kernel as proto ospf');

    // vtysh through the REPL, as a user types it
    const { run } = repl(sim);
    const nb = await run('r1 vtysh -c "show ip ospf neighbor"');
    t.equal(nb.code, 0, 'r1 vtysh -c ... exits 0');
    t.match(nb.out, /Full\/-/, 'and prints the neighbour table');
    t.match(await r1.vtysh('show running-config'), /ip ospf network point-to-point/);

    // every daemon is a process in r1's namespace, owned by frr, with its own sockets
    const daemons = r1.daemons();
    t.same(
      daemons.map((d) => d.id),
      ['zebra', 'staticd', 'ospfd'],
      'zebra, staticd, ospfd',
    );
    t.ok(
      daemons.every((d) => d.running),
      'all running',
    );
    const nsOf = await r1.cmd(`readlink /proc/${daemons[2].pid}/ns/net; readlink /proc/self/ns/net`);
    const [a, b] = nsOf.trim().split('\n');
    t.equal(a, b, "ospfd runs in r1's network namespace");
    t.ok(existsSync(`${r1.frr!.dir}/ospfd.vty`), "ospfd's vty socket is in r1's own directory");
    t.equal(frrProcessesOf(model.name).length, 9, '9 FRR processes for 3 routers');

    await sim.down();
    t.same(frrProcessesOf(model.name), [], 'down stops every daemon');
    t.same(namespacesOf(model.name), [], 'no namespace left');
    t.same(frrStateDirsOf(model.name), [], 'no /var/run/frr/<sim>-<router> left');
    t.notOk(existsSync(simDir(model.name)), 'no simulation directory left');
  });

  t.test('fault verbs: link down/up, stop/start a router, kill a daemon', async (t) => {
    const sim = await up(t, modelFromYaml(TRIANGLE));
    await sim.waitConverged({ timeout: 20000 });
    const { run } = repl(sim);
    const r1 = router(sim, 'r1');
    const reconverged = (out: string) => /re-converged in (\d+\.\d+) s/.exec(out)?.[1];

    let res = await run('link r1 r2 down');
    t.equal(res.code, 0, 'link r1 r2 down');
    t.ok(reconverged(res.out), `prints the re-convergence time: ${res.out.trim().split('\n').pop()}`);
    t.same(failedPairs(await hostMatrix(sim)), [], 'all hosts still reach each other (around through r3)');
    t.match(
      await r1.cmd(`ip route get ${sim.node('h2').ip}`),
      /dev eth2/,
      'r1 reaches h2 over its link to r3',
    );

    res = await run('link r1 r2 up');
    t.ok(reconverged(res.out), `link up: ${res.out.trim().split('\n').pop()}`);
    t.equal(
      (await r1.ospfNeighbors()).filter((n) => n.state === 'Full').length,
      2,
      'r1 is adjacent to r2 again',
    );

    res = await run('stop r3');
    t.equal(res.code, 0, 'stop r3');
    t.match(res.out, /r3: stopped zebra, staticd, ospfd/);
    t.ok(reconverged(res.out), `stop: ${res.out.trim().split('\n').pop()}`);
    t.same(frrProcessesOf(sim.name).length, 6, "r3's three daemons are gone");
    const m = await hostMatrix(sim, 500);
    t.same(
      failedPairs(m).sort(),
      ['h1->h3', 'h2->h3', 'h3->h1', 'h3->h2'],
      'with r3 down only h3 is cut off',
    );
    t.notOk(
      (await r1.ospfNeighbors()).some((n) => n.iface === 'eth2' && n.state === 'Full'),
      'r1 no longer lists r3 as Full',
    );

    res = await run('start r3');
    t.match(res.out, /r3: started zebra, staticd, ospfd/);
    t.ok(reconverged(res.out), `start: ${res.out.trim().split('\n').pop()}`);
    t.same(failedPairs(await hostMatrix(sim)), [], 'r3 back: full matrix again');

    res = await run('kill r2 ospfd');
    t.match(res.out, /r2: ospfd killed \(SIGKILL\)/);
    t.ok(reconverged(res.out), `kill: ${res.out.trim().split('\n').pop()}`);
    res = await run('daemons r2');
    t.match(res.out, /ospfd\(stopped\)/, 'daemons shows ospfd stopped');
    t.match(res.out, /zebra\(\d+\)/, 'zebra still runs');
    res = await run('start r2');
    t.match(res.out, /r2: started ospfd/, 'start r2 restarts only what is missing');
    await sim.waitConverged({ timeout: 20000 });
    t.same(failedPairs(await hostMatrix(sim)), [], 'full matrix after the restart');

    res = await run('kill r2 bgpd');
    t.equal(res.code, 1, 'kill of a daemon the router does not run fails');
    t.match(res.err, /runs no bgpd \(it runs zebra, staticd, ospfd\)/);
    res = await run('h1 vtysh -c "show version"');
    t.not(res.code, 0, 'a host has no FRR to talk to');
  });

  t.test('two areas joined by an ABR: inter-area routes', async (t) => {
    // h0 - r0 ==area 0== r1 ==area 1== r2 - h2; r1 is the area border router
    const model = modelFromYaml(`
name: x
nodes:
  r0: {kind: router, ospf: {area: 0}}
  r1: {kind: router, ospf: {interfaces: {eth1: {area: 0}, eth2: {area: 1}}}}
  r2: {kind: router, ospf: {area: 0.0.0.1}}
  h0: {kind: host}
  h2: {kind: host}
links:
  - endpoints: [r0, r1]
  - endpoints: [r1, r2]
  - endpoints: [r0, h0]
  - endpoints: [r2, h2]
`);
    const sim = await up(t, model);
    const conv = await sim.waitConverged({ timeout: 20000 });
    t.equal(conv.ospfAdjacencies, 4, 'r0-r1 in area 0, r1-r2 in area 1');
    const r1 = router(sim, 'r1');
    const areas = new Map((await r1.ospfInterfaces()).map((i) => [i.name, i.area]));
    t.same(Object.fromEntries(areas), { eth1: '0.0.0.0', eth2: '0.0.0.1' }, "r1's interfaces in two areas");
    const ospf = JSON.parse(await r1.vtysh('show ip ospf json')) as { abrType?: string; areas?: object };
    t.same(Object.keys(ospf.areas ?? {}).sort(), ['0.0.0.0', '0.0.0.1'], 'r1 is in both areas');
    t.match(await r1.vtysh('show ip ospf'), /This router is an ABR/, 'FRR says r1 is an ABR');

    // r2 (area 1 only) reaches h0's subnet through a summary LSA from r1
    const h0 = sim.node('h0');
    const h0Net = (await h0.cmd('ip -4 -o route show scope link')).trim().split(/\s+/)[0];
    const r2 = router(sim, 'r2');
    const ospfRoutes = JSON.parse(await r2.vtysh('show ip ospf route json')) as Record<
      string,
      { routeType?: string; area?: string }
    >;
    t.equal(ospfRoutes[h0Net]?.routeType, 'N IA', `r2's route to ${h0Net} is inter-area (N IA)`);
    const summaries = await r2.vtysh('show ip ospf database summary');
    t.match(summaries, new RegExp(`Link State ID: ${h0Net.split('/')[0]}`), 'from a summary LSA');
    t.match(summaries, /Advertising Router: 10\.255\.0\.2/, 'advertised by r1 (router id 10.255.0.2)');
    await eventually('h0 <-> h2', async () => (await sim.pingPair('h0', 'h2')) || undefined, 10000);
    t.pass('h0 and h2 ping each other across the two areas');
  });
}
