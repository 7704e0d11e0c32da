// Pods as a plan fragment (k8s/pod.ts planPods): the namespaces, veths and scripts that
// Simulation.apply makes for a batch of pods on one worker, line by line.
import t from 'tap';
import { planPods, podModel, podNamespace } from '../../src/features/k8s/pod.js';
import { Plan } from '../../src/plan/plan.js';
import { parseIp } from '../../src/util/ipv4.js';

const env = {
  network: { net: parseIp('10.244.0.0')!, prefix: 16 },
  subnet: { ip: parseIp('10.244.1.1')!, prefix: 24 },
  mtu: 1450,
  ipMasq: true,
};

t.test('two pods on one worker', async (t) => {
  const plan = new Plan(undefined);
  const pods = ['a', 'b'].map((name, i) => ({
    ns: podNamespace('x', 'C0w1', name),
    ip: parseIp(`10.244.1.${i + 2}`)!,
    hostname: name,
  }));
  planPods(plan, 'netsim-x-C0w1', env, pods);
  t.strictSame(plan.namespaces, ['netsim-x-C0w1-a', 'netsim-x-C0w1-b'], 'one namespace per pod');
  t.strictSame(
    [...plan.hostnames],
    [
      ['netsim-x-C0w1-a', 'a'],
      ['netsim-x-C0w1-b', 'b'],
    ],
    'each pod named after itself',
  );
  t.strictSame(plan.veths, [
    {
      a: { ns: 'netsim-x-C0w1-a', ifname: 'eth0' },
      b: { ns: 'netsim-x-C0w1', ifname: 'veth0af40102' },
      mtu: 1450,
    },
    {
      a: { ns: 'netsim-x-C0w1-b', ifname: 'eth0' },
      b: { ns: 'netsim-x-C0w1', ifname: 'veth0af40103' },
      mtu: 1450,
    },
  ]);
  t.strictSame(plan.scripts.get('netsim-x-C0w1-a')?.ip, [
    'link set lo up',
    'addr add 10.244.1.2/24 dev eth0',
    'link set eth0 up',
    'route add default via 10.244.1.1 dev eth0',
  ]);
  t.strictSame(
    plan.scripts.get('netsim-x-C0w1')?.ip,
    ['link set veth0af40102 master cni0 up', 'link set veth0af40103 master cni0 up'],
    "the worker's ends join its cni0 bridge",
  );
  t.equal(plan.operationCount, 2 + 2 + 4 + 4 + 2);
});

t.test("a pod's node model: eth0 facing the worker's veth", async (t) => {
  const m = podModel('x', 'C0w1', 'a', parseIp('10.244.1.2')!, 24);
  t.equal(m.ns, 'netsim-x-C0w1-a');
  t.strictSame(m.ifaces[0].peer, { node: 'C0w1', name: 'veth0af40102' });
  t.strictSame(m.ifaces[0].addr, { ip: parseIp('10.244.1.2'), prefix: 24 });
});
