// kube-proxy's netlink writer through the kernel. (1) The same transactions written by `nft -j`
// and by the writer leave the kernel with the same table, expression for expression (in a
// private network namespace), in one table and spread over shard tables. (2) At 1,000 services, one service's update changes that service
// only: its connections go to its new endpoint, the others' still to theirs, and the others'
// chains are the same chains (same handles, counters kept: not rewritten). (3) A restarted
// agent's full sync converges on what etcd holds: a service deleted meanwhile is gone.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { parseEndpointChain } from '../../src/features/k8s/agent/chain-names.js';
import type { Cluster } from '../../src/features/k8s/cluster.js';
import type { PodNode } from '../../src/features/k8s/pod.js';
import { SERVICE_IPAM_PREFIX, specKey } from '../../src/features/k8s/services/objects.js';
import type { WorkerNode } from '../../src/features/k8s/worker.js';
import { formatIp } from '../../src/util/ipv4.js';
import { waitFor } from '../../src/util/wait.js';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';

const run = promisify(execFile);
const dist = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

/** Run in a private network namespace: the corpus through nft, then through the writer. */
const EQUIVALENCE = `
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const [kernel, nl, rules, corpus] = await Promise.all(process.argv.slice(1, 5).map((p) => import(p)));
const shards = Number(process.argv[5]);
const c = corpus.corpus(shards);
const nft = (...a) => execFileSync('nft', a, { maxBuffer: 1 << 26 }).toString();
// rules' handles differ, and elements are listed in hash order
const norm = (s) => s.split('\\n').map((l) => l.replace(/^(ip6? kube-proxy(?:-shard-\\d+)? \\S+)( \\d+)+$/, '$1')).sort().join('\\n');
const listing = () => norm(nft('--debug=netlink', 'list', 'ruleset')) + '\\n' + norm(nft('list', 'ruleset'));
const dir = mkdtempSync(join(tmpdir(), 'px-eq-'));
const out = { refused: [] };
try {
  for (const [i, cmds] of [c.full, c.update].entries()) {
    writeFileSync(join(dir, i + '.json'), JSON.stringify({ nftables: cmds }));
    nft('-j', '-f', join(dir, i + '.json'));
  }
  out.nft = listing();
  nft('flush', 'ruleset');
  const w = new kernel.NetlinkWriter();
  const types = nl.setTypesOf([...rules.fullSyncHead(4, shards), ...rules.fullSyncHead(6, shards)]);
  out.refused.push(...(await w.send(nl.encodeBatch(c.full, new Map()))));
  out.refused.push(...(await w.send(nl.encodeBatch(c.update, new Map(types)))));
  out.commands = listing();
  nft('flush', 'ruleset');
  out.refused.push(...(await w.send(nl.encodeFullSync([
    { family: 'ip', table: rules.TABLE, head: rules.fullSync([], 4, shards), fragments: c.fragments4 },
    { family: 'ip6', table: rules.TABLE, head: rules.fullSync([], 6, shards), fragments: c.fragments6 },
  ]))));
  out.refused.push(...(await w.send(nl.encodeBatch(c.update, new Map(types)))));
  out.fragments = listing();
  w.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
`;

const server = (name: string) =>
  `socat TCP-LISTEN:8000,fork,reuseaddr SYSTEM:'echo HTTP/1.0 200 OK; echo; echo ${name}; sleep 0.05'`;

/** `n` new TCP connections from `pod` to ip:80; the last line each one got. */
async function connect(pod: PodNode, ip: string, n: number): Promise<string[]> {
  const r = await pod.exec(
    `for i in $(seq ${n}); do socat -T2 - TCP:${ip}:80,connect-timeout=3 </dev/null 2>&1 | tail -1; done`,
    { timeoutMs: n * 4000 + 5000 },
  );
  return r.stdout.trim().split('\n');
}

interface Chain {
  name: string;
  handle: number;
}

/** Every chain of the worker's table (name, handle), and each endpoint chain's packet counter. */
async function table(w: WorkerNode): Promise<{ chains: Chain[]; packets: Map<string, number> }> {
  const doc = JSON.parse(await w.cmd('nft -j list table ip kube-proxy')) as {
    nftables: { chain?: Chain; rule?: { chain: string; expr: { counter?: { packets: number } }[] } }[];
  };
  const chains = doc.nftables.flatMap((x) =>
    x.chain ? [{ name: x.chain.name, handle: x.chain.handle }] : [],
  );
  const packets = new Map<string, number>();
  for (const x of doc.nftables)
    for (const e of x.rule?.expr ?? []) if (e.counter) packets.set(x.rule!.chain, e.counter.packets);
  return { chains, packets };
}

