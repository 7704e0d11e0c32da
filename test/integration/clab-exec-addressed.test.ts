// A classic FRR OSPF triangle with two Linux PCs addressed only by their exec lines, as public
// containerlab labs write it: the import adds no address and no route to the PCs (containerlab
// adds none), their exec lines run in the lab's order, PC1 reaches PC2 across the triangle once
// OSPF has converged, each PC has exactly the routes its exec lines gave, and the REPL knows
// the PCs by the addresses their exec lines gave (PC1 ping PC2, pingall).
import { join } from 'node:path';
import t from 'tap';
import { loadTopology, PROJECT_ROOT } from '../../src/model/load.js';
import { Simulation } from '../../src/runtime/simulation.js';
import { waitFor } from '../../src/util/wait.js';
import { requireFrr } from '../lib/frr.js';
import { requireRoot, uniqueName } from '../lib/harness.js';
import { repl } from '../lib/repl.js';

const LAB = join(PROJECT_ROOT, 'test/fixtures/clab-exec-addressed/ospf-triangle.clab.yml');

if (requireRoot(t) && requireFrr(t)) {
  t.test('PCs addressed by exec lines reach each other across an OSPF triangle', async (t) => {
    const { model } = await loadTopology(LAB, { simName: uniqueName('tri') });
    const pc1 = model.nodes.get('PC1')!;
    t.equal(pc1.kind, 'host', 'PC1 is a host');
    t.same(
      pc1.ifaces.map((i) => i.addr),
      [undefined],
      'the model gives PC1 no address (only its exec lines do)',
    );
    const sim = await Simulation.up(model, {
      log: process.env.NETSIM_TEST_LOG ? (l) => t.comment(l) : undefined,
    });
    t.teardown(() => sim.down());
    // the adjacencies themselves, not whole-table stability: under a loaded CI the routers'
    // tables were once still moving after 60 s while every adjacency was up
    const fullEnds = async () => {
      let n = 0;
      for (const r of ['router1', 'router2', 'router3'])
        n += ((await sim.node(r).cmd("vtysh -c 'show ip ospf neighbor'")).match(/\bFull\//g) ?? []).length;
      return n;
    };
    await waitFor(async () => (await fullEnds()) === 6, {
      timeoutMs: 60000,
      what: '6 Full OSPF adjacency ends',
    });
    t.equal(await fullEnds(), 6, 'all 3 OSPF adjacencies of the triangle Full (6 ends)');

    const routes = async (pc: string) =>
      (await sim.node(pc).cmd('ip -4 route show'))
        .trim()
        .split('\n')
        .map((l) => l.trim().replace(/\s+/g, ' '))
        .sort();
    t.same(
      await routes('PC1'),
      [
        '10.0.0.0/8 via 192.168.11.1 dev eth1',
        '192.168.0.0/16 via 192.168.11.1 dev eth1',
        '192.168.11.0/24 dev eth1 proto kernel scope link src 192.168.11.2',
      ],
      'PC1 has exactly the routes of its exec lines (no default gateway added)',
    );
    t.same(
      await routes('PC2'),
      [
        '10.0.0.0/8 via 192.168.12.1 dev eth1',
        '192.168.0.0/16 via 192.168.12.1 dev eth1',
        '192.168.12.0/24 dev eth1 proto kernel scope link src 192.168.12.2',
      ],
      'PC2 has exactly the routes of its exec lines',
    );
    const addrs = (await sim.node('PC1').cmd('ip -4 -o addr show')).match(/inet \S+/g);
    t.same(
      addrs,
      ['inet 127.0.0.1/8', 'inet 192.168.11.2/24'],
      'PC1 has only the address its exec line gave',
    );

    // the routers learn the PCs' subnets through OSPF (passive interfaces): wait until every
    // router knows both, the way there and the way back (router1 alone once left the reply
    // without a route)
    const knows = async (r: string, net: string) =>
      /\b(via|dev)\b/.test(await sim.node(r).cmd(`ip -4 route show ${net}`));
    await waitFor(
      async () => {
        for (const r of ['router1', 'router2', 'router3'])
          for (const net of ['192.168.11.0/24', '192.168.12.0/24']) if (!(await knows(r, net))) return false;
        return true;
      },
      { timeoutMs: 30000, what: "every router's routes to both PC subnets" },
    );
    // the shortest way both ways (two routers): while SPF settles a route may go the long way
    // round for a moment (router2 -> router3 -> router1), now that the router links are
    // point-to-point and adjacencies come up without the 40 s wait of a broadcast link
    await waitFor(
      async () => /ttl=62/.test((await sim.node('PC1').exec('ping -c1 -W1 192.168.12.2')).stdout),
      {
        timeoutMs: 30000,
        what: 'the replies to come the short way (ttl 62)',
      },
    );
    const ping = await sim.node('PC1').exec('ping -c 3 -W 1 -i 0.2 192.168.12.2');
    t.equal(ping.exitCode, 0, 'PC1 pings PC2 across the triangle');
    t.match(ping.stdout, /3 received/, 'all 3 echo replies arrive');
    // and the path is through the routers: a TTL of 64 - 2 hops
    t.match(ping.stdout, /ttl=62/, 'PC2 answers across two routers');

    // the simulation read the PCs' addresses back from the kernel: the REPL's node names and
    // pingall know them as Mininet's do
    t.same(sim.node('PC2').ips, ['192.168.12.2'], "PC2's address, as its exec line gave it");
    const r = repl(sim);
    const byName = await r.run('PC1 ping -c1 -W1 PC2');
    t.equal(byName.code, 0, 'PC1 ping PC2: the name stands for its address');
    t.match(byName.out, /from 192\.168\.12\.2/);
    const all = await r.run('pingall');
    t.equal(all.code, 0, 'pingall passes');
    t.match(
      all.out,
      /\nPC1 -> router1 router2 router3 PC2\nPC2 -> router1 router2 router3 PC1\n\*\*\* Results: 0% dropped \(20\/20 received\)/,
      'the PCs among the nodes it pings (20 pairs: 3 routers, 2 PCs)',
    );

    // a packet to an address no exec line routes has no route at all
    const off = await sim.node('PC1').exec('ping -c 1 -W 1 172.16.0.1');
    t.not(off.exitCode, 0, 'PC1 has no default route: 172.16.0.1 is unreachable');
    t.match(off.stdout + off.stderr, /unreachable/i, 'the kernel says the network is unreachable');
  });
}
