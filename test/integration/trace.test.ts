// `trace` through the real kernel: one simulation with a cluster of two workers and, apart
// from it, two FRR routers between two hosts. Traces of real probes, explained from each
// node's kernel: same-worker pod to pod (the cni0 bridge), across workers (the VXLAN outer
// header, flannel's neighbour and FDB entries), pod to service (kube-proxy's rules, the DNAT
// and the endpoint conntrack recorded), across two OSPF routers (each route and its
// protocol), and a probe dropped by a NetworkPolicy (the dropping rule). Also the REPL verb,
// `netsim trace` in another process, bad input, and that nothing is left behind.
import { readFileSync } from 'node:fs';
import t from 'tap';
import type { Cluster } from '../../src/features/k8s/cluster.js';
import type { WorkerNode } from '../../src/features/k8s/worker.js';
import { traceLive } from '../../src/features/trace/live.js';
import type { TraceResult } from '../../src/features/trace/trace.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { Commands } from '../../src/surfaces/repl/commands.js';
import { waitFor } from '../../src/util/wait.js';
import { runCli } from '../lib/corpus.js';
import { requireFrr } from '../lib/frr.js';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';

const server = (name: string) => `socat TCP-LISTEN:8000,fork,reuseaddr SYSTEM:'echo ${name}'`;

const nodesOf = (r: TraceResult) => r.hops.map((h) => h.node);
const steps = (r: TraceResult, node: string, kind?: string) =>
  r.hops
    .filter((h) => h.node === node)
    .flatMap((h) => h.steps)
    .filter((s) => !kind || s.kind === kind);

