// The fast build path: namespace scripts run by a few shells, bridges configured in waves after
// the nodes they connect, their ports forwarding as soon as up returns; a failing script names
// its namespace and leaves nothing behind.
import t from 'tap';
import { builtinTopology } from '../../src/model/topos.js';
import { validate } from '../../src/model/validate.js';
import { Simulation } from '../../src/runtime/simulation.js';
import { modelFromYaml, namespacesOf, requireRoot, uniqueName, up } from '../lib/harness.js';

if (requireRoot(t)) {
  t.test('tree,2,3: every bridge port forwards when up returns; first pings get through', async (t) => {
    const topo = builtinTopology('tree,2,3')!;
    const model = validate(topo.toSpec(), topo.source, { simName: uniqueName() });
    const sim = await up(t, model);
    const switches = ['s1', 's2', 's3', 's4'];
    // read right away: nothing may still be coming up
    const ports = await Promise.all(
      switches.map(
        async (s) => JSON.parse(await sim.node(s).cmd('bridge -j link show')) as { state: string }[],
      ),
    );
    t.same(
      ports.map((p) => p.length),
      [3, 4, 4, 4],
      's1 has its three child switches, each child its parent and three hosts',
    );
    t.same(
      ports.flat().filter((p) => p.state !== 'forwarding'),
      [],
      'every port is forwarding',
    );
    // one echo request each, no retry: the path must already be open end to end
    const h1 = sim.node('h1').ip!;
    const single = await Promise.all(
      ['h4', 'h7', 'h9'].map((h) =>
        sim
          .node(h)
          .exec(`ping -c1 -W2 ${h1}`)
          .then((r) => r.exitCode),
      ),
    );
    t.same(single, [0, 0, 0], 'hosts under the other two switches reach h1 with their first ping');
    t.equal((await sim.pingAll()).failed, 0, 'and the whole matrix passes');
  });

  t.test('a failing namespace script names its namespace; nothing is left behind', async (t) => {
    const model = modelFromYaml(`
name: x
nodes:
  s1: {kind: switch}
  h1: {kind: host}
  h2: {kind: host, sysctls: {net.ipv4.no_such_setting: 1}}
  h3: {kind: host}
links:
  - endpoints: [h1, s1]
  - endpoints: [h2, s1]
  - endpoints: [h3, s1]
`);
    await t.rejects(
      Simulation.up(model),
      { message: new RegExp(`\\[netsim-${model.name}-h2\\] configuration.*no_such_setting`, 's') },
      'the error names h2 and carries sysctl’s complaint',
    );
    t.same(namespacesOf(model.name), [], 'every namespace made before the failure is gone');
  });
}
