// Pods wired by the real CNI reference plugins (Debian's containernetworking-plugins): the
// worker's flannel conflist, ADD giving the pod host-local's address (and etcd, the endpoints
// and the pod object agreeing), pods pinging across workers, CHECK passing on a healthy pod
// and failing once its veth is deleted by hand, DEL and teardown leaving no host-local lease
// and no veth, the `cni POD` verb showing the last invocation.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Cluster } from '../../src/features/k8s/cluster.js';
import { cniPod } from '../../src/features/k8s/cni/pods.js';
import type { PodNode } from '../../src/features/k8s/pod.js';
import { getPod } from '../../src/features/k8s/registry.js';
import type { WorkerNode } from '../../src/features/k8s/worker.js';
import { cniPluginAvailable } from '../../src/kernel/cni.js';
import { waitFor } from '../../src/util/wait.js';
import { modelFromYaml, namespacesOf, requireRoot, up } from '../lib/harness.js';
import { repl } from '../lib/repl.js';

const ping = async (from: PodNode, to: PodNode) => (await from.exec(`ping -c1 -W2 ${to.ip}`)).exitCode === 0;

/** host-local's lease files (one per address, named by it) under a worker's dataDir. */
function leases(w: WorkerNode): string[] {
  const dir = join(w.cni.dataDir, 'cbr0');
  return existsSync(dir) ? readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
}

async function vethsOnBridge(w: WorkerNode): Promise<string[]> {
  const links = JSON.parse(await w.cmd('ip -j link show master cni0')) as { ifname: string }[];
  return links.map((l) => l.ifname);
}

if (requireRoot(t) && !cniPluginAvailable('bridge'))
  t.plan(0, 'containernetworking-plugins is not installed');