if (requireRoot(t) && requireFrr(t)) {
  t.test('trace: pods, services, VXLAN, FRR routers, NetworkPolicy', async (t) => {
    const model = modelFromYaml(`
name: x
nodes:
  s1: {kind: switch, subnet: 192.168.77.0/24}
  C0:
    kind: cluster
    underlay: s1
    etcd: 1
    workers: 2
    dns: false
    pods:
      web1: {worker: w1, labels: {app: web}, command: "${server('web1')}"}
      web2: {worker: w2, labels: {app: web, tier: back}, command: "${server('web2')}"}
      client: {worker: w1}
      other: {worker: w2}
    services:
      web: {selector: {app: web}, ports: [{port: 80, targetPort: 8000}]}
  r1: {kind: router, ospf: {area: 0}}
  r2: {kind: router, ospf: {area: 0}}
  s2: {kind: switch}
  s3: {kind: switch}
  h1: {kind: host}
  h2: {kind: host}
links:
  - endpoints: [h1, s2]
  - endpoints: [r1, s2]
  - endpoints: [r1, r2]
  - endpoints: [r2, s3]
  - endpoints: [h2, s3]
`);
    const sim = await up(t, model);
    const C0 = sim.objects.get('C0') as Cluster;
    const ip = (n: string) => sim.node(n).ip!;
    const w1 = sim.node('C0w1') as WorkerNode;
    const w2 = sim.node('C0w2') as WorkerNode;
    await waitFor(
      async () => ((await C0.services()).find((s) => s.name === 'web')?.endpoints.length ?? 0) >= 2,
      { timeoutMs: 5000, what: 'both endpoints of service web' },
    );
    // each worker's kube-proxy DNATs to both endpoints, and flannel knows the other worker
    await waitFor(
      async () => {
        for (const w of [w1, w2]) {
          const rules = await w.cmd('nft list table ip kube-proxy');
          if (![ip('web1'), ip('web2')].every((x) => rules.includes(`dnat to ${x}:8000`))) return false;
          if (!/ dst 192\.168\.77\.\d+ /.test(await w.cmd('bridge fdb show dev flannel.1'))) return false;
        }
        return true;
      },
      { timeoutMs: 10000, what: "kube-proxy's endpoint rules and flannel's FDB on both workers" },
    );
    const conv = sim.waitConverged({ timeout: 30000 });

    t.test('same worker, pod to pod: the cni0 bridge, no VXLAN', async (t) => {
      const r = await traceLive(sim, 'client', 'web1', { port: 8000 });
      t.equal(r.outcome, 'delivered', r.summary);
      t.same(nodesOf(r), ['client', 'C0w1', 'web1'], 'client, its worker, web1');
      t.notOk(r.vxlan, 'no VXLAN');
      const br = steps(r, 'C0w1', 'bridge');
      t.ok(
        br.some((s) => /bridge cni0: FDB \S+ on port veth\w+ \(to web1:eth0\)/.test(s.text)),
        `cni0's FDB picks web1's port: ${br.map((s) => s.text)}`,
      );
      t.match(
        steps(r, 'client', 'route')[0]?.text,
        /dev eth0; FIB entry 10\.244\.\d+\.0\/24 dev eth0 proto kernel/,
      );
      t.match(steps(r, 'web1', 'deliver')[0]?.text, /delivered to web1 port 8000/);
      t.ok(
        r.hops.every((h) => h.seen !== false),
        'the nft trace saw the probe in every node',
      );
      t.match(r.probe.detail, /answered "web1"/, 'the probe is a real connection');
    });

    t.test('across workers: VXLAN outer header, flannel FDB and neighbour', async (t) => {
      const r = await traceLive(sim, 'client', 'web2', { port: 8000 });
      t.equal(r.outcome, 'delivered', r.summary);
      t.same(nodesOf(r), ['client', 'C0w1', 's1', 'C0w2', 'web2']);
      t.same(
        r.vxlan?.map((v) => ({ ...v })),
        [{ node: 'C0w1', device: 'flannel.1', vni: 1, outerSrc: w1.ip, outerDst: w2.ip, port: 8472 }],
        'encapsulated C0w1 -> C0w2, VNI 1, UDP 8472',
      );
      const vx = steps(r, 'C0w1', 'vxlan')[0];
      t.match(vx?.text, /neighbour 10\.244\.\d+\.0 is \S+ \(permanent\), FDB \S+ dst 192\.168\.77\.\d+/);
      t.ok(
        steps(r, 'C0w1', 'seen').some((s) =>
          /VXLAN packet 192\.168\.77\.\d+ -> 192\.168\.77\.\d+ out eth1/.test(s.text),
        ),
        'the outer packet is seen leaving C0w1',
      );
      t.match(
        steps(r, 's1', 'bridge')[0]?.text,
        /FDB \S+ on port eth\d+ \(to C0w2:eth1\)/,
        'the switch forwards to C0w2',
      );
      t.match(steps(r, 'C0w2', 'decap')[0]?.text, /UDP 8472 goes to flannel\.1 \(VNI 1\)/);
      t.ok(
        steps(r, 'C0w2', 'seen').some((s) => /probe .* in flannel\.1/.test(s.text)),
        'the inner packet is seen coming out of flannel.1 on C0w2',
      );
    });

    t.test('pod to service: kube-proxy rules, DNAT, the endpoint conntrack chose', async (t) => {
      const r = await traceLive(sim, 'client', 'web');
      t.equal(r.target.service, 'default/web');
      t.equal(r.target.port, 80, 'the service port');
      t.equal(r.outcome, 'delivered', r.summary);
      const nat = steps(r, 'C0w1', 'nat').map((s) => s.text);
      t.ok(
        nat.some((x) =>
          /services: ip daddr \. meta l4proto \. th dport vmap @service-ips \(goto service-\w+-default\/web\/tcp\/p80\)/.test(
            x,
          ),
        ),
        `the service-ips map matched: ${nat.join(' | ')}`,
      );
      t.ok(
        nat.some((x) => /dnat to 10\.244\.[\d.]+:8000/.test(x)),
        'the endpoint chain DNATs',
      );
      t.ok(r.dnat, 'a DNAT');
      const chosen = r.dnat!.to;
      t.match(r.dnat!.from, new RegExp(`^${r.target.ip.replaceAll('.', '\\.')}:80$`));
      const endpoint = [ip('web1'), ip('web2')].find((x) => chosen === `${x}:8000`);
      t.ok(endpoint, `the endpoint is web1 or web2: ${chosen}`);
      const pod = endpoint === ip('web1') ? 'web1' : 'web2';
      t.equal(nodesOf(r).at(-1), pod, `delivered to the chosen endpoint ${pod}`);
      t.match(r.probe.detail, new RegExp(`answered "${pod}"`), 'and that pod answered');
      t.match(steps(r, 'C0w1', 'dnat')[0]?.text, /conntrack: the reply comes from there/, 'conntrack agrees');
    });

    t.test('across two FRR routers: each route and who installed it', async (t) => {
      await conv;
      const r = await traceLive(sim, 'h1', 'h2');
      t.equal(r.outcome, 'delivered', r.summary);
      t.equal(r.proto, 'icmp', 'no port: a ping');
      t.same(nodesOf(r), ['h1', 's2', 'r1', 'r2', 's3', 'h2']);
      const r1 = steps(r, 'r1', 'route')[0];
      t.match(
        r1?.text,
        /via 10\.255\.0\.\d+ \(r2\) dev eth2; FIB entry 10\.0\.\d+\.0\/24 via .* proto ospf metric \d+ — installed by FRR \(zebra\) from OSPF/,
      );
      t.equal((r1?.data?.fib as { protocol?: string })?.protocol, 'ospf', 'the FIB entry is proto ospf');
      t.match(
        steps(r, 'r2', 'route')[0]?.text,
        /proto kernel — connected subnet/,
        'r2: h2 is on a connected subnet',
      );
      t.match(steps(r, 'h1', 'route')[0]?.text, /via 10\.0\.\d+\.\d+ \(r1\)/, "h1's default route to r1");
      const lost = await traceLive(sim, 'h1', '10.10.10.2', { timeoutMs: 1000 });
      t.equal(lost.outcome, 'dropped');
      t.equal(lost.drop?.node, 'r1', 'dropped where the route is missing');
      t.match(lost.drop?.reason, /no route to 10\.10\.10\.2: Network is unreachable/);
    });

    t.test('NetworkPolicy: the rule that dropped it, across workers and on one worker', async (t) => {
      await C0.addNetworkPolicy('back-from-friends', {
        podSelector: { matchLabels: { tier: 'back' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { role: 'friend' } } }] }],
      });
      // the agent rebuilds its table in one transaction: once the pod's chain is there, all is
      await waitFor(
        () => w2.cmd('nft list chain ip netsim-policy ingress-default/web2').then((o) => /\bdrop\b/.test(o)),
        {
          timeoutMs: 10000,
          what: "the policy's chain for web2 on C0w2",
        },
      );
      const r = await traceLive(sim, 'client', 'web2', { port: 8000, timeoutMs: 1000 });
      t.equal(r.outcome, 'dropped', r.summary);
      t.equal(r.drop?.node, 'C0w2', 'dropped on the worker of web2');
      t.match(r.drop?.rule, /^netsim-policy ingress-default\/web2: .*drop$/, `the rule: ${r.drop?.rule}`);
      t.match(r.drop?.reason, /dropped by NetworkPolicy: no policy selecting default\/web2 allows it/);
      t.notOk(nodesOf(r).includes('web2'), 'web2 never gets it');
      t.ok(r.vxlan?.length, 'it did cross the VXLAN first');
      const same = await traceLive(sim, 'other', 'web2', { port: 8000, timeoutMs: 1000 });
      t.equal(same.outcome, 'dropped', 'from a pod on the same worker: dropped too');
      t.equal(same.drop?.node, 'C0w2', 'by the bridge-forward rules of C0w2');
      t.match(same.drop?.rule, /netsim-policy ingress-default\/web2/);
      await C0.deleteNetworkPolicy('back-from-friends');
    });

    t.test('the REPL verb and `netsim trace` from another process', async (t) => {
      let out = '';
      const cmds = new Commands(sim, { out: (x) => (out += x), err: (x) => (out += x) });
      t.equal(await cmds.run('trace client web1 8000'), 0);
      t.match(out, /result: delivered: delivered to web1/);
      out = '';
      await cmds.run('help trace');
      t.match(
        out,
        /trace src dst \[port\] \[--json\] \[--host HOST \[--path PATH\]\]\n {2}send a real probe/,
        'help trace',
      );
      const cli = await runCli(['trace', 'client', 'web2', '8000', '--sim', sim.name, '--json'], {
        timeoutMs: 30000,
      });
      t.equal(cli.code, 0, cli.stderr);
      const j = JSON.parse(cli.stdout) as TraceResult;
      t.equal(j.outcome, 'delivered');
      t.equal(j.vxlan?.[0]?.vni, 1, 'the JSON carries the VXLAN header');
      const text = await runCli(['trace', 'h1', '10.10.10.2', '--sim', sim.name, '--timeout', '1'], {
        timeoutMs: 30000,
      });
      t.equal(text.code, 1, 'not delivered: exit 1');
      t.match(text.stdout, /result: dropped: dropped at r1: no route to 10\.10\.10\.2/);
    });

    t.test('bad input: clear errors', async (t) => {
      await t.rejects(
        traceLive(sim, 'client', 'nosuch'),
        /unknown destination "nosuch": not a node, a service or an IPv4\/IPv6 address \(nodes: /,
      );
      await t.rejects(traceLive(sim, 'ghost', 'web1'), /unknown source "ghost"/);
      await t.rejects(traceLive(sim, 's1', 'web1'), /"s1" is a switch/);
      await t.rejects(
        traceLive(sim, 'client', 'web', { port: 81 }),
        /service default\/web has no port 81 \(ports: 80\/tcp\)/,
      );
      const cli = await runCli(['trace', 'client', 'nosuch', '--sim', sim.name], { timeoutMs: 30000 });
      t.equal(cli.code, 1);
      t.match(cli.stderr, /^error: unknown destination "nosuch"/m);
      let err = '';
      const cmds = new Commands(sim, { out: () => {}, err: (x) => (err += x) });
      t.equal(await cmds.run('trace client'), 1);
      t.match(err, /usage: trace src dst \[port\] \[--json\]/);
    });

    t.test('nothing left behind: no trace tables, no monitors', async (t) => {
      const names = [...sim.nodes.values()].filter((n) => n.kind !== 'switch');
      for (const n of names) {
        const tables = await n.cmd('nft list tables');
        t.notMatch(tables, /netsim-trace/, `${n.name}: no trace table`);
      }
      const pids = Kernel.processesInNamespaces(new Set(names.map((n) => n.ns)));
      const monitors = [...pids].filter((pid) => {
        try {
          return /nft\0monitor/.test(readFileSync(`/proc/${pid}/cmdline`, 'latin1'));
        } catch {
          return false;
        }
      });
      t.same(monitors, [], 'no nft monitor process');
    });
  });
}
