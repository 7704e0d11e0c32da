// trace across routers that learned their IPv6 routes from OSPFv3: FRR installs them via the
// neighbour's link-local address, and trace still names the router behind that next hop and
// says who installed the route.
import t from 'tap';
import { formatTrace } from '../../src/features/trace/format.js';
import { traceLive } from '../../src/features/trace/live.js';
import { waitFor } from '../../src/util/wait.js';
import { requireFrr } from '../lib/frr.js';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';

if (requireRoot(t) && requireFrr(t)) {
  t.test('an IPv6 probe across OSPFv3 routes, hop by hop', async (t) => {
    const model = modelFromYaml(`
name: o6
nodes:
  s1: {kind: switch, subnet: 10.62.1.0/24, subnet6: "fd00:62:1::/64"}
  s2: {kind: switch, subnet: 10.62.2.0/24, subnet6: "fd00:62:2::/64"}
  r1: {kind: router, ospf: {area: 0}}
  r2: {kind: router, ospf: {area: 0}}
  h1: {kind: host}
  h2: {kind: host}
links:
  - endpoints: [h1, s1]
  - endpoints: [r1, s1]
  - endpoints: [r1, r2]
  - endpoints: [r2, s2]
  - endpoints: [h2, s2]
`);
    const sim = await up(t, model);
    await sim.waitConverged({ timeout: 30000 });
    const h2 = sim.node('h2').ip6!;
    await waitFor(async () => (await sim.node('h1').exec(`ping -6 -c1 -W1 ${h2}`)).exitCode === 0, {
      timeoutMs: 20000,
      what: 'h1 to reach h2 over IPv6',
    });
    const r = await traceLive(sim, 'h1', 'h2', { family: 6 });
    t.comment(formatTrace(r));
    t.equal(r.outcome, 'delivered');
    t.same(
      r.hops.map((h) => h.node),
      ['h1', 's1', 'r1', 'r2', 's2', 'h2'],
      'every hop, switches included',
    );
    const route = r.hops.find((h) => h.node === 'r1')!.steps.find((s) => s.kind === 'route')!.text;
    t.match(route, /via fe80::\S+ \(r2\) dev eth2/, "r1's next hop: r2's link-local address, named");
    t.match(route, /proto ospf .*installed by FRR \(zebra\) from OSPF/, "and the route is OSPFv3's");
    const neigh = r.hops.find((h) => h.node === 'h1')!.steps.find((s) => s.kind === 'neighbour')!.text;
    t.match(neigh, /NDP, a router/, 'neighbours are NDP entries');
  });
}
