// Dual-stack Services through the real kernel: a cluster with podCidr6 and serviceCidr6, a
// RequireDualStack NodePort service over two pods on two workers. Its IPv6 ClusterIP is DNATed
// by `ip6 kube-proxy` to both pods (distinct answers over many connections), its NodePort answers
// a host of the underlay on a worker's IPv6 address, the cluster DNS answers A and AAAA for it
// and AAAA for a pod, an IPv6-only service, a NetworkPolicy whose IPv6 ipBlock lets one client in
// and not another, and services whose families do not fit the cluster refused at the field.
import t from 'tap';
import { parseEndpointChain } from '../../src/features/k8s/agent/chain-names.js';
import type { Cluster } from '../../src/features/k8s/cluster.js';
import type { PodNode } from '../../src/features/k8s/pod.js';
import type { WorkerNode } from '../../src/features/k8s/worker.js';
import type { SimNode } from '../../src/runtime/node.js';
import { waitFor } from '../../src/util/wait.js';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';

// each web pod answers every TCP connection, over either family, with its name
const server = (name: string) => `socat TCP6-LISTEN:8000,fork,reuseaddr,ipv6only=0 SYSTEM:'echo ${name}'`;

/** `n` new TCP connections from `node` to [ip]:port over IPv6; what each one got. */
async function connect6(node: SimNode, ip: string, port: number, n: number): Promise<string[]> {
  const r = await node.exec(
    `for i in $(seq ${n}); do socat -T2 - TCP6:[${ip}]:${port},connect-timeout=2 </dev/null 2>&1 | tail -1; done`,
    { timeoutMs: n * 3000 + 5000 },
  );
  return r.stdout.trim().split('\n');
}

/** The endpoint addresses a worker's `ip6 kube-proxy` table DNATs a service to. */
async function programmed6(w: WorkerNode, service: string): Promise<string[]> {
  const r = await w.exec('nft -j list table ip6 kube-proxy');
  if (r.exitCode !== 0) return [];
  const doc = JSON.parse(r.stdout) as { nftables: { chain?: { name: string } }[] };
  return doc.nftables
    .map((x) => (x.chain ? parseEndpointChain(x.chain.name) : undefined))
    .filter((m) => m?.service === service)
    .map((m) => m!.ip)
    .sort();
}