else if (requireRoot(t))
  t.test('a cluster whose pods are wired by CNI', async (t) => {
    const model = modelFromYaml(`
name: cni
nodes:
  s1: {kind: switch, subnet: 192.168.64.0/24}
  C0:
    kind: cluster
    underlay: s1
    workers: 2
    etcd: 1
    cni: true
    pods:
      a1: {worker: w1, labels: {app: web}}
      b1: {worker: w2}
`);
    const sim = await up(t, model);
    const C0 = sim.objects.get('C0') as Cluster;
    const w1 = sim.node('C0w1') as WorkerNode;
    const w2 = sim.node('C0w2') as WorkerNode;
    const a1 = sim.node('a1') as PodNode;
    const b1 = sim.node('b1') as PodNode;

    t.test("the worker has flannel's conflist next to subnet.env", async (t) => {
      const list = JSON.parse(readFileSync(join(w1.dir, '10-flannel.conflist'), 'utf8'));
      t.equal(list.name, 'cbr0');
      t.strictSame(
        list.plugins.map((p: { type: string }) => p.type),
        ['flannel', 'portmap', 'bandwidth'],
      );
      t.strictSame(list.plugins[2].capabilities, { bandwidth: true });
      const r = repl(sim);
      t.match((await r.run(`C0w1 cat ${w1.dir}/10-flannel.conflist`)).out, /"isDefaultGateway": true/);
      const { out } = await r.run('cni C0w1');
      t.match(out, `# ${w1.dir}/10-flannel.conflist (/etc/cni/net.d/10-flannel.conflist on a node)`);
      t.match(out, /"type": "portmap"/, 'cni WORKER shows the conflist');
      t.match(
        out,
        /\/run\/flannel\/subnet\.env on a node\)\nFLANNEL_NETWORK=10\.244\.0\.0\/16\n/,
        'and subnet.env',
      );
      t.not((await r.run('cni C0e1')).code, 0, 'an etcd member has none');
    });

    t.test("ADD gives the pod host-local's address, which etcd and the pod carry", async (t) => {
      const inv = w1.cni.lastInvocation('a1')!;
      t.equal(inv.command, 'ADD');
      t.equal(inv.calls.length, 1, 'one plugin process: bridge (flannel is played by netsim)');
      t.equal(inv.calls[0].plugin, '/usr/lib/cni/bridge');
      t.equal(inv.calls[0].env.CNI_NETNS, `/run/netns/${a1.ns}`);
      const result = inv.result as { ips: { address: string }[] };
      const address = result.ips[0].address;
      t.equal(address.split('/')[0], a1.ip, 'the pod node has the address of the result');
      t.match(await a1.cmd('ip -o -4 addr show eth0'), address, 'eth0 holds it in the kernel');
      t.equal((await getPod(C0.etcd, 'default', 'a1'))!.status.podIP, a1.ip, "etcd's pod object has it");
      t.strictSame(leases(w1), [a1.ip], "host-local's lease file is named by it");
      t.equal(
        readFileSync(join(w1.cni.dataDir, 'cbr0', a1.ip!), 'utf8').split(/\r?\n/)[0],
        a1.object.metadata.uid,
      );
      t.match(await a1.cmd('ip route'), /default via 10\.244\.\d+\.1 dev eth0/, 'default route via cni0');
      t.match(await a1.cmd('ip -o link show eth0'), /mtu 1450/, 'MTU from subnet.env');
      const { out } = await repl(sim).run('cni a1');
      t.match(out, /CNI_COMMAND=ADD/, 'the verb shows the environment');
      t.match(out, /"type": "host-local"/, 'the delegate config on stdin');
      t.match(out, new RegExp(`"address": "${address}"`), 'and the result');
    });

    t.test('pods ping on the same worker and across workers', async (t) => {
      t.ok(await ping(a1, b1), 'a1 -> b1 (C0w1 -> C0w2)');
      const [a2] = await C0.createPods([{ name: 'a2', worker: 'w1' }]);
      t.ok(await ping(a2, a1), 'a2 -> a1 (same bridge)');
      t.ok(await ping(b1, a2), 'b1 -> a2');
      t.equal((await C0.pingPods()).failed, 0, 'every pair');
    });

    t.test("across workers a pod's packets keep its address (bridge: ipMasq false)", async (t) => {
      t.equal(
        w1.cni.lastInvocation('a1')!.calls[0].stdin.ipMasq,
        false,
        'FLANNEL_IPMASQ=true: flannel masquerades',
      );
      // a1 answers with the peer address it sees
      await a1.exec(
        `socat TCP-LISTEN:9000,fork,reuseaddr 'SYSTEM:echo $SOCAT_PEERADDR' >/dev/null 2>&1 & echo $! > ${w1.dir}/peer.pid`,
      );
      t.teardown(() => a1.exec(`kill $(cat ${w1.dir}/peer.pid)`));
      let seen = '';
      await waitFor(async () => {
        seen = (await b1.cmd(`socat -T2 - TCP:${a1.ip}:9000 </dev/null`)).trim();
        return seen !== '';
      });
      t.equal(seen, b1.ip, 'a1 sees b1 (C0w2) by its pod address, not its worker');
    });

    t.test('CHECK passes on a healthy pod and fails once its veth is gone', async (t) => {
      const [c1] = await C0.createPods([{ name: 'c1', worker: 'w2' }]);
      await w2.cni.check(cniPod(c1));
      t.pass('CHECK on a healthy pod');
      t.equal(w2.cni.lastInvocation('c1')!.command, 'CHECK');
      await c1.cmd('ip link del eth0');
      await t.rejects(w2.cni.check(cniPod(c1)), /CNI CHECK bridge/, 'CHECK fails without eth0');
      t.match(w2.cni.lastInvocation('c1')!.error!, /CHECK/);
      await C0.deletePod('c1');
    });

    t.test('DEL releases the address and removes the veth', async (t) => {
      const before = await vethsOnBridge(w1);
      const [d1] = await C0.createPods([{ name: 'd1', worker: 'w1' }]);
      const ip = d1.ip!;
      t.ok(leases(w1).includes(ip), 'leased');
      t.equal((await vethsOnBridge(w1)).length, before.length + 1, 'one more port on cni0');
      await C0.deletePod('d1');
      t.notOk(leases(w1).includes(ip), 'lease file removed by DEL');
      t.strictSame(await vethsOnBridge(w1), before, 'its veth is gone from cni0');
      t.equal(w1.cni.lastInvocation('d1')!.command, 'DEL');
      const { out, code } = await repl(sim).run('cni d1');
      t.equal(code, 0, 'cni shows a deleted pod');
      t.match(out, /^DEL for pod d1 on C0w1\n[\s\S]*CNI_COMMAND=DEL/, 'its last invocation: the DEL');
      t.notOk(await getPod(C0.etcd, 'default', 'd1'), 'object gone from etcd');
      const [d2] = await C0.createPods([{ name: 'd2', worker: 'w1' }]);
      t.ok(await ping(d2, b1), 'a new pod works after a delete');
    });

    t.test("a hostPort is published on the worker's address by portmap", async (t) => {
      const [h1] = await C0.createPods([
        {
          name: 'h1',
          worker: 'w1',
          command: "socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo hello-from-h1'",
          ports: [{ containerPort: 80, hostPort: 8080 }],
        },
      ]);
      const inv = w1.cni.lastInvocation('h1')!;
      t.strictSame(
        inv.calls.map((c) => c.plugin),
        ['/usr/lib/cni/bridge', '/usr/lib/cni/portmap'],
        'portmap chained after bridge',
      );
      t.strictSame(inv.calls[1].stdin.runtimeConfig, {
        portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
      });
      t.ok(inv.calls[1].stdin.prevResult, "portmap got bridge's result as prevResult");
      await waitFor(async () => (await h1.exec('ss -ltn')).stdout.includes(':80 '), { what: 'h1 listening' });
      const reply = await waitFor(
        async () => (await w2.exec(`socat -T2 - TCP:${w1.ip}:8080 </dev/null`)).stdout.trim() || undefined,
        { what: `${w1.ip}:8080 from C0w2` },
      );
      t.equal(reply, 'hello-from-h1', "C0w2 reaches h1 through C0w1's address, port 8080");
      t.not(
        (await w2.exec(`socat -T1 - TCP:${w1.ip}:8081 </dev/null`)).exitCode,
        0,
        'another port is not published',
      );
      await C0.deletePod('h1');
      t.equal(w1.cni.lastInvocation('h1')!.calls[0].plugin, '/usr/lib/cni/portmap', 'DEL runs portmap first');
      t.not((await w2.exec(`socat -T1 - TCP:${w1.ip}:8080 </dev/null`)).exitCode, 0, 'unpublished after DEL');
    });

    t.test('bandwidth annotations hold iperf3 to 5 Mbit/s, ingress and egress', async (t) => {
      const RATE = 5_000_000;
      const [bi, be] = await C0.createPods([
        { name: 'bi', worker: 'w1', annotations: { 'kubernetes.io/ingress-bandwidth': '5M' } },
        { name: 'be', worker: 'w1', annotations: { 'kubernetes.io/egress-bandwidth': '5M' } },
      ]);
      const inv = w1.cni.lastInvocation('bi')!;
      t.strictSame(
        inv.calls.map((c) => c.plugin),
        ['/usr/lib/cni/bridge', '/usr/lib/cni/bandwidth'],
        'bandwidth chained after bridge',
      );
      t.strictSame(
        inv.calls[1].stdin.runtimeConfig,
        { bandwidth: { ingressRate: RATE, ingressBurst: 2147483647 } },
        "kubelet's runtimeConfig: rate in bit/s, burst math.MaxInt32",
      );
      const veth = (bi.model.ifaces[0].peer as { name: string }).name;
      t.match(await w1.cmd(`tc qdisc show dev ${veth}`), /tbf .*rate 5Mbit/, "tbf on the pod's host veth");
      t.match(await w1.cmd('ip -o link show type ifb'), /bwp/, 'an ifb device shapes the egress pod');
      // kubelet's burst lets the first ~256 MB through unshaped: iperf3 omits the first seconds
      const iperf = async (client: PodNode, server: PodNode) => {
        const srv = server.exec('timeout 30 iperf3 -s -1 -p 5201', { timeoutMs: 35000 });
        await waitFor(async () => (await server.exec('ss -ltn')).stdout.includes(':5201 '), {
          what: `iperf3 listening in ${server.name}`,
        });
        const res = await client.exec(`iperf3 -c ${server.ip} -p 5201 -O 3 -t 5 -J`, { timeoutMs: 30000 });
        await srv;
        const doc = JSON.parse(res.stdout) as { end: { sum_received: { bits_per_second: number } } };
        return doc.end.sum_received.bits_per_second;
      };
      const into = await iperf(b1, bi);
      t.ok(Math.abs(into - RATE) <= RATE * 0.1, `into bi: ${(into / 1e6).toFixed(2)} Mbit/s (5 ± 10%)`);
      const out = await iperf(be, b1);
      t.ok(Math.abs(out - RATE) <= RATE * 0.1, `out of be: ${(out / 1e6).toFixed(2)} Mbit/s (5 ± 10%)`);
      const free = await iperf(b1, a1);
      t.ok(free > RATE * 4, `an unannotated pod is not shaped: ${(free / 1e6).toFixed(0)} Mbit/s`);
      await C0.deletePod('be');
      t.equal(
        w1.cni.lastInvocation('be')!.calls[0].plugin,
        '/usr/lib/cni/bandwidth',
        'DEL runs bandwidth first',
      );
      t.notMatch(await w1.cmd('ip -o link show type ifb'), /bwp/, 'its ifb device is gone');
      await C0.deletePod('bi');
      await t.rejects(
        C0.addPod('w1', 'bx', { annotations: { 'kubernetes.io/egress-bandwidth': '5 Mbit' } }),
        /pod "bx": annotation kubernetes.io\/egress-bandwidth: "5 Mbit" is not a quantity/,
        'a bad quantity is refused before anything is made',
      );
      t.notOk(sim.nodes.has('bx'));
    });

    t.test('teardown leaves no lease file and no veth', async (t) => {
      const dataDir = w1.cni.dataDir;
      t.ok(existsSync(dataDir), 'host-local has state while the simulation runs');
      t.ok(leases(w1).length > 0, 'and leases');
      t.ok((await vethsOnBridge(w1)).length > 0, 'pods have veths on cni0');
      await sim.down();
      t.notOk(existsSync(dataDir), "host-local's dataDir is gone");
      t.notOk(existsSync(sim.dir), 'so is the simulation directory');
      t.strictSame(
        namespacesOf(sim.name),
        [],
        "no namespace of the simulation: the veths' ends went with them",
      );
    });
  });
