// `trace` of IPv6 probes in a dual-stack cluster, through the real kernel: two workers on a
// dual-stack underlay, flannel's IPv4 and IPv6 VTEPs, a RequireDualStack service over a pod on
// each worker. Pod to pod across workers over IPv6 goes through flannel-v6.1 (the VXLAN outer
// header over the underlay's IPv6 addresses, flannel's permanent neighbour and FDB entries, the
// decapsulation by the IPv6 device on the other worker); pod to service with -6 goes through
// `ip6 kube-proxy` (the service-ips map, the endpoint chain's DNAT to [pod]:8000, the endpoint
// conntrack recorded) to the pod that answered. The IPv4 trace of the same service still uses
// the ip table.
import t from 'tap';
import type { Cluster } from '../../src/features/k8s/cluster.js';
import type { WorkerNode } from '../../src/features/k8s/worker.js';
import { traceLive } from '../../src/features/trace/live.js';
import type { TraceResult } from '../../src/features/trace/trace.js';
import { waitFor } from '../../src/util/wait.js';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';

const server = (name: string) => `socat TCP6-LISTEN:8000,fork,reuseaddr,ipv6only=0 SYSTEM:'echo ${name}'`;
const nodesOf = (r: TraceResult) => r.hops.map((h) => h.node);
const steps = (r: TraceResult, node: string, kind?: string) =>
  r.hops
    .filter((h) => h.node === node)
    .flatMap((h) => h.steps)
    .filter((s) => !kind || s.kind === kind);

if (requireRoot(t)) {
  t.test('trace over IPv6 in a dual-stack cluster: flannel-v6, ip6 kube-proxy', async (t) => {
    const model = modelFromYaml(`
name: tc6
nodes:
  s1: {kind: switch, subnet: 192.168.66.0/24, subnet6: "fd00:66::/64"}
  C0:
    kind: cluster
    underlay: s1
    workers: 2
    etcd: 1
    dns: false
    podCidr6: "fd00:10:244::/56"
    serviceCidr6: "fd00:10:96::/112"
    pods:
      web1: {worker: w1, labels: {app: web}, command: "${server('web1')}"}
      web2: {worker: w2, labels: {app: web}, command: "${server('web2')}"}
      client: {worker: w1}
    services:
      web:
        ipFamilyPolicy: RequireDualStack
        selector: {app: web}
        ports: [{port: 80, targetPort: 8000}]
`);
    const sim = await up(t, model);
    const C0 = sim.objects.get('C0') as Cluster;
    const w1 = sim.node('C0w1') as WorkerNode;
    const w2 = sim.node('C0w2') as WorkerNode;
    const ip6 = (n: string) => sim.node(n).ip6!;
    t.match(ip6('web2'), /^fd00:10:244:/, 'pods have IPv6 addresses');
    await waitFor(
      async () => {
        for (const w of [w1, w2]) {
          const rules = await w.cmd('nft list table ip6 kube-proxy');
          if (![ip6('web1'), ip6('web2')].every((x) => rules.includes(`dnat to [${x}]:8000`))) return false;
          if (!/ dst fd00:66::\S+ /.test(await w.cmd('bridge fdb show dev flannel-v6.1'))) return false;
        }
        return true;
      },
      { timeoutMs: 15000, what: "ip6 kube-proxy's endpoint rules and flannel-v6's FDB on both workers" },
    );

    t.test('pod to pod across workers: VXLAN over IPv6 (flannel-v6.1)', async (t) => {
      const r = await traceLive(sim, 'client', 'web2', { family: 6, port: 8000 });
      t.equal(r.outcome, 'delivered', r.summary);
      t.equal(r.target.ip, ip6('web2'));
      t.same(nodesOf(r), ['client', 'C0w1', 's1', 'C0w2', 'web2']);
      t.same(
        r.vxlan?.map((v) => ({ ...v })),
        [{ node: 'C0w1', device: 'flannel-v6.1', vni: 1, outerSrc: w1.ip6, outerDst: w2.ip6, port: 8472 }],
        'encapsulated by flannel-v6.1 between the workers IPv6 addresses',
      );
      t.match(
        steps(r, 'C0w1', 'vxlan')[0]?.text,
        /^VXLAN flannel-v6\.1 \(VNI 1\): neighbour fd00:10:244:\S+ is \S+ \(permanent\), FDB \S+ dst fd00:66::\S+: encapsulated as fd00:66::\S+ -> fd00:66::\S+ UDP 8472$/,
      );
      t.ok(
        steps(r, 'C0w1', 'seen').some((s) =>
          /VXLAN packet fd00:66::\S+ -> fd00:66::\S+ out eth1/.test(s.text),
        ),
        'the outer IPv6 packet is seen leaving C0w1 (marked by the inner header)',
      );
      t.match(steps(r, 's1', 'bridge')[0]?.text, /FDB \S+ on port eth\d+ \(to C0w2:eth1\)/);
      t.match(steps(r, 'C0w2', 'decap')[0]?.text, /UDP 8472 goes to flannel-v6\.1 \(VNI 1\)/);
      t.match(steps(r, 'web2', 'deliver')[0]?.text, /delivered to web2 port 8000/);
      t.match(r.probe.detail, /answered "web2"/);
    });

    t.test('pod to service over IPv6: ip6 kube-proxy, the DNAT, the conntrack entry', async (t) => {
      const svc = (await C0.services()).find((s) => s.name === 'web')!;
      const vip6 = svc.clusterIPs.find((x) => x.includes(':'))!;
      const r = await traceLive(sim, 'client', 'web', { family: 6 });
      t.same([r.target.ip, r.target.port, r.target.service], [vip6, 80, 'default/web']);
      t.equal(r.outcome, 'delivered', r.summary);
      const nat = steps(r, 'C0w1', 'nat').map((s) => s.text);
      t.ok(
        nat.some((x) =>
          /^ip6 kube-proxy services: ip6 daddr \. meta l4proto \. th dport vmap @service-ips/.test(x),
        ),
        `the ip6 table's service-ips map: ${nat.join(' | ')}`,
      );
      t.ok(r.dnat, 'a DNAT');
      t.equal(r.dnat?.from, `[${vip6}]:80`);
      const pod = ['web1', 'web2'].find((p) => r.dnat?.to === `[${ip6(p)}]:8000`);
      t.ok(pod, `to web1 or web2: ${r.dnat?.to}`);
      t.equal(nodesOf(r).at(-1), pod, 'delivered to the chosen endpoint');
      t.match(r.probe.detail, new RegExp(`answered "${pod}"`), 'which answered');
      t.match(
        steps(r, 'C0w1', 'dnat')[0]?.text,
        /conntrack: the reply comes from there/,
        'conntrack -f ipv6 agrees',
      );
      // and over IPv4, the ip table as before
      const v4 = await traceLive(sim, 'client', 'web');
      t.equal(v4.outcome, 'delivered', v4.summary);
      t.match(v4.dnat?.to, /^10\.244\.[\d.]+:8000$/);
    });
  });
}