/** The service chains of the test's services s0..s999 (not the cluster's own, `kubernetes`). */
const OURS = /^service-[A-Z2-7]{8}-default\/s\d+\//;

/** The endpoint IPs the worker's table has for service `name`. */
const endpointsOf = (chains: Chain[], name: string) =>
  chains
    .map((c) => parseEndpointChain(c.name))
    .filter((m) => m?.service === name)
    .map((m) => m!.ip)
    .sort();

if (requireRoot(t)) {
  for (const shards of [0, 4])
    t.test(
      `the writer leaves the kernel with what nft makes of the same transactions (${shards ? `${shards} shard tables` : 'one table'})`,
      async (t) => {
        const modules = [
          'src/features/k8s/agent/kernel.js',
          'src/features/k8s/agent/nft-netlink.js',
          'src/features/k8s/agent/proxy-rules.js',
          'test/lib/proxy-corpus.js',
        ].map((p) => dist(p));
        const { stdout } = await run(
          'unshare',
          ['--net', process.execPath, '--input-type=module', '-e', EQUIVALENCE, ...modules, String(shards)],
          { maxBuffer: 1 << 26 },
        );
        const out = JSON.parse(stdout) as {
          nft: string;
          commands: string;
          fragments: string;
          refused: unknown[];
        };
        t.same(out.refused, [], 'the kernel took every message');
        t.match(out.nft, /dynset update reg_key 1 set affinity-/, 'the corpus has affinity');
        t.match(out.nft, /bitwise reg 1 = \( reg 1 & 0x00f0ffff \)/, 'and a /20 pod network');
        t.match(out.nft, /nat dnat ip6 addr_min reg 1/, 'and IPv6');
        if (shards)
          for (let i = 0; i < shards; i++)
            t.match(out.nft, new RegExp(`^table ip kube-proxy-shard-${i} \\{`, 'm'), `shard ${i} is there`);
        else t.notMatch(out.nft, /kube-proxy-shard-/, 'one table: no shard tables');
        t.equal(out.commands, out.nft, 'written from commands: the same expressions, chains, sets, elements');
        t.equal(out.fragments, out.nft, 'full sync written from fragments: the same');
      },
    );

  t.test('one update at 1,000 services changes that service only', async (t) => {
    const model = modelFromYaml(`
name: pxnl
nodes:
  s1: {kind: switch, subnet: 192.168.67.0/24}
  C0:
    kind: cluster
    underlay: s1
    workers: 1
    etcd: 1
    dns: false
    pods:
      e1: {worker: w1, labels: {app: web}, command: "${server('e1')}"}
      e2: {worker: w1, labels: {app: web}, command: "${server('e2')}"}
      e3: {worker: w1, labels: {app: other}, command: "${server('e3')}"}
      client: {worker: w1}
`);
    const sim = await up(t, model);
    const C0 = sim.objects.get('C0') as Cluster;
    const w1 = sim.node('C0w1') as WorkerNode;
    const client = sim.node('client') as PodNode;
    const ipOf = (p: string) => (sim.node(p) as PodNode).ip!;
    const N = 1000;
    const vip = (k: number) => formatIp(C0.serviceCidr.net + 256 + k);
    const spec = (k: number, app: string) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: `s${k}`, namespace: 'default', uid: `s${k}`, creationTimestamp: '' },
        spec: {
          type: 'ClusterIP',
          clusterIP: vip(k),
          selector: { app },
          ports: [{ protocol: 'TCP', port: 80, targetPort: 8000 }],
          sessionAffinity: 'None',
        },
      });
    // written into etcd as addService writes them (the endpoints controller fills their endpoints)
    for (let i = 0; i < N; i += 50) {
      const ops = [];
      for (let k = i; k < i + 50; k++)
        ops.push(
          C0.etcd.put(specKey('default', `s${k}`)).value(spec(k, 'web')),
          C0.etcd.put(`${SERVICE_IPAM_PREFIX}${vip(k)}`).value(`default/s${k}`),
        );
      await C0.etcd
        .if(specKey('default', 's0'), 'Version', '>', -1)
        .then(...ops)
        .commit();
    }
    const web = [ipOf('e1'), ipOf('e2')].sort();
    await waitFor(
      async () => {
        const { chains } = await table(w1);
        return (
          chains.filter((c) => OURS.test(c.name)).length === N &&
          endpointsOf(chains, `s${N - 1}`).length === 2
        );
      },
      { timeoutMs: 60000, what: `${N} services with their endpoints in kube-proxy's table` },
    ).catch(async (e) => {
      const { chains } = await table(w1).catch(() => ({ chains: [] as Chain[] }));
      const eps = await C0.etcd.getAll().prefix('/registry/services/endpoints/default/').count();
      t.comment(`service chains ${chains.filter((c) => OURS.test(c.name)).length}, endpoints in etcd ${eps}`);
      t.comment(w1.agentTail(20));
      throw e;
    });
    const sampled = [0, 1, 500, N - 1];
    for (const k of sampled)
      t.same(new Set(await connect(client, vip(k), 12)), new Set(['e1', 'e2']), `s${k} before`);
    const before = await table(w1);
    const logBefore = (await w1.cmd(`cat ${w1.agentLog}`)).length;

    // s500 now selects e3 only
    await C0.etcd.put(specKey('default', 's500')).value(spec(500, 'other'));
    await waitFor(async () => endpointsOf((await table(w1)).chains, 's500').join() === ipOf('e3'), {
      timeoutMs: 20000,
      what: "s500's new endpoint in kube-proxy's table",
    });
    t.same(
      new Set(await connect(client, vip(500), 12)),
      new Set(['e3']),
      's500 goes to its new endpoint only',
    );
    for (const k of [0, 1, N - 1])
      t.same(new Set(await connect(client, vip(k), 12)), new Set(['e1', 'e2']), `s${k} unaffected`);
    const after = await table(w1);
    const handles = (x: { chains: Chain[] }) =>
      new Map(x.chains.filter((c) => !c.name.includes('/s500/')).map((c) => [c.name, c.handle]));
    t.same(
      handles(after),
      handles(before),
      'every other chain is the same chain (same handle): the update was incremental',
    );
    const counted = [...before.packets].filter(([c, n]) => n > 0 && !c.includes('/s500/'));
    t.ok(counted.length >= 6, 'the sampled services counted packets before (two endpoints each)');
    t.ok(
      counted.every(([c, n]) => (after.packets.get(c) ?? 0) >= n),
      "their endpoint chains' counters kept counting (not reset by a rewrite)",
    );
    t.same(endpointsOf(after.chains, 's500'), [ipOf('e3')], "s500's old endpoint chains are gone");
    const log = (await w1.cmd(`cat ${w1.agentLog}`)).slice(logBefore);
    t.match(
      log,
      /kube-proxy: updated 1 service \(default\/s500\): \d+ commands in [\d.]+ ms via netlink/,
      'one service updated, through the netlink writer',
    );
    t.notMatch(log, /full resync|full sync/, 'no full sync on the way');

    // a restarted agent's full sync: s999 deleted in etcd while it was down, s500 back to web
    await w1.stopAgent();
    await C0.etcd.delete().key(specKey('default', `s${N - 1}`));
    await C0.etcd.put(specKey('default', 's500')).value(spec(500, 'web'));
    await waitFor(
      async () => (await C0.etcd.get(`/registry/services/endpoints/default/s${N - 1}`).string()) === null,
      {
        what: `s${N - 1}'s endpoints removed by the controller`,
      },
    );
    await w1.startAgentAndWait();
    await waitFor(
      async () => {
        const { chains } = await table(w1).catch(() => ({ chains: [] as Chain[] }));
        return (
          endpointsOf(chains, 's500').join() === web.join() &&
          !chains.some((c) => c.name.includes(`/s${N - 1}/`))
        );
      },
      { timeoutMs: 60000, what: 'the full sync after the restart' },
    );
    const synced = await table(w1);
    t.equal(synced.chains.filter((c) => OURS.test(c.name)).length, N - 1, `${N - 1} services`);
    t.match(
      await w1.cmd(`cat ${w1.agentLog}`),
      /full sync of \d+ services \(one table\) in \d+ ms \(render and encode \d+ ms, kernel \d+ ms via netlink\)/,
      "the restarted agent's full sync went through the writer",
    );
    t.same(new Set(await connect(client, vip(500), 12)), new Set(['e1', 'e2']), 's500 back on e1 and e2');
    const map = await w1.cmd('nft list map ip kube-proxy service-ips');
    t.ok(map.includes(`${vip(0)} . tcp . 80`), 'the dispatch map is listed');
    t.notOk(map.includes(`${vip(N - 1)} . tcp . 80`), `s${N - 1}'s address left the dispatch map`);
  });
}
