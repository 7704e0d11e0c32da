// Liqo-style peering through the real kernel: two clusters with the SAME pod CIDR
// (10.244.0.0/16) on a routed underlay (C0's second worker is on another LAN), peered through a VXLAN tunnel between their gateways (the
// first worker of each); each side sees the other's pods in a remapped CIDR, the gateways'
// nftables translate, and pods on non-gateway workers ping and fetch across.
import t from 'tap';
import type { Cluster } from '../../src/features/k8s/cluster.js';
import type { PodNode } from '../../src/features/k8s/pod.js';
import { registerMulticluster } from '../../src/features/multicluster/index.js';
import { hubAndSpoke } from '../../src/features/multicluster/liqo/peering.js';
import { peerCommand } from '../../src/features/multicluster/liqo/verbs.js';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';

// the clusters' multi-cluster verbs (C0.peer, C0.skupperLink ...), as the REPL has them
registerMulticluster();

const server = (name: string) =>
  `socat TCP-LISTEN:8000,fork,reuseaddr SYSTEM:'sleep 0.1; echo HTTP/1.0 200 OK; echo; echo ${name}'`;

if (requireRoot(t)) {
  t.test('unit: hub and spoke', async (t) => {
    t.same(hubAndSpoke(['C0', 'C1', 'C2']), [
      ['C0', 'C1'],
      ['C0', 'C2'],
    ]);
  });

  t.test('two clusters with the same pod CIDR, peered', async (t) => {
    const model = modelFromYaml(`
name: x
nodes:
  s1: {kind: switch, subnet: 192.168.85.0/24}
  s2: {kind: switch, subnet: 192.168.86.0/24}
  r1: {kind: router}
  C0:
    kind: cluster
    underlay: [s1, s2]
    workers: 2
    etcd: 1
    podCidr: 10.244.0.0/16
    pods:
      a1: {worker: w2, command: "${server('a1')}"}
  C1:
    kind: cluster
    underlay: s1
    workers: 2
    etcd: 1
    podCidr: 10.244.0.0/16
    vni: 2
    prefix: /c1/network
    pods:
      b1: {worker: w2, command: "${server('b1')}"}
      b2: {worker: w1}
links:
  - endpoints: [r1, s1]
  - endpoints: [r1, s2]
`);
    const sim = await up(t, model);
    const C0 = sim.objects.get('C0') as Cluster;
    const C1 = sim.objects.get('C1') as Cluster;
    const a1 = sim.node('a1') as PodNode;
    const b1 = sim.node('b1') as PodNode;
    const b2 = sim.node('b2') as PodNode;
    t.match(a1.ip, /^10\.244\./, 'a1 in 10.244.0.0/16');
    t.match(b1.ip, /^10\.244\./, 'b1 in 10.244.0.0/16 too');

    const p = await C0.peer('C1');
    const [s0, s1] = p.sides;
    t.equal(s0.podCidr, s1.podCidr, 'same pod CIDR on both sides');
    t.not(s0.remoteAs, s0.podCidr, `C0 sees C1's pods in ${s0.remoteAs}`);
    t.not(s1.remoteAs, s1.podCidr, `C1 sees C0's pods in ${s1.remoteAs}`);
    const b1seen = C0.remoteIp('C1', 'b1');
    const a1seen = C1.remoteIp('C0', 'a1');
    t.comment(`C0 sees b1 (${b1.ip}) at ${b1seen}; C1 sees a1 (${a1.ip}) at ${a1seen}`);

    t.test('ping through the remapped addresses, both ways', async (t) => {
      const r1 = await a1.exec(`ping -c3 -i0.2 -W2 ${b1seen}`);
      t.equal(r1.exitCode, 0, `a1 (C0 w2) pings b1 (C1 w2) at ${b1seen}`);
      const r2 = await b2.exec(`ping -c3 -i0.2 -W2 ${a1seen}`);
      t.equal(r2.exitCode, 0, `b2 (C1 gateway worker) pings a1 at ${a1seen}`);
      const own = await a1.exec(`ping -c1 -W1 ${b1.ip}`);
      t.not(own.exitCode, 0, `b1's real address ${b1.ip} is C0's own CIDR: not b1`);
    });

    t.test("a worker off the gateway's LAN reaches it through flannel's VXLAN", async (t) => {
      const w2 = C0.workers[1];
      const route = await w2.cmd(`ip route show ${s0.remoteAs}`);
      t.match(route, new RegExp(`via \\S+ dev ${w2.vxlanDevice} .*onlink`), `C0w2 (on s2): ${route.trim()}`);
      // the agent's full resync at start removes stale VTEP routes, not this one
      await w2.killAgent();
      await w2.startAgentAndWait();
      t.match(await w2.cmd(`ip route show ${s0.remoteAs}`), /onlink/, 'the route survives an agent restart');
      t.equal((await a1.exec(`ping -c2 -i0.2 -W2 ${b1seen}`)).exitCode, 0, 'a1 still pings b1');
    });

    t.test('TCP across: the server sees the remapped client address', async (t) => {
      const r = await a1.exec(`socat -T3 - TCP:${b1seen}:8000,connect-timeout=3 </dev/null`);
      t.match(r.stdout, /b1/, 'a1 fetches from b1');
      const ct = await C1.workers[0].exec('conntrack -L -p tcp --dport 8000 2>/dev/null');
      t.match(
        ct.stdout,
        new RegExp(`src=${a1seen.replaceAll('.', '\\.')}`),
        'C1 sees a1 as its remapped address',
      );
    });

    t.test('the tunnel is VXLAN between the gateways, with remapped addresses only', async (t) => {
      const d = await C0.workers[0].exec(`ip -d link show ${s0.device}`);
      t.match(
        d.stdout,
        new RegExp(`vxlan id ${p.vni} remote ${s1.gatewayIp}`),
        'unicast VXLAN to the peer gateway',
      );
      const nft = await C0.workers[0].cmd('nft list table ip liqo-C1');
      t.match(nft, /snat ip prefix to ip saddr map/, 'netmap SNAT');
      t.match(nft, /dnat ip prefix to ip daddr map/, 'netmap DNAT');
    });

    t.test('an offloaded pod: runs in C1, answers a C0 service from there', async (t) => {
      const p1 = await C0.addPod('virtual-C1', 'p1', { labels: { app: 'off' }, command: server('p1') });
      t.equal(p1.cluster, 'C1', 'p1 runs in C1');
      const vn = C0.virtualNodes();
      t.equal(vn[0]?.name, 'virtual-C1', 'C0 has the virtual node virtual-C1');
      t.equal(
        vn[0]?.pods[0]?.ip,
        C0.remoteIp('C1', 'p1'),
        `C0 sees p1 at its remapped IP ${vn[0]?.pods[0]?.ip}`,
      );
      const svc = await C0.addService('off', {
        selector: { app: 'off' },
        ports: [{ port: 80, targetPort: 8000 }],
      });
      const view = (await C0.services()).find((s) => s.name === 'off');
      t.match(
        view?.endpoints,
        [new RegExp(`^${vn[0]?.pods[0]?.ip.replaceAll('.', '\\.')}`)],
        'the offloaded endpoint',
      );
      let out = '';
      for (let i = 0; i < 30 && !out.includes('p1'); i++) {
        out = (await a1.exec(`socat -T3 - TCP:${svc.spec.clusterIP}:80,connect-timeout=3 </dev/null`)).stdout;
        if (!out.includes('p1')) await new Promise((r) => setTimeout(r, 100));
      }
      t.match(out, /p1/, 'a C0 pod reaches the C0 service; p1 answers from C1');
      await C0.deletePod('p1');
      t.notOk(sim.nodes.has('p1'), 'deleting it in C0 deletes it in C1');
    });

    t.test('the peer verb (REPL, and netsim peer through the control socket)', async (t) => {
      t.match(await peerCommand(sim, ['show']), /C0 <-> C1: VXLAN VNI \d+ UDP 4790/, 'peer show');
      t.match(await peerCommand(sim, ['apply']), /C0 <-> C1/, 'apply: hub and spoke from C0 keeps C0-C1');
      t.equal(C0.peerings().length, 1, 'one peering');
    });

    t.test('unpeer removes the tunnel', async (t) => {
      await C0.unpeer('C1');
      t.not((await a1.exec(`ping -c1 -W1 ${b1seen}`)).exitCode, 0, 'no longer reachable');
      t.not((await C0.workers[0].exec(`ip link show ${s0.device}`)).exitCode, 0, 'device gone');
      const again = await C0.peer('C1');
      t.equal(
        (await a1.exec(`ping -c2 -i0.2 -W2 ${C0.remoteIp('C1', 'b1')}`)).exitCode,
        0,
        `peered again (${again.name})`,
      );
    });
  });
}
