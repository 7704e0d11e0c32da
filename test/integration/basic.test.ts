import t from 'tap';
import { modelFromYaml, namespacesOf, requireRoot, up } from '../lib/harness.js';

if (requireRoot(t)) {
  t.test('two LANs joined by a router: every host reaches every other', async (t) => {
    const model = modelFromYaml(`
name: x
nodes:
  h1: {kind: host}
  h2: {kind: host}
  h3: {kind: host}
  s1: {kind: switch, subnet: 10.0.1.0/24}
  s2: {kind: switch, subnet: 10.0.2.0/24}
  r1: {kind: router}
links:
  - endpoints: [h1, s1]
  - endpoints: [h2, s1]
  - endpoints: [r1, s1]
  - endpoints: [h3, s2]
  - endpoints: [r1, s2]
`);
    const sim = await up(t, model);
    const res = await sim.pingAll();
    t.equal(res.failed, 0, 'no pair fails');
    t.equal(res.pairs, 12);
    const route = await sim.node('h3').cmd('ip route get 10.0.1.1');
    t.match(route, /via 10\.0\.2\.\d+ dev eth1/, 'h3 reaches LAN 1 through its gateway');
    await sim.down();
    t.same(namespacesOf(model.name), [], 'down removes every namespace');
  });
}
