// kube-proxy spread over shard tables, through the real kernel. Sharding starts above 2,000
// services; here the agents are told (environment) to shard above 4, about 2 per shard, so ten
// services make 4 shards (whatever order they arrive in: 2 shards from 5 to 8, then 4). With several nat chains at one hook the kernel asks them in turn
// until one sets up a NAT binding: a ClusterIP in any shard is DNATed from a pod (prerouting)
// and from the worker itself (output, masqueraded: not from the pod network), a NodePort from a
// host outside, ClientIP affinity holds, a service without endpoints and a port the ClusterIP
// does not serve are refused (the main table), the readers (endpoint counters, settle, trace) find the
// service in its shard. Then the count falls below the threshold and rises again: each time a
// full resync into the new layout, the old tables gone.
import t from 'tap';
import {
  ENV_PER_SHARD,
  ENV_SHARD_ABOVE,
  isProxyTable,
  shardOf,
  shardTable,
} from '../../src/features/k8s/agent/proxy-tables.js';
import type { Cluster } from '../../src/features/k8s/cluster.js';
import type { PodNode } from '../../src/features/k8s/pod.js';
import { settleServices } from '../../src/features/k8s/settle.js';
import type { WorkerNode } from '../../src/features/k8s/worker.js';
import { traceLive } from '../../src/features/trace/live.js';
import { waitFor } from '../../src/util/wait.js';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';

// each pod answers with its name and the address it sees the client at
const server = (name: string) =>
  `socat TCP-LISTEN:8000,fork,reuseaddr SYSTEM:'echo ${name} $SOCAT_PEERADDR; sleep 0.05'`;

/** kube-proxy's ip tables on a worker, by name. */
async function proxyTables(w: WorkerNode): Promise<string[]> {
  const doc = JSON.parse(await w.cmd('nft -j list tables ip')) as {
    nftables: { table?: { name: string } }[];
  };
  return doc.nftables.flatMap((o) => (o.table && isProxyTable(o.table.name) ? [o.table.name] : [])).sort();
}

const layout = (k: number) => ['kube-proxy', ...Array.from({ length: k }, (_, i) => shardTable(i))].sort();

