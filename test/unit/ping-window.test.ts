// How many pairs the pinger keeps in flight (runtime/ping.ts): the floods of their first
// requests (ARP/ND, copied to every port of the broadcast domain into the CPU's backlog queue)
// must fit in net.core.netdev_max_backlog with room, so the largest domain's ports are counted.
import { join } from 'node:path';
import t from 'tap';
import { loadTopology, PROJECT_ROOT } from '../../src/model/load.js';
import { builtinTopology } from '../../src/model/topos.js';
import { validate } from '../../src/model/validate.js';
import { floodPorts, modelFloodPorts, pingWindow } from '../../src/runtime/ping.js';

const model = (name: string) => {
  const topo = builtinTopology(name)!;
  return validate(topo.toSpec(), topo.source, { simName: 'pw' });
};

t.test('the largest broadcast domain, in ports', async (t) => {
  t.equal(modelFloodPorts(model('single,1000')), 1000, 'single,1000: one switch, 1,000 ports');
  t.equal(modelFloodPorts(model('tree,2,71')), 5041 + 71 * 2, 'tree,2,71: 72 switches joined, 5,183 ports');
  t.equal(modelFloodPorts(model('linear,4,3')), 4 * 3 + 3 * 2, 'linear: the chain of switches is one domain');
  const { model: basic } = await loadTopology(join(PROJECT_ROOT, 'scenarios/basic.yml'), { simName: 'pw' });
  t.equal(modelFloodPorts(basic), 3, 'a router splits domains: s1 (h1, h2, r1) is the larger');
  t.equal(
    floodPorts([{ a: 'h1:eth0', b: 'h2:eth0' }], () => false),
    1,
    'no bridge: at least 1',
  );
});

t.test('pairs in flight per process fit the backlog twice over', async (t) => {
  t.equal(pingWindow(5183, 2, 40_896), 1, 'tree,2,71 with its backlog (8 per link): one per process');
  t.equal(pingWindow(1000, 2, 8000), 2, 'single,1000');
  t.equal(pingWindow(200, 2, 5000), 6, 'single,200');
  t.equal(pingWindow(3, 2, 5000), 16, 'small labs: at most 16');
  t.equal(pingWindow(undefined, 2, 5000), 16, 'no domain size given: 16 as before');
  t.equal(pingWindow(100_000, 1, 1000), 1, 'never fewer than one');
  t.equal(pingWindow(5183, 2, 654_000), 1, 'tree,2,71 with the backlog raised: still one per process');
  t.equal(pingWindow(1001, 2, 128_128), 8, 'single,1000 with the backlog raised: 8');
});
