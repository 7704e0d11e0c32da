// Full ping matrices through real bridges: Mininet's single,N and linear,K topologies.
import t from 'tap';
import { builtinTopology } from '../../src/model/topos.js';
import { validate } from '../../src/model/validate.js';
import { namespacesOf, requireRoot, uniqueName, up } from '../lib/harness.js';

function builtin(spec: string) {
  const topo = builtinTopology(spec)!;
  return validate(topo.toSpec(), topo.source, { simName: uniqueName() });
}

if (requireRoot(t)) {
  t.test('single,20: one switch, 20 hosts, every pair reaches every other', async (t) => {
    const model = builtin('single,20');
    const sim = await up(t, model);
    t.equal(namespacesOf(model.name).length, 21, '20 host namespaces and the switch');
    const res = await sim.pingAll();
    t.equal(res.pairs, 20 * 19, 'every ordered pair is tried');
    t.equal(
      res.failed,
      0,
      `no pair fails (${res.results.filter((r) => !r.ok).map((r) => `${r.src}->${r.dst}`)})`,
    );
    // the bridge learned every host: proof the traffic went through s1 and not some shortcut
    const fdb = await sim.node('s1').cmd('bridge fdb show br br0 dynamic');
    t.ok(fdb.split('\n').filter((l) => l.includes('master br0')).length >= 20, 's1 learned 20 MACs');
    await sim.down();
    t.same(namespacesOf(model.name), [], 'down removes every namespace');
  });

  t.test('linear,8: 8 switches in a chain, one host each, full matrix', async (t) => {
    const model = builtin('linear,8');
    const sim = await up(t, model);
    const res = await sim.pingAll();
    t.equal(res.pairs, 8 * 7);
    t.equal(
      res.failed,
      0,
      `no pair fails (${res.results.filter((r) => !r.ok).map((r) => `${r.src}->${r.dst}`)})`,
    );
    // cut the chain in the middle: hosts on either side no longer reach each other
    await sim.setLink('s4', 's5', 'down');
    const cut = await sim.pingAll({ timeoutMs: 300 });
    t.equal(cut.failed, 2 * 4 * 4, 'cutting s4-s5 separates h1..h4 from h5..h8 (32 ordered pairs)');
    const leftSide = (host: string) => Number(host.slice(1)) <= 4;
    t.ok(
      cut.results.every((r) => r.ok === (leftSide(r.src) === leftSide(r.dst))),
      'exactly the pairs across the cut fail',
    );
    await sim.setLink('s4', 's5', 'up');
    t.equal((await sim.pingAll()).failed, 0, 'link up restores the whole matrix');
  });
}