if (requireRoot(t)) {
  t.test('kube-proxy over shard tables', async (t) => {
    // the agents inherit the environment of the process that starts them
    process.env[ENV_SHARD_ABOVE] = '4';
    process.env[ENV_PER_SHARD] = '2';
    t.teardown(() => {
      delete process.env[ENV_SHARD_ABOVE];
      delete process.env[ENV_PER_SHARD];
    });
    const fillers = [1, 2, 3, 4, 5, 6].map(
      (i) => `      f${i}: {selector: {app: web}, ports: [{port: 80, targetPort: 8000}]}`,
    );
    const model = modelFromYaml(`
name: shards
nodes:
  s1: {kind: switch, subnet: 192.168.68.0/24}
  h1: {kind: host}
  C0:
    kind: cluster
    underlay: s1
    etcd: 1
    workers: 2
    dns: false
    pods:
      web1: {worker: w1, labels: {app: web}, command: "${server('web1')}"}
      web2: {worker: w2, labels: {app: web}, command: "${server('web2')}"}
      client: {worker: w1}
    services:
      web: {clusterIP: 10.96.0.40, selector: {app: web}, ports: [{port: 80, targetPort: 8000}]}
      nothing: {clusterIP: 10.96.0.50, selector: {app: none}, ports: [{port: 80, targetPort: 80}]}
      sticky: {clusterIP: 10.96.0.60, selector: {app: web}, sessionAffinity: ClientIP, ports: [{port: 80, targetPort: 8000}]}
      np: {type: NodePort, selector: {app: web}, ports: [{port: 80, targetPort: 8000, nodePort: 30080}]}
${fillers.join('\n')}
links:
  - endpoints: [h1, s1]
`);
    const sim = await up(t, model);
    const C0 = sim.objects.get('C0') as Cluster;
    const client = sim.node('client') as PodNode;
    const h1 = sim.node('h1');
    const workers = ['C0w1', 'C0w2'].map((n) => sim.node(n) as WorkerNode);
    const [w1] = workers;
    const pods = ['web1', 'web2'].map((p) => (sim.node(p) as PodNode).ip!);
    /** the last line of one TCP exchange from a node, '' when it failed */
    const get = async (from: { exec: typeof h1.exec }, ip: string, port = 80) => {
      const r = await from.exec(
        `socat -T2 - TCP:${ip}:${port},connect-timeout=2 </dev/null 2>/dev/null | tail -1`,
      );
      return r.stdout.trim();
    };
    /** every service with endpoints DNATed to both web pods in its shard, on every worker */
    const programmed = async (names: string[], k: number) => {
      for (const w of workers) {
        const tables = await proxyTables(w);
        if (JSON.stringify(tables) !== JSON.stringify(layout(k))) return false;
        for (const n of names) {
          const text = await w.cmd(
            `nft list table ip ${k ? shardTable(shardOf(`default/${n}`, k)) : 'kube-proxy'}`,
          );
          if (!pods.every((ip) => text.includes(`default/${n}/tcp/p80__${ip}/8000`))) return false;
        }
      }
      return true;
    };
    // ten services: 10 / 2 per shard, to a power of two
    const all = ['web', 'sticky', 'np', ...fillers.map((_, i) => `f${i + 1}`)];
    await waitFor(() => programmed(all, 4), {
      timeoutMs: 30000,
      what: "every service's endpoints in its shard of 4 on both workers",
    }).catch(async (e) => {
      for (const w of workers)
        t.comment(`${w.name}: ${(await proxyTables(w)).join(' ')}\n${w.agentTail(20)}`);
      throw e;
    });

    t.test('the layout: a main table without dispatch, services in their shards', async (t) => {
      const main = await w1.cmd('nft list table ip kube-proxy');
      t.notMatch(main, /service-ips|chain nat-prerouting/, 'no service dispatch in the main table');
      t.match(
        main,
        /10\.96\.0\.50 \. tcp \. 80 : goto reject-chain/,
        'no endpoints: rejected from the main table',
      );
      t.match(main, /chain nat-postrouting/, 'masquerading stays there');
      const shards = new Set(['web', 'sticky', 'np'].map((n) => shardOf(`default/${n}`, 4)));
      t.equal(shards.size, 3, 'the services tried below are in three different shards');
      const webShard = await w1.cmd(`nft list table ip ${shardTable(shardOf('default/web', 4))}`);
      t.match(webShard, /chain nat-prerouting \{\s+type nat hook prerouting priority dstnat/);
      t.match(webShard, /chain nat-output \{\s+type nat hook output priority -100/);
      t.match(webShard, /10\.96\.0\.40 \. tcp \. 80 : goto service-/);
    });

    t.test('ClusterIPs in any shard: DNATed from a pod and from the worker', async (t) => {
      const seen = new Set<string>();
      for (let i = 0; i < 16; i++) {
        const [name, peer] = (await get(client, '10.96.0.40')).split(' ');
        seen.add(name);
        t.equal(peer, client.ip, 'from a pod: the client address is kept');
      }
      t.same([...seen].sort(), ['web1', 'web2'], 'both endpoints answer web');
      for (const [i, n] of [1, 2, 3, 4, 5, 6].entries()) {
        const svc = (await C0.services()).find((s) => s.name === `f${n}`)!;
        t.match(
          await get(client, svc.clusterIP),
          /^web[12] /,
          `f${n} (shard ${shardOf(`default/f${n}`, 4)}) #${i}`,
        );
      }
      // a process on the worker: DNATed in its shard's nat-output, masqueraded (not from the pod network)
      const [name, peer] = (await get(w1, '10.96.0.40')).split(' ');
      t.match(name, /^web[12]$/, 'a process on the worker reaches the ClusterIP');
      t.ok(peer && peer !== w1.ip, `not from its underlay address (the endpoint saw ${peer})`);
    });

    t.test('from a host outside the pod network: a ClusterIP and a NodePort, masqueraded', async (t) => {
      // the host sends to the ClusterIP through C0w1 (kube-proxy marks it: not from the pod
      // network; the main table's nat-postrouting masquerades what a shard marked)
      await h1.cmd(`ip route replace 10.96.0.40/32 via ${w1.ip}`);
      const [viaVip, peerVip] = (await get(h1, '10.96.0.40')).split(' ');
      t.match(viaVip, /^web[12]$/, `the ClusterIP answers (${viaVip})`);
      t.ok(peerVip && peerVip !== h1.ip, `masqueraded (the endpoint saw ${peerVip}, not ${h1.ip})`);
      const [name, peer] = (await get(h1, w1.ip!, 30080)).split(' ');
      t.match(name, /^web[12]$/, `node port 30080 of C0w1 answers (${name})`);
      t.ok(peer && peer !== h1.ip, `masqueraded (the endpoint saw ${peer})`);
    });

    t.test('ClientIP affinity in a shard: one endpoint for one client', async (t) => {
      const got = new Set<string>();
      for (let i = 0; i < 10; i++) got.add((await get(client, '10.96.0.60')).split(' ')[0]);
      t.equal(got.size, 1, `10 connections, one endpoint: ${[...got].join(' ')}`);
    });

    t.test('refused: no endpoints, a port the ClusterIP does not serve', async (t) => {
      const none = await client.exec('socat -T2 - TCP:10.96.0.50:80,connect-timeout=5 </dev/null');
      t.match(none.stderr, /Connection refused/, 'no endpoints: refused');
      const port = await client.exec('socat -T2 - TCP:10.96.0.40:81,connect-timeout=5 </dev/null');
      t.match(port.stderr, /Connection refused/, 'port 81 of web: refused');
    });

    t.test('readers find the service in its shard', async (t) => {
      const before = Object.values(await C0.endpointCounters('web')).reduce((a, b) => a + b, 0);
      for (let i = 0; i < 4; i++) await get(client, '10.96.0.40');
      const after = Object.values(await C0.endpointCounters('web')).reduce((a, b) => a + b, 0);
      t.equal(after - before, 4, 'the per-endpoint counters count 4 connections');
      const settled = await settleServices(sim, 10000);
      t.same(settled?.notes, [], "settle (before a topology's expectations) finds every service");
      const r = await traceLive(sim, 'client', 'web');
      t.equal(r.target.ip, '10.96.0.40', 'trace resolves the service through its shard');
      t.equal(r.outcome, 'delivered', r.summary);
      const shard = shardTable(shardOf('default/web', 4));
      const nat = r.hops
        .filter((h) => h.node === 'C0w1')
        .flatMap((h) => h.steps.filter((s) => s.kind === 'nat'));
      t.ok(
        nat.some(
          (s) => s.text.startsWith(`${shard} services:`) && /goto service-\w+-default\/web\//.test(s.text),
        ),
        `the dispatch shown in ${shard}: ${nat.map((s) => s.text).join(' | ')}`,
      );
    });

    t.test('the count crosses the threshold: a full resync into the new layout', async (t) => {
      // web left (1, below 3/4 of 4): back to one table
      for (const n of ['sticky', 'nothing', 'np', ...fillers.map((_, i) => `f${i + 1}`)])
        await C0.deleteService(n);
      await waitFor(() => programmed(['web'], 0), { timeoutMs: 20000, what: 'one table again' });
      t.pass('one table, no shard table left');
      t.match(await get(client, '10.96.0.40'), /^web[12] /, 'web answers from one table');
      // four more (5, above 4): 5 / 2 per shard to a power of two = 2 shards
      for (const n of ['g1', 'g2', 'g3', 'g4'])
        await C0.addService(n, { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8000 }] });
      await waitFor(() => programmed(['web', 'g1', 'g2', 'g3', 'g4'], 2), {
        timeoutMs: 20000,
        what: '2 shards',
      }).catch(async (e) => {
        t.comment(`tables: ${(await proxyTables(w1)).join(' ')}\n${w1.agentTail(30)}`);
        throw e;
      });
      t.pass('2 shard tables, and nothing of the 4');
      t.match(await get(client, '10.96.0.40'), /^web[12] /, 'web answers from its shard');
      t.match(w1.agentTail(40), /from one table to 2 shard tables, full resync/, 'the agent says so');
    });
  });
}
