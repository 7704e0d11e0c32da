// trace's bridge layer from recorded `bridge -j fdb show` and `ip -j -s link show`: a worker's
// cni0 (a pod's port, the bridge's own address, a permanent entry, an unknown MAC) and a
// switch's br0 with the port counters read around the probe.
import t from 'tap';
import { fdbChoice, ownAddress, receivedStep, unknownMac } from '../../src/features/trace/explain/bridge.js';
import { parseCounters } from '../../src/features/trace/probe.js';
import type { FdbJson, LinkJson } from '../../src/features/trace/types.js';
import { jsonFixture } from '../lib/trace-fixtures.js';

const cni0 = jsonFixture<FdbJson[]>('w1-cni0-fdb.json');
const peers: Record<string, { node: string; iface: string }> = {
  veth0af4b902: { node: 'web1', iface: 'eth0' },
  veth0af4b903: { node: 'client', iface: 'eth0' },
  eth3: { node: 'C0w2', iface: 'eth1' },
};
const peerOf = (port: string) => peers[port];

t.test("cni0: the FDB sends web1's MAC to web1's port", async (t) => {
  const c = fdbChoice('C0w1', 'cni0', 'aa:2a:2b:01:66:64', cni0, peerOf, () => undefined);
  t.equal(c.port, 'veth0af4b902');
  t.notOk(c.local);
  t.equal(c.step.text, 'bridge cni0: FDB aa:2a:2b:01:66:64 on port veth0af4b902 (to web1:eth0)');
});

t.test("cni0: the bridge's own address and a port's own address go up to the IP stack", async (t) => {
  const [link] = jsonFixture<LinkJson[]>('w1-cni0-link.json');
  t.equal(link.address, '2e:54:7e:00:11:fc', "the gateway MAC pods use is cni0's own");
  const own = ownAddress('C0w1', 'cni0', link.address!);
  t.ok(own.local);
  t.equal(own.step.text, "bridge cni0: 2e:54:7e:00:11:fc is the bridge's own address: up to C0w1's IP stack");
  const perm = fdbChoice('C0w1', 'cni0', '7e:e7:91:25:fd:bf', cni0, peerOf, () => undefined);
  t.ok(perm.local);
  t.notOk(perm.port);
  t.equal(
    perm.step.text,
    "bridge cni0: 7e:e7:91:25:fd:bf is a local address (permanent FDB entry on veth0af4b903): up to C0w1's IP stack",
  );
});

t.test('an unknown MAC is flooded; no MAC at all is said so', async (t) => {
  const c = fdbChoice('C0w1', 'cni0', '02:00:00:00:00:99', cni0, peerOf, () => undefined);
  t.same([c.port, c.local], [undefined, undefined]);
  t.equal(c.step.text, 'bridge cni0: no FDB entry for 02:00:00:00:00:99: flooded to every port');
  t.equal(unknownMac('br0').step.text, 'bridge br0: destination MAC unknown (no neighbour entry upstream)');
});

t.test("switch s1: the FDB picks C0w2's port; the counters say the probe went through", async (t) => {
  const before = parseCounters(jsonFixture('s1-link-stats.json'));
  t.same(before.get('eth2'), { rx: 67, tx: 87 });
  t.same(before.get('eth3'), { rx: 63, tx: 90 });
  const after = new Map(
    [...before].map(([k, v]) => [k, { rx: v.rx + (k === 'eth2' ? 4 : 0), tx: v.tx + 7 }]),
  );
  const rx = receivedStep('eth2', before.get('eth2'), after.get('eth2'));
  t.same(rx, {
    seen: true,
    step: { kind: 'seen', text: 'eth2: 4 packets received during the probe', data: { iface: 'eth2', rx: 4 } },
  });
  t.equal(receivedStep('eth1', before.get('eth1'), before.get('eth1'))?.seen, false, 'nothing on eth1');
  t.equal(receivedStep('eth9', undefined, undefined), undefined, 'no counters: nothing said');
  const c = fdbChoice(
    's1',
    'br0',
    '36:1c:13:b8:f0:39',
    jsonFixture<FdbJson[]>('s1-fdb.json'),
    peerOf,
    (port) => after.get(port)!.tx - before.get(port)!.tx,
  );
  t.equal(c.port, 'eth3');
  t.equal(
    c.step.text,
    'bridge br0: FDB 36:1c:13:b8:f0:39 on port eth3 (to C0w2:eth1), 7 sent there during the probe',
  );
});
