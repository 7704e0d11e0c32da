// The cross-region and Kinda-style scenarios: Kubernetes pod traffic over routed underlays.
// cross-region: workers announce their pod subnets over BGP, a pod in region A reaches a pod
// in region B through BGP-learned routes, and reroutes through the transit AS when the direct
// link fails. kinda: workers under the leaves of an OSPF router tree; their VXLAN crosses it.
import t from 'tap';
import { loadTopology } from '../../src/model/load.js';
import type { Simulation } from '../../src/runtime/simulation.js';
import { formatCidr, formatIp, networkOf } from '../../src/util/ipv4.js';
import { waitFor } from '../../src/util/wait.js';
import { requireFrr } from '../lib/frr.js';
import { requireRoot, uniqueName, up } from '../lib/harness.js';

interface KRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
}

async function routes(sim: Simulation, node: string): Promise<KRoute[]> {
  return JSON.parse((await sim.node(node).exec('ip -j route show')).stdout) as KRoute[];
}

const subnetOf = (ip: string) => `${ip.split('.').slice(0, 3).join('.')}.0/24`;

async function pingOk(sim: Simulation, from: string, to: string): Promise<boolean> {
  const r = await sim.node(from).exec(`ping -c1 -W1 ${to}`);
  return r.exitCode === 0;
}

/** rx packets of an interface of a node */
async function rxPackets(sim: Simulation, node: string, ifname: string): Promise<number> {
  // /sys is the host's under nsenter: read the counters over netlink
  const out = (await sim.node(node).exec(`ip -j -s link show dev ${ifname}`)).stdout;
  return (JSON.parse(out) as { stats64: { rx: { packets: number } } }[])[0].stats64.rx.packets;
}

if (requireRoot(t) && requireFrr(t)) {
  t.test(
    'cross-region: pod subnets over BGP, pod to pod across regions, reroute on link failure',
    async (t) => {
      const { model } = await loadTopology('cross-region', { simName: uniqueName('xr') });
      const sim = await up(t, model);
      const conv = await sim.waitConverged({ timeout: 60000 });
      t.equal(conv.bgpSessions, 10, 'rA and rB: 2 routers + 2 workers each; rT: 2 routers (ends)');
      const b1 = sim.node('b1').ip!;
      const a1 = sim.node('a1').ip!;
      // the sessions are up; the first updates follow within BGP's coalescing time (if they
      // do not, the checks below say which route is missing)
      await waitFor(
        async () => {
          const [x, y] = await Promise.all([routes(sim, 'rA'), routes(sim, 'C1w1')]);
          return x.some((r) => r.dst === subnetOf(b1)) && y.some((r) => r.dst === subnetOf(a1));
        },
        { what: 'the pod subnets in rA and C1w1', timeoutMs: 15000, intervalMs: 200 },
      ).catch(() => undefined);
      // the worker's own announcement, learned by the region router and passed on
      const rA = await routes(sim, 'rA');
      const toB = rA.find((r) => r.dst === subnetOf(b1));
      t.equal(toB?.protocol, 'bgp', "rA's route to b1's pod subnet was installed by BGP", {
        b1,
        routes: rA.map((r) => `${r.dst} ${r.gateway ?? r.dev} ${r.protocol}`),
      });
      const rBaddr = sim.model.nodes.get('rB')!.ifaces.find((i) => i.peer.node === 'rA')!.addr!;
      const viaDirect = formatIp(rBaddr.ip);
      t.equal(toB?.gateway, viaDirect, 'through the direct link to rB');
      const w = await routes(sim, 'C1w1');
      t.ok(
        w.some((r) => r.dst === subnetOf(a1) && r.protocol === 'bgp'),
        "C1w1 learned region A's pod subnet over BGP",
      );

      t.ok(await pingOk(sim, 'a1', b1), 'a1 (region A) pings b1 (region B)');
      const http = await sim.node('a1').exec(`wget -qO- -T3 http://${b1}/`);
      t.match(http.stdout, /hello from b1/, "a1 fetches b1's page across the regions");

      // the direct link fails: traffic moves through the transit AS
      await sim.setLink('rA', 'rB', 'down');
      const t0 = performance.now();
      // one ping after another (each waits up to 1 s for its answer): the outage is measured
      const back = await waitFor(() => pingOk(sim, 'a1', b1), {
        what: 'a1 to reach b1 again',
        timeoutMs: 15000,
        intervalMs: 1,
      }).catch(() => false);
      const outage = performance.now() - t0;
      t.ok(back, `a1 reaches b1 again after the rA-rB link went down (${(outage / 1000).toFixed(2)} s)`);
      const rTaddr = sim.model.nodes.get('rT')!.ifaces.find((i) => i.peer.node === 'rA')!.addr!;
      const viaT = formatIp(rTaddr.ip);
      const after = (await routes(sim, 'rA')).find((r) => r.dst === subnetOf(b1));
      t.equal(after?.gateway, viaT, 'rA now routes b1 through rT');
      t.comment(`reroute: ${(outage / 1000).toFixed(2)} s from link down to the first answered ping`);

      await sim.setLink('rA', 'rB', 'up');
      await sim.waitConverged({ timeout: 30000 });
      const restored = (await routes(sim, 'rA')).find((r) => r.dst === subnetOf(b1));
      t.equal(restored?.gateway, viaDirect, 'back on the direct link once it is up');
    },
  );

  t.test('kinda: workers under an OSPF router tree, pod VXLAN routed across it', async (t) => {
    const { model } = await loadTopology('kinda', { simName: uniqueName('kd') });
    const sim = await up(t, model);
    const conv = await sim.waitConverged({ timeout: 60000 });
    t.equal(conv.ospfAdjacencies, 6, 'root-leaf1..3 Full (6 ends)');
    const p3 = sim.node('p3').ip!;
    // which of root's interfaces faces leaf1
    const rootToLeaf1 = sim.model.nodes.get('root')!.ifaces.find((i) => i.peer.node === 'leaf1')!.name;
    const before = await rxPackets(sim, 'root', rootToLeaf1);
    const r = await sim.node('p1').exec(`ping -c20 -i0.01 -W1 ${p3}`);
    t.match(r.stdout, / 0% packet loss/, 'p1 (under leaf1) pings p3 (under leaf3)');
    const crossed = (await rxPackets(sim, 'root', rootToLeaf1)) - before;
    t.ok(crossed >= 20, `the pod traffic crossed root (${crossed} packets in from leaf1)`);
    const leafRoutes = await routes(sim, 'leaf1');
    const w3 = sim.model.nodes.get('C0w3')!.ifaces[0].addr!;
    const w3net = formatCidr(networkOf(w3.ip, w3.prefix));
    t.equal(
      leafRoutes.find((x) => x.dst === w3net)?.protocol,
      'ospf',
      "leaf1 reaches C0w3's underlay subnet by OSPF",
    );
  });
}
