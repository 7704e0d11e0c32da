// `link a b down|up`: through the API and through the REPL verb. Traffic stops while the
// link is down and comes back when it is up again.
import t from 'tap';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';
import { repl } from '../lib/repl.js';

const TOPOLOGY = `
name: x
nodes:
  h1: {kind: host}
  h2: {kind: host}
  h3: {kind: host}
  s1: {kind: switch}
  r1: {kind: router}
links:
  - endpoints: [h1, s1]
  - endpoints: [h2, s1]
  - endpoints: [h3, r1]
  - endpoints: [r1, s1]
`;

if (requireRoot(t)) {
  t.test('sim.setLink', async (t) => {
    const sim = await up(t, modelFromYaml(TOPOLOGY));
    t.ok(await sim.pingPair('h1', 'h2'), 'h1 <-> h2 before');
    t.equal(await sim.setLink('h1', 's1', 'down'), 1, 'one link between h1 and s1');
    const ping = (a: string, b: string) => sim.node(a).exec(`ping -c1 -W1 ${sim.node(b).ip}`);
    t.not((await ping('h1', 'h2')).exitCode, 0, 'h1 -> h2 fails while h1-s1 is down');
    t.not((await ping('h2', 'h1')).exitCode, 0, 'h2 -> h1 too');
    t.ok(await sim.pingPair('h2', 'h3'), 'other paths are unaffected (h2 <-> h3 through r1)');
    const state = await sim.node('s1').cmd('ip -br link show eth1');
    t.match(state, /DOWN/, "the switch's end is down too (both ends, as Mininet)");
    await sim.setLink('h1', 's1', 'up');
    t.ok(await sim.pingPair('h1', 'h2'), 'h1 <-> h2 again after link up');
    t.ok(await sim.pingPair('h1', 'h3'), 'and through the router');
    await t.rejects(
      sim.setLink('h1', 'h2', 'down'),
      /no link between h1 and h2/,
      'no such link: a clear error',
    );
  });

  t.test('the REPL verb: link a b down|up', async (t) => {
    const sim = await up(t, modelFromYaml(TOPOLOGY));
    const { cmds, io } = repl(sim);
    t.equal(await cmds.run('h1 ping -c1 -W1 h3'), 0, 'h1 ping h3 (through s1 and r1)');
    t.match(io.out, /1 received/);
    t.equal(await cmds.run('link r1 s1 down'), 0, 'link r1 s1 down');
    t.match(io.out, /1 link r1<->s1 down/);
    io.out = '';
    t.equal(await cmds.run('links'), 0);
    t.match(
      io.out,
      /r1-eth\d<->s1-eth\d \(MISSING MISSING\)|s1-eth\d<->r1-eth\d \(MISSING MISSING\)/,
      'links shows both ends down',
    );
    t.not(await cmds.run('h1 ping -c1 -W1 h3'), 0, 'h1 ping h3 fails with the router cut off');
    t.equal(await cmds.run('h1 ping -c1 -W1 h2'), 0, 'h1 ping h2 (same switch) still works');
    t.not(await cmds.run('pingall 0.3'), 0, 'pingall reports failures');
    t.match(io.out, /X/, 'pingall marks the unreachable pairs');
    t.equal(await cmds.run('link r1 s1 up'), 0, 'link r1 s1 up');
    t.equal(await cmds.run('h1 ping -c1 -W1 h3'), 0, 'h1 ping h3 works again');
    t.equal(await cmds.run('pingall'), 0, 'pingall: everything reachable');
    io.err = '';
    t.equal(await cmds.run('link r1 s1 sideways'), 1, 'a bad state is a usage error');
    t.match(io.err, /usage: link a b up\|down/);
    io.err = '';
    t.not(await cmds.run('link r1 nosuch down'), 0, 'an unknown node fails');
    t.match(io.err, /no node named "nosuch"/);
  });
}
