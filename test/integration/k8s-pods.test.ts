// Pod networking through the real kernel and a real etcd cluster: pods ping on one worker
// and across workers (VXLAN), flannel's lease key and JSON, a worker restart keeps its lease,
// deleting a pod frees its address, and wrong requests fail with clear errors.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Cluster } from '../../src/features/k8s/cluster.js';
import { parseLease } from '../../src/features/k8s/flannel.js';
import type { PodNode } from '../../src/features/k8s/pod.js';
import type { WorkerNode } from '../../src/features/k8s/worker.js';
import { modelFromYaml, namespacesOf, requireRoot, up } from '../lib/harness.js';

const ping = async (from: PodNode, to: PodNode) => (await from.exec(`ping -c1 -W2 ${to.ip}`)).exitCode === 0;

if (requireRoot(t)) {
  t.test('a cluster of 3 workers and 3 etcd members', async (t) => {
    const model = modelFromYaml(`
name: x
nodes:
  s1: {kind: switch, subnet: 192.168.64.0/24}
  C0:
    kind: cluster
    underlay: s1
    podCidr: 10.244.0.0/16
    pods:
      a1: {worker: w1, labels: {app: web}}
      a2: {worker: w1}
      b1: {worker: w2}
`);
    const sim = await up(t, model);
    const C0 = sim.objects.get('C0') as Cluster;
    const w1 = sim.node('C0w1') as WorkerNode;
    const w2 = sim.node('C0w2') as WorkerNode;
    const a1 = sim.node('a1') as PodNode;
    const a2 = sim.node('a2') as PodNode;
    const b1 = sim.node('b1') as PodNode;

    t.test('pods ping on the same worker and across workers', async (t) => {
      t.ok(await ping(a1, a2), 'a1 -> a2 (same worker, through cni0)');
      t.ok(await ping(a1, b1), 'a1 -> b1 (C0w1 -> C0w2 through flannel.1)');
      t.ok(await ping(b1, a2), 'b1 -> a2');
      const res = await C0.pingPods();
      t.equal(res.failed, 0, 'every pod pair of the cluster');
      t.match(await a1.cmd('ip -o link show eth0'), /mtu 1450/, 'pod MTU = underlay 1500 - 50');
      t.match(
        await a1.cmd('ip route'),
        new RegExp(`default via ${w1.subnet()!.subnet.ip >>> 24}\\.`),
        'gateway .1',
      );
    });

    t.test("flannel's lease key and JSON in etcd, and the kernel state per remote lease", async (t) => {
      const env = w1.subnet()!;
      const net = `${[env.subnet.ip >>> 24, (env.subnet.ip >>> 16) & 255, (env.subnet.ip >>> 8) & 255, 0].join('.')}`;
      const key = `/coreos.com/network/subnets/${net}-24`;
      const raw = await C0.etcd.get(key).string();
      t.ok(raw, `${key} exists`);
      // (not /sys/class/net: that sysfs shows the host's namespace)
      const mac = JSON.parse(await w1.cmd('ip -j link show flannel.1'))[0].address as string;
      t.equal(
        raw,
        `{"PublicIP":"${w1.ip}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${mac}"}}`,
        "flanneld's exact value",
      );
      const leases = await C0.leases();
      t.equal(leases.length, 3, 'one lease per worker');
      t.ok(
        leases.every((l) => l.lease !== '0'),
        'leases are attached to an etcd lease (TTL)',
      );
      const config = JSON.parse((await C0.etcd.get('/coreos.com/network/config').string())!);
      t.same(
        config,
        { Network: '10.244.0.0/16', Backend: { Type: 'vxlan', VNI: 1, Port: 0 } },
        'network config',
      );
      // what w1 holds for w2's lease: route via <net>.0 onlink, permanent neighbour, FDB to w2
      const w2lease = leases.find((l) => l.worker === 'C0w2')!;
      const gw = w2lease.subnet.split('/')[0];
      const w2mac = parseLease(w2lease.value)!.BackendData!.VtepMAC;
      t.match(await w1.cmd('ip route'), `${w2lease.subnet} via ${gw} dev flannel.1 onlink`, 'route');
      t.match(await w1.cmd('ip neigh show dev flannel.1'), `${gw} lladdr ${w2mac} PERMANENT`, 'neighbour');
      t.match(await w1.cmd('bridge fdb show dev flannel.1'), `${w2mac} dst ${w2.ip} self permanent`, 'FDB');
      t.match(
        await w1.cmd('ip -d link show flannel.1'),
        /vxlan id 1 local \S+ dev eth1 .*dstport 8472 nolearning/,
      );
      t.match(
        await w1.cmd(`cat ${w1.subnetFile}`),
        `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=${net.replace(/\.0$/, '.1')}/24\nFLANNEL_MTU=1450\n`,
        'subnet.env',
      );
    });

    t.test('a worker restart keeps its lease', async (t) => {
      const before = w2.subnet()!;
      const leaseBefore = (await C0.leases()).find((l) => l.worker === 'C0w2')!;
      await w2.restart();
      const after = w2.subnet()!;
      t.equal(after.subnet.ip, before.subnet.ip, 'same subnet after restart');
      const leaseAfter = (await C0.leases()).find((l) => l.worker === 'C0w2')!;
      t.equal(leaseAfter.subnet, leaseBefore.subnet, 'the same lease key');
      t.not(leaseAfter.lease, leaseBefore.lease, 'renewed with a fresh etcd lease');
      t.ok(await ping(a1, b1), 'a1 -> b1 after the restart');
      t.ok(await ping(b1, a1), 'b1 -> a1 after the restart (new VTEP MAC reached C0w1)');
    });

    t.test('pods made at run time; deleting one frees its address', async (t) => {
      const p = await C0.addPod('w3', 'late', { labels: { app: 'late' } });
      const obj = (await C0.pods()).find((x) => x.metadata.name === 'late')!;
      t.same(obj.metadata.labels, { app: 'late' }, 'labels in etcd');
      t.equal(obj.status.podIP, p.ip, 'pod IP in etcd');
      t.equal(obj.status.phase, 'Running');
      t.ok(await ping(p, a1), 'new pod reaches a1');
      const q = await w1.createContainer('c9');
      t.not(q.ip, a1.ip, 'no reuse of an allocated address');
      t.not(q.ip, a2.ip);
      const out = await w1.execContainer('c9', `ping -c1 -W2 ${b1.ip}`);
      t.match(out, '1 received', 'execContainer returns the output');
      t.equal(await w1.exec_container('c9', 'echo hi'), 'hi\n', 'knetsim alias');
      const ip = q.ip;
      const ns = q.ns;
      await w1.deleteContainer('c9');
      t.notOk(sim.nodes.has('c9'), 'gone from the simulation');
      t.notOk(namespacesOf(sim.name).includes(ns), 'namespace removed');
      t.notOk(
        (await C0.pods()).some((x) => x.metadata.name === 'c9'),
        'object removed from etcd',
      );
      // host-local (the IPAM of the default CNI path) hands addresses out round-robin: a freed
      // one comes back once the range wraps; freed = its lease file is gone
      t.notOk(existsSync(join(w1.cni.dataDir, 'cbr0', ip!)), "host-local's lease for it is gone");
      const r = await w1.createContainer('c10');
      t.not(r.ip, a1.ip, 'the next address is a free one');
      t.ok(existsSync(join(w1.cni.dataDir, 'cbr0', r.ip!)), 'and host-local leased it');
      await w1.delete_container('c10');
    });

    t.test('bad requests fail with clear errors and leave nothing behind', async (t) => {
      const nsBefore = namespacesOf(sim.name).length;
      const podsBefore = (await C0.pods()).length;
      await t.rejects(C0.addPod('w9', 'x1'), /unknown worker "w9" in C0 \(workers: C0w1, C0w2, C0w3\)/);
      await t.rejects(C0.addPod('w2', 'a1'), /a pod named "a1" already exists \(in C0 on C0w1, 10\.244\./);
      await t.rejects(C0.addPod('w2', 's1'), /"s1" is already the name of a node \(switch\)/);
      await t.rejects(C0.addPod('w2', 'Bad_Name'), /invalid pod name "Bad_Name"/);
      await t.rejects(w1.execContainer('nope', 'true'), /no pod "nope" on C0w1 \(its pods: a1, a2\)/);
      await t.rejects(w1.execContainer('b1', 'true'), /pod "b1" runs on C0w2, not on C0w1/);
      t.equal(namespacesOf(sim.name).length, nsBefore, 'no namespace made');
      t.equal((await C0.pods()).length, podsBefore, 'etcd holds the same pods');
    });
  });
}
