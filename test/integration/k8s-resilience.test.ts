// The pod network under failure, through the real kernel and a real 3-member etcd: pod
// traffic between workers is VXLAN on UDP 8472 on the underlay (captured); killing one etcd
// member loses no pod ping and pods can still be created; killing a worker's agent leaves
// the data plane working, and its restart resyncs from etcd, including a lease written the
// way flanneld writes it and kernel state that drifted while it was away.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Cluster } from '../../src/features/k8s/cluster.js';
import type { EtcdNode } from '../../src/features/k8s/etcd.js';
import type { PodNode } from '../../src/features/k8s/pod.js';
import type { WorkerNode } from '../../src/features/k8s/worker.js';
import { waitFor } from '../../src/util/wait.js';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';

const esc = (ip: string | undefined) => (ip ?? '?').replace(/\./g, '\\.');
const received = (out: string) => Number(/(\d+) received/.exec(out)?.[1] ?? -1);

if (requireRoot(t)) {
  t.test('a cluster of 2 workers and 3 etcd members under failure', async (t) => {
    const sim = await up(
      t,
      modelFromYaml(`
name: x
nodes:
  s1: {kind: switch, subnet: 192.168.70.0/24}
  C0:
    kind: cluster
    underlay: s1
    workers: 2
    podCidr: 10.244.0.0/16
    pods:
      a1: {worker: w1}
      b1: {worker: w2}
`),
    );
    const C0 = sim.objects.get('C0') as Cluster;
    const w1 = sim.node('C0w1') as WorkerNode;
    const w2 = sim.node('C0w2') as WorkerNode;
    const a1 = sim.node('a1') as PodNode;
    const b1 = sim.node('b1') as PodNode;

    t.test('pod-to-pod between workers is VXLAN (VNI 1) on UDP 8472 on the underlay', async (t) => {
      // -T vxlan: tcpdump decodes only 4789 as VXLAN by itself; 8472 is Linux's (and flannel's) port
      const started = join(sim.dir, 'tcpdump.err');
      const capture = w2.exec(
        `timeout 10 tcpdump -l -nn -i eth1 -c 2 -T vxlan 'udp port 8472' 2>'${started}'`,
        { timeoutMs: 15000 },
      );
      // tcpdump says so on stderr once it captures
      await waitFor(() => existsSync(started) && readFileSync(started, 'utf8').includes('listening on'), {
        what: 'tcpdump to listen',
      });
      t.equal((await a1.exec(`ping -c2 -W2 ${b1.ip}`)).exitCode, 0, 'a1 pings b1');
      const out = (await capture).stdout;
      t.match(
        out,
        new RegExp(`IP ${esc(w1.ip)}\\.\\d+ > ${esc(w2.ip)}\\.8472`),
        'outer: worker to worker, UDP 8472',
      );
      t.match(out, /VXLAN, flags \[I\] \(0x08\), vni 1/, 'VXLAN header with VNI 1');
      t.match(
        out,
        new RegExp(`IP ${esc(a1.ip)} > ${esc(b1.ip)}: ICMP echo request`),
        'inner: pod to pod ICMP',
      );
    });

    t.test('kill one etcd member of three: no pod ping lost, pods still created', async (t) => {
      const e1 = sim.node('C0e1') as EtcdNode;
      const replies = join(sim.dir, 'ping-a1.out');
      const pinging = a1.exec(`ping -n -i 0.05 -c 60 -W 1 ${b1.ip} >'${replies}'; cat '${replies}'`, {
        timeoutMs: 20000,
      });
      // the member dies in the middle of the run: after the first 10 replies
      const answered = () =>
        existsSync(replies) ? readFileSync(replies, 'utf8').split('bytes from').length - 1 : 0;
      await waitFor(() => answered() >= 10, { what: '10 ping replies' });
      await e1.kill();
      t.notOk(e1.running, 'C0e1 is gone (SIGKILL)');
      const out = (await pinging).stdout;
      t.equal(
        received(out),
        60,
        `60 of 60 pings answered while C0e1 died: ${/\d+% packet loss/.exec(out)?.[0]}`,
      );
      // if C0e1 led, the two left elect a new leader first (etcd's election timeout, longer
      // under load): until then they answer unhealthy
      const quorum = JSON.stringify({ C0e1: false, C0e2: true, C0e3: true });
      await waitFor(async () => JSON.stringify(await C0.health()) === quorum, {
        timeoutMs: 15000,
        what: 'C0e2 and C0e3 healthy without C0e1',
      });
      t.same(await C0.health(), JSON.parse(quorum), 'the other two keep a quorum');
      const p = await C0.addPod('w2', 'after-kill');
      t.ok(p.ip, `a pod is created with two members (${p.ip})`);
      t.equal((await a1.exec(`ping -c1 -W2 ${p.ip}`)).exitCode, 0, 'and is reachable');
      e1.start();
      await C0.waitHealthy();
      await waitFor(() => e1.health(), { timeoutMs: 10000, what: 'C0e1 to be healthy' }).catch(() => {});
      t.ok(await e1.health(), 'C0e1 restarted from its data dir rejoins');
      await C0.deletePod('after-kill');
    });

    t.test("kill a worker's agent: the data plane keeps working; a restart resyncs", async (t) => {
      await w2.killAgent();
      t.notOk(w2.agentRunning, "C0w2's agent is dead");
      const out = (await a1.exec(`ping -n -i 0.05 -c 20 -W 1 ${b1.ip}`)).stdout;
      t.equal(received(out), 20, 'a1 <-> b1 still work without the agent (the kernel holds the state)');

      // while it is away: a worker joins the way real flanneld announces itself, and w2's
      // route to w1's subnet is lost
      const w1Subnet = w1.subnet()!;
      const w1Net = `${w1Subnet.subnet.ip >>> 24}.${(w1Subnet.subnet.ip >>> 16) & 255}.${(w1Subnet.subnet.ip >>> 8) & 255}.0/24`;
      await w2.cmd(`ip route del ${w1Net}`);
      t.notMatch(await w2.cmd('ip route'), w1Net, "w2's route to w1's pods is gone");
      t.not((await a1.exec(`ping -c1 -W1 ${b1.ip}`)).exitCode, 0, 'so b1 no longer answers a1');
      // a subnet no worker holds (leases are picked at random, as flanneld does)
      const taken = new Set((await C0.leases()).map((l) => l.subnet));
      const free = [200, 201, 202].find((n) => !taken.has(`10.244.${n}.0/24`))!;
      const net = `10.244.${free}.0`;
      const flanneldKey = `/coreos.com/network/subnets/${net}-24`;
      const flanneldValue = `{"PublicIP":"192.168.70.200","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0a:58:0a:f4:c8:00"}}`;
      const lease = C0.etcd.lease(120);
      await lease.put(flanneldKey).value(flanneldValue);

      const t0 = performance.now();
      await w2.startAgentAndWait();
      t.comment(`agent restarted and resynced in ${(performance.now() - t0).toFixed(0)} ms`);
      t.match(await w2.cmd('ip route'), `${w1Net} via`, 'the route to w1 is back');
      t.equal((await a1.exec(`ping -c1 -W2 ${b1.ip}`)).exitCode, 0, 'a1 reaches b1 again');
      const routes = await w2.cmd('ip route');
      t.match(routes, `${net}/24 via ${net} dev flannel.1 onlink`, "the flanneld lease's route");
      t.match(
        await w2.cmd('ip neigh show dev flannel.1'),
        `${net} lladdr 0a:58:0a:f4:c8:00 PERMANENT`,
        'its permanent neighbour',
      );
      t.match(
        await w2.cmd('bridge fdb show dev flannel.1'),
        '0a:58:0a:f4:c8:00 dst 192.168.70.200 self permanent',
      );
      // w1's agent never stopped: it saw the lease through its watch
      t.match(await w1.cmd('ip route'), `${net}/24 via ${net} dev flannel.1 onlink`, 'w1 learned it live');

      await lease.revoke();
      const gone = await waitFor(
        async () =>
          !(await w1.cmd('ip route')).includes(`${net}/24`) &&
          !(await w2.cmd('ip route')).includes(`${net}/24`),
        { timeoutMs: 8000, what: "the lease's routes to go" },
      ).catch(() => false);
      t.ok(gone, 'the lease expires (revoked): both workers remove its route');
      t.notMatch(await w2.cmd('bridge fdb show dev flannel.1'), '0a:58:0a:f4:c8:00', 'and its FDB entry');
    });
  });
}
