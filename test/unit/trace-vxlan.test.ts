// trace's VXLAN layer from recorded flannel state (`ip -d -j link show`, the flannel.1
// neighbour and FDB entries) and the `nft monitor trace` of a probe that crossed from C0w1 to
// C0w2: the inner and the outer (UDP 8472) passes, encapsulation and decapsulation.
import t from 'tap';
import { passesOf, seenStep } from '../../src/features/trace/explain/rules.js';
import { explainDecap, explainEncap, isVxlan } from '../../src/features/trace/explain/vxlan.js';
import { parseTrace } from '../../src/features/trace/nft.js';
import type { FdbJson, LinkJson, NeighJson, Pkt } from '../../src/features/trace/types.js';
import { fixture, jsonFixture } from '../lib/trace-fixtures.js';

const CLIENT = '10.244.185.3';
const TABLE = 'netsim-trace-45002';
const inner: Pkt = { saddr: CLIENT, daddr: '10.244.115.2', proto: 'tcp', sport: 45002, dport: 8000 };
const [flannel] = jsonFixture<LinkJson[]>('w1-flannel-link.json');
const [neigh] = jsonFixture<NeighJson[]>('w1-flannel-neigh.json');
const fdb = jsonFixture<FdbJson[]>('w1-flannel-fdb.json');

t.test("C0w1: flannel's neighbour and FDB entries give the outer header", async (t) => {
  t.ok(isVxlan(flannel), 'flannel.1 is a VXLAN device');
  const e = explainEncap('C0w1', flannel, '10.244.115.0', neigh, fdb, inner);
  if ('drop' in e) return t.fail(e.drop);
  t.equal(
    e.step.text,
    'VXLAN flannel.1 (VNI 1): neighbour 10.244.115.0 is 86:54:c6:3c:c1:d3 (permanent), FDB 86:54:c6:3c:c1:d3 dst 192.168.77.3: encapsulated as 192.168.77.2 -> 192.168.77.3 UDP 8472',
  );
  t.same(e.header, {
    node: 'C0w1',
    device: 'flannel.1',
    vni: 1,
    outerSrc: '192.168.77.2',
    outerDst: '192.168.77.3',
    port: 8472,
  });
  t.same(e.outer, { saddr: '192.168.77.2', daddr: '192.168.77.3', proto: 'udp', dport: 8472 });
});

t.test('C0w1: a remote subnet the agent has not programmed', async (t) => {
  t.same(explainEncap('C0w1', flannel, '10.244.99.0', undefined, fdb, inner), {
    drop: 'VXLAN flannel.1: no neighbour entry for 10.244.99.0: the agent has not programmed this remote subnet',
  });
  t.same(explainEncap('C0w1', flannel, '10.244.115.0', neigh, [], inner), {
    drop: 'VXLAN flannel.1: no FDB entry for 86:54:c6:3c:c1:d3: the agent has not programmed this remote subnet',
  });
});

t.test('C0w2: the VXLAN device on port 8472 decapsulates', async (t) => {
  const outer: Pkt = { saddr: '192.168.77.2', daddr: '192.168.77.3', proto: 'udp', dport: 8472 };
  const d = explainDecap(jsonFixture<LinkJson[]>('w2-vxlan-links.json'), outer, inner);
  t.equal(d.device, 'flannel.1');
  t.equal(
    d.step.text,
    '192.168.77.3 is local: UDP 8472 goes to flannel.1 (VNI 1), which decapsulates the inner packet 10.244.185.3 -> 10.244.115.2',
  );
});

t.test(
  'nft trace: the probe leaves C0w1 inside VXLAN and arrives at C0w2 by eth1, then flannel.1',
  async (t) => {
    const w1 = passesOf(parseTrace(fixture('policy-monitor-C0w1.txt')), TABLE, CLIENT);
    t.same(
      w1.slice(0, 2).map((p) => [p.layer, seenStep(p, p.layer).text]),
      [
        ['inner', 'nft trace: probe 10.244.185.3 -> 10.244.115.2 in cni0'],
        ['outer', 'nft trace: VXLAN packet 192.168.77.2 -> 192.168.77.3 out eth1'],
      ],
    );
    t.same(w1[1].packet.dport, 8472);
    const w2 = passesOf(parseTrace(fixture('policy-monitor-C0w2.txt')), TABLE, CLIENT);
    t.same(
      w2.slice(0, 2).map((p) => [p.layer, seenStep(p, p.layer).text]),
      [
        ['outer', 'nft trace: VXLAN packet 192.168.77.2 -> 192.168.77.3 in eth1'],
        ['inner', 'nft trace: probe 10.244.185.3 -> 10.244.115.2 in flannel.1'],
      ],
    );
    t.equal(seenStep(undefined, 'inner').text, 'nft trace: the probe never reached this node');
  },
);
