// Dual-stack clusters through the real kernel and a real etcd: two workers on two LANs joined
// by a router (a routed underlay with IPv4 and IPv6), podCidr6 on the cluster. Pods get both
// addresses and reach each other over IPv6 across workers through flannel-v6.1 (VXLAN over
// the underlay's IPv6, seen with tcpdump on the router), etcd holds flannel's dual-stack lease
// key and fields, subnet.env has the IPv6 lines, IPv4 still works on the same pods; through
// the CNI plugins (C0) and netsim's direct path (C1, cni: false).
import t from 'tap';
import type { Cluster } from '../../src/features/k8s/cluster.js';
import { cniPod } from '../../src/features/k8s/cni/pods.js';
import { parseLease } from '../../src/features/k8s/flannel.js';
import type { PodNode } from '../../src/features/k8s/pod.js';
import type { WorkerNode } from '../../src/features/k8s/worker.js';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';

const ping6 = async (from: PodNode, to: PodNode) =>
  (await from.exec(`ping -6 -c1 -W2 ${to.ip6}`)).exitCode === 0;
const ping4 = async (from: PodNode, to: PodNode) =>
  (await from.exec(`ping -4 -c1 -W2 ${to.ip}`)).exitCode === 0;

if (requireRoot(t)) {
  t.test('dual-stack clusters on a routed underlay', async (t) => {
    const model = modelFromYaml(`
name: x
nodes:
  s1: {kind: switch, subnet: 192.168.64.0/24, subnet6: "fd00:64::/64"}
  s2: {kind: switch, subnet: 192.168.65.0/24, subnet6: "fd00:65::/64"}
  r1: {kind: router}
  C0:
    kind: cluster
    underlay: [s1, s2]
    workers: 2
    etcd: 1
    dns: false
    podCidr6: "fd00:10:244::/56"
    pods:
      a1: {worker: w1}
      a2: {worker: w1}
      b1: {worker: w2}
  C1:
    kind: cluster
    underlay: [s2, s1]
    workers: 2
    etcd: 1
    dns: false
    cni: false
    prefix: /c1/network
    podCidr: 10.245.0.0/16
    podCidr6: "fd00:10:245::/56"
    pods:
      d1: {worker: w1}
      e1: {worker: w2}
links:
  - endpoints: [r1, s1]
  - endpoints: [r1, s2]
`);
    const sim = await up(t, model);
    const C0 = sim.objects.get('C0') as Cluster;
    const w1 = sim.node('C0w1') as WorkerNode;
    const w2 = sim.node('C0w2') as WorkerNode;
    const [a1, a2, b1] = ['a1', 'a2', 'b1'].map((n) => sim.node(n) as PodNode);

    t.test('pods through CNI have both addresses, usable at once', async (t) => {
      const env = w1.subnet()!;
      t.ok(env.subnet6, 'subnet.env gives the worker an IPv6 subnet');
      t.match(a1.ip6, /^fd00:10:244:[0-9a-f]+::[0-9a-f]+$/, `a1's RuntimeNode.ip6: ${a1.ip6}`);
      const addrs = await a1.cmd('ip -6 addr show dev eth0 scope global');
      t.match(addrs, `inet6 ${a1.ip6}/64`);
      t.notMatch(addrs, /tentative/, 'no duplicate address detection pending');
      t.match(
        await a1.cmd('ip -6 route'),
        /^default via fd00:10:244:[0-9a-f]+::1 dev eth0/m,
        '::/0 via cni0',
      );
      t.match(
        await a1.cmd('ip -o link show eth0'),
        /mtu 1430/,
        'pod MTU = underlay 1500 - 70 (VXLAN over IPv6)',
      );
      const obj = (await C0.pods()).find((p) => p.metadata.name === 'a1')!;
      t.strictSame(obj.status.podIPs, [{ ip: a1.ip }, { ip: a1.ip6 }], "podIPs in etcd, Kubernetes' order");
      t.match(await a1.cmd('cat /etc/hosts'), `${a1.ip6}\ta1`, "kubelet's /etc/hosts lists the IPv6 address");
      await t.resolves(
        w1.cni.check(cniPod(a1)),
        'CNI CHECK (bridge) agrees with both families of the result',
      );
    });

    t.test('IPv6 pod to pod on one worker and across workers; IPv4 still works', async (t) => {
      t.ok(await ping6(a1, a2), 'a1 -> a2 over IPv6 (same worker, cni0)');
      t.ok(await ping6(a1, b1), 'a1 -> b1 over IPv6 (C0w1 -> C0w2 through flannel-v6.1)');
      t.ok(await ping6(b1, a1), 'b1 -> a1 over IPv6');
      t.ok(await ping4(a1, b1), 'a1 -> b1 over IPv4 (flannel.1)');
      t.match(await b1.cmd(`ip -6 route get ${a1.ip6}`), /via .* dev eth0/, 'b1 sends it to cni0');
      t.match(
        await w2.cmd(`ip -6 route get ${a1.ip6}`),
        /dev flannel-v6\.1/,
        'C0w2 routes it into flannel-v6.1',
      );
    });

    t.test('the router sees VXLAN (UDP 8472) inside IPv6 between the workers', async (t) => {
      const r1 = sim.node('r1');
      const toS2 = r1.model.ifaces.find((i) => i.peer.node === 's2')!.name;
      // tcpdump stops after two VXLAN-in-IPv6 packets; pings go on until it has them
      const dump = r1.exec(`timeout 15 tcpdump -c 2 -nnl -i ${toS2} 'ip6 and udp port 8472' 2>&1`);
      let done = false;
      void dump.then(() => {
        done = true;
      });
      while (!done) await a1.exec(`ping -6 -c1 -W1 ${b1.ip6}`);
      const out = (await dump).stdout;
      t.match(out, `IP6 ${w1.underlayIp6}.`, `outer source: C0w1's underlay IPv6 address\n${out}`);
      t.match(out, `> ${w2.underlayIp6}.8472:`, "outer destination: C0w2's, port 8472");
      t.match(out, `${a1.ip6} > ${b1.ip6}: ICMP6, echo request`, 'inner: the pods’ IPv6 ping');
    });

    t.test("flannel's dual-stack lease, config and subnet.env", async (t) => {
      const leases = await C0.leases();
      const mine = leases.find((l) => l.worker === 'C0w1')!;
      const env = w1.subnet()!;
      t.ok(mine.subnet6, 'the lease has an IPv6 subnet');
      const key = `/coreos.com/network/subnets/${mine.subnet.replace('/', '-')}&${mine.subnet6!.replace('/', '-')}`;
      t.match(key, /subnets\/10\.244\.\d+\.0-24&fd00:10:244:[0-9a-f]+::-64$/, key);
      const raw = await C0.etcd.get(key).string();
      const mac = JSON.parse(await w1.cmd('ip -j link show flannel.1'))[0].address as string;
      const mac6 = JSON.parse(await w1.cmd('ip -j link show flannel-v6.1'))[0].address as string;
      t.equal(
        raw,
        `{"PublicIP":"${w1.ip}","PublicIPv6":"${w1.underlayIp6}","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${mac}"},"BackendV6Data":{"VNI":1,"VtepMAC":"${mac6}"}}`,
        "flanneld's exact dual-stack value",
      );
      t.same(
        JSON.parse((await C0.etcd.get('/coreos.com/network/config').string())!),
        {
          Network: '10.244.0.0/16',
          Backend: { Type: 'vxlan', VNI: 1, Port: 0 },
          EnableIPv6: true,
          IPv6Network: 'fd00:10:244::/56',
        },
        'network config',
      );
      const first6 = mine.subnet6!.replace('::/64', '::1/64');
      t.match(
        await w1.cmd(`cat ${w1.subnetFile}`),
        `FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=${first6}\nFLANNEL_MTU=1430\n`,
        'subnet.env',
      );
      t.equal(env.mtu, 1430);
      // what C0w1 holds for C0w2's IPv6 lease: the same triple as flannel.1's
      const other = leases.find((l) => l.worker === 'C0w2')!;
      const gw6 = other.subnet6!.replace('/64', '');
      const w2mac6 = parseLease(other.value)!.BackendV6Data!.VtepMAC;
      t.match(await w1.cmd('ip -6 route'), `${other.subnet6} via ${gw6} dev flannel-v6.1`, 'route');
      t.match(await w1.cmd('ip -6 route'), /flannel-v6\.1 .*onlink/, 'onlink');
      t.match(
        await w1.cmd('ip -6 neigh show dev flannel-v6.1'),
        `${gw6} lladdr ${w2mac6} PERMANENT`,
        'neighbour',
      );
      t.match(
        await w1.cmd('bridge fdb show dev flannel-v6.1'),
        `${w2mac6} dst ${w2.underlayIp6} self permanent`,
        'FDB',
      );
      t.match(
        await w1.cmd('ip -d link show flannel-v6.1'),
        new RegExp(`vxlan id 1 local ${w1.underlayIp6} dev eth1 .*dstport 8472 nolearning`),
        'the VTEP over the underlay IPv6 address',
      );
      t.match(
        await w1.cmd('ip -6 addr show dev flannel-v6.1'),
        `inet6 ${mine.subnet6!.replace('/64', '/128')}`,
        'the VTEP holds its subnet address /128',
      );
    });

    t.test('a worker restart keeps its dual-stack lease and IPv6 path', async (t) => {
      const before = (await C0.leases()).find((l) => l.worker === 'C0w2')!;
      await w2.restart();
      const after = (await C0.leases()).find((l) => l.worker === 'C0w2')!;
      t.equal(after.subnet6, before.subnet6, 'the same IPv6 subnet');
      t.equal(after.subnet, before.subnet, 'the same IPv4 subnet');
      t.ok(await ping6(a1, b1), 'a1 -> b1 over IPv6 after the restart');
      t.ok(await ping6(b1, a1), 'b1 -> a1 (the new flannel-v6.1 MAC reached C0w1)');
    });

    t.test('the direct path (cni: false): both addresses, IPv6 across workers', async (t) => {
      const d1 = sim.node('d1') as PodNode;
      const e1 = sim.node('e1') as PodNode;
      t.match(d1.ip6, /^fd00:10:245:/, `d1: ${d1.ip6}`);
      t.notMatch(await d1.cmd('ip -6 addr show dev eth0'), /tentative/);
      t.ok(await ping6(d1, e1), 'd1 -> e1 over IPv6 (flannel-v6.1 of C1)');
      t.ok(await ping4(d1, e1), 'd1 -> e1 over IPv4');
      const late = await (sim.objects.get('C1') as Cluster).addPod('w2', 'late');
      t.ok(late.ip6, 'a pod made at run time has an IPv6 address too');
      t.ok(await ping6(late, d1), 'late -> d1 over IPv6');
      t.match(await late.cmd('cat /etc/hosts'), `${late.ip6}\tlate`);
    });
  });
}