if (requireRoot(t)) {
  t.test('dual-stack services', async (t) => {
    const model = modelFromYaml(`
name: x
nodes:
  s1: {kind: switch, subnet: 192.168.64.0/24, subnet6: "fd00:64::/64"}
  h1: {kind: host}
  C0:
    kind: cluster
    underlay: s1
    workers: 2
    etcd: 1
    podCidr6: "fd00:10:244::/56"
    serviceCidr6: "fd00:10:96::/112"
    pods:
      web1: {worker: w1, labels: {app: web}, command: "${server('web1')}"}
      web2: {worker: w2, labels: {app: web}, command: "${server('web2')}"}
      client: {worker: w1, labels: {role: client}}
      other: {worker: w2, labels: {role: other}}
    services:
      web:
        type: NodePort
        ipFamilyPolicy: RequireDualStack
        selector: {app: web}
        ports: [{port: 80, targetPort: 8000, nodePort: 30080}]
      local:
        type: NodePort
        ipFamilyPolicy: PreferDualStack
        externalTrafficPolicy: Local
        selector: {app: web}
        ports: [{port: 80, targetPort: 8000, nodePort: 30081}]
      web6:
        ipFamilies: [IPv6]
        selector: {app: web}
        ports: [{port: 80, targetPort: 8000}]
links:
  - endpoints: [h1, s1]
`);
    const sim = await up(t, model);
    const C0 = sim.objects.get('C0') as Cluster;
    const workers = ['C0w1', 'C0w2'].map((n) => sim.node(n) as WorkerNode);
    const [web1, web2, client, other] = ['web1', 'web2', 'client', 'other'].map(
      (n) => sim.node(n) as PodNode,
    );
    const h1 = sim.node('h1');
    const svc = (await C0.services()).find((s) => s.name === 'web')!;
    const [vip4, vip6] = svc.clusterIPs;

    t.test('a ClusterIP per family, IPv4 first', async (t) => {
      t.match(vip4, /^10\.96\./);
      t.match(vip6, /^fd00:10:96::[0-9a-f]+$/);
      t.equal(svc.clusterIP, vip4, 'clusterIP is the primary one');
      t.match(web1.ip6, /^fd00:10:244:/, `web1 has an IPv6 address (${web1.ip6})`);
      const v6 = (await C0.services()).find((s) => s.name === 'web6')!;
      t.match(v6.clusterIP, /^fd00:10:96::/, 'an IPv6-only service has an IPv6 clusterIP');
      t.equal(v6.clusterIPs.length, 1);
    });

    t.test('ip6 kube-proxy DNATs the IPv6 ClusterIP to both pods', async (t) => {
      const want = [web1.ip6!, web2.ip6!].sort();
      await waitFor(
        async () =>
          (await Promise.all(workers.map((w) => programmed6(w, 'web')))).every(
            (g) => JSON.stringify([...new Set(g)].sort()) === JSON.stringify(want),
          ),
        { timeoutMs: 10000, what: "web's IPv6 endpoints in both workers' ip6 kube-proxy tables" },
      );
      const table = await workers[0].cmd('nft list table ip6 kube-proxy');
      t.match(
        table,
        new RegExp(`${vip6.replaceAll(':', '\\:')} \\. tcp \\. 80 : goto service-`),
        'service-ips element',
      );
      t.match(table, `dnat to [${web1.ip6}]:8000`);
      const answers = await connect6(client, vip6, 80, 40);
      const seen = new Set(answers);
      t.same([...seen].sort(), ['web1', 'web2'], `40 connections to [${vip6}]:80 reached both pods`);
      const web6 = (await C0.services()).find((s) => s.name === 'web6')!.clusterIP;
      const only6 = await connect6(client, web6, 80, 10);
      t.ok(
        only6.every((a) => a === 'web1' || a === 'web2'),
        `the IPv6-only service answers: ${only6.join(' ')}`,
      );
      // IPv4 still works beside it
      const r = await client.exec(`socat -T2 - TCP:${vip4}:80,connect-timeout=2 </dev/null`);
      t.match(r.stdout, /web[12]/, 'the IPv4 ClusterIP too');
      const counters = await C0.endpointCounters('web');
      t.ok(
        (counters[`${web1.ip6} tcp`] ?? 0) + (counters[`${web2.ip6} tcp`] ?? 0) >= 40,
        'counted per IPv6 endpoint',
      );
    });

    t.test('NodePort on a worker IPv6 address, from a host of the underlay', async (t) => {
      const w1 = workers[0].ip6!;
      t.match(w1, /^fd00:64::/, `C0w1's underlay address ${w1}`);
      const answers = await connect6(h1, w1, 30080, 12);
      t.ok(
        answers.every((a) => a === 'web1' || a === 'web2'),
        `h1 -> [${w1}]:30080: ${answers.join(' ')}`,
      );
      t.equal(new Set(answers).size, 2, 'both pods serve it');
      const v4 = await h1.exec(`socat -T2 - TCP:${workers[1].ip}:30080,connect-timeout=2 </dev/null`);
      t.match(v4.stdout, /web[12]/, 'and the IPv4 NodePort');
    });

    t.test("externalTrafficPolicy Local over IPv6: only the receiving worker's pod", async (t) => {
      const [w1, w2] = workers.map((w) => w.ip6!);
      t.same([...new Set(await connect6(h1, w1, 30081, 8))], ['web1'], `[${w1}]:30081 -> web1 only`);
      t.same([...new Set(await connect6(h1, w2, 30081, 8))], ['web2'], `[${w2}]:30081 -> web2 only`);
    });

    t.test('cluster DNS: A and AAAA for the service, AAAA for a pod', async (t) => {
      const dig = (q: string) => client.cmd(`dig +short +time=2 +tries=2 @10.96.0.10 ${q}`);
      t.equal((await dig('AAAA web.default.svc.cluster.local')).trim(), vip6);
      t.equal((await dig('A web.default.svc.cluster.local')).trim(), vip4);
      t.equal((await dig('AAAA web1.default.pod.cluster.local')).trim(), web1.ip6);
      const dashed = web2.ip6!.replaceAll(':', '-');
      t.equal((await dig(`AAAA ${dashed}.default.pod.cluster.local`)).trim(), web2.ip6);
      t.equal(
        (await dig('A web6.default.svc.cluster.local')).trim(),
        '',
        'an IPv6-only service: no A record',
      );
      const status = await client.cmd('dig +time=2 @10.96.0.10 A web6.default.svc.cluster.local');
      t.match(status, /status: NOERROR/, '(NODATA, not NXDOMAIN)');
      const dns = (await C0.services()).find((x) => x.name === 'kube-dns')!;
      t.same(
        dns.clusterIPs,
        ['10.96.0.10', 'fd00:10:96::a'],
        'kube-dns is dual-stack: the 10th address of each range',
      );
      const over6 = await client.cmd(
        'dig +time=2 +tries=2 @fd00:10:96::a AAAA web.default.svc.cluster.local',
      );
      t.match(over6, new RegExp(`IN\\s+AAAA\\s+${vip6}`), 'asked over IPv6, through the IPv6 ClusterIP');
      t.match(over6, /SERVER: fd00:10:96::a#53/);
      const tcp6 = await client.cmd('dig +tcp +short +time=2 @fd00:10:96::a A web.default.svc.cluster.local');
      t.equal(tcp6.trim(), vip4, 'and over TCP');
    });

    t.test('a manifest: IPv6 primary with PreferDualStack, served over both families', async (t) => {
      await C0.apply({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'v6first' },
        spec: {
          ipFamilyPolicy: 'PreferDualStack',
          ipFamilies: ['IPv6', 'IPv4'],
          selector: { app: 'web' },
          ports: [{ port: 80, targetPort: 8000 }],
        },
      });
      const s = (await C0.services()).find((x) => x.name === 'v6first')!;
      t.match(s.clusterIP, /^fd00:10:96::/, `clusterIP is the IPv6 one (${s.clusterIPs.join(', ')})`);
      t.match(s.clusterIPs[1], /^10\.96\./);
      await waitFor(async () => (await connect6(client, s.clusterIP, 80, 1))[0].startsWith('web'), {
        timeoutMs: 10000,
        what: 'v6first on its IPv6 ClusterIP',
      });
      const r = await client.exec(`socat -T2 - TCP:${s.clusterIPs[1]}:80,connect-timeout=2 </dev/null`);
      t.match(r.stdout, /web[12]/, 'and on its IPv4 one');
    });

    t.test('services that do not fit the cluster are refused at the field', async (t) => {
      await t.rejects(
        C0.addService('bad', {
          clusterIP: '10.96.0.99',
          ipFamilies: ['IPv6'],
          ports: [{ port: 80, targetPort: 80 }],
        }),
        /ipFamilies\[0\]: IPv6 does not match 10\.96\.0\.99, an IPv4 address/,
      );
      await t.rejects(
        C0.addService('bad', {
          clusterIPs: ['10.96.0.98', 'fd00:10:97::1'],
          ports: [{ port: 80, targetPort: 80 }],
        }),
        /clusterIPs\[1\]: fd00:10:97::1 is outside the IPv6 service CIDR fd00:10:96::\/112/,
      );
      t.notOk(
        (await C0.services()).some((s) => s.name === 'bad'),
        'nothing created',
      );
    });

    t.test('NetworkPolicy: an IPv6 ipBlock lets one client in, not another', async (t) => {
      t.same(await connect6(other, web1.ip6!, 8000, 1), ['web1'], 'before: other reaches web1 over IPv6');
      await C0.addNetworkPolicy('only-client6', {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [{ from: [{ ipBlock: { cidr: `${client.ip6}/128` } }] }],
      });
      await waitFor(async () => (await connect6(other, web1.ip6!, 8000, 1))[0] !== 'web1', {
        timeoutMs: 10000,
        what: 'other refused by ip6 netsim-policy',
      });
      t.same(await connect6(client, web1.ip6!, 8000, 1), ['web1'], 'client (in the ipBlock) still gets in');
      t.same(await connect6(client, web2.ip6!, 8000, 1), ['web2'], 'to a pod on the other worker too');
      t.not(
        (await connect6(other, web2.ip6!, 8000, 1))[0],
        'web2',
        'other is refused on the other worker too',
      );
      t.match(await workers[0].cmd('nft list table ip6 netsim-policy'), `ip6 saddr ${client.ip6}`);
      await C0.deleteNetworkPolicy('only-client6');
      await waitFor(async () => (await connect6(other, web1.ip6!, 8000, 1))[0] === 'web1', {
        timeoutMs: 10000,
        what: 'other let in again once the policy is gone',
      });
    });
  });
}
