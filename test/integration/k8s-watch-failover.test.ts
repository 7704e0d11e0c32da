// The agents' etcd watches under a partition, through the real kernel and a real 3-member
// etcd: each worker's agent (kube-proxy, policy, flannel) watches its prefixes through etcd's
// JSON gateway, a streaming POST each, all to one member chosen at random. In turn, each member is cut off from the other
// two (nftables drops its peer traffic, port 2380): it loses its leader but stays reachable,
// and the two others keep the quorum. A NodePort service created meanwhile must get its
// rules in every worker's kube-proxy and answer through every worker: an agent whose stream
// sat on the cut member must move to another one (`hasleader` on the watch, the member probed).
// Three rounds: whichever member a worker's streams are on, one round cuts it off.
// Then the agents' client itself (etcd's JSON gateway, src/features/k8s/agent/etcd-http.ts)
// against the same members: range in pages, txn, lease expiry and loss, compaction, and a watch
// that carries on from another member, no event lost or repeated, when its member is killed.
import t from 'tap';
import { EtcdHttp } from '../../src/features/k8s/agent/etcd-http.js';
import { listPrefix, watchAfter } from '../../src/features/k8s/agent/etcd-prefix.js';
import type { Cluster } from '../../src/features/k8s/cluster.js';
import type { EtcdNode } from '../../src/features/k8s/etcd.js';
import type { WorkerNode } from '../../src/features/k8s/worker.js';
import { sleep, waitFor } from '../../src/util/wait.js';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';

const CUT = `
table ip cut-peers {
  chain in { type filter hook input priority 0; tcp dport 2380 drop; tcp sport 2380 drop; }
  chain out { type filter hook output priority 0; tcp dport 2380 drop; tcp sport 2380 drop; }
}`;

if (requireRoot(t)) {
  t.test('a new service reaches every kube-proxy while an etcd member is partitioned', async (t) => {
    const sim = await up(
      t,
      modelFromYaml(`
name: x
nodes:
  s1: {kind: switch, subnet: 192.168.71.0/24}
  C0:
    kind: cluster
    underlay: s1
    workers: 3
    etcd: 3
    podCidr: 10.244.0.0/16
`),
    );
    const C0 = sim.objects.get('C0') as Cluster;
    const workers = ['C0w1', 'C0w2', 'C0w3'].map((n) => sim.node(n) as WorkerNode);
    await C0.addPod('w1', 'srv', {
      labels: { app: 'srv' },
      command: 'socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:"echo hello from srv"',
    });
    const healthy = JSON.stringify({ C0e1: true, C0e2: true, C0e3: true });

    for (const [i, member] of ['C0e1', 'C0e2', 'C0e3'].entries()) {
      t.test(`${member} cut off from the other members`, async (t) => {
        const e = sim.node(member) as EtcdNode;
        t.equal((await e.exec(`nft -f - <<'EOF'${CUT}\nEOF`)).exitCode, 0, `${member}: peer traffic dropped`);
        // the member knows it has no leader after an election timeout or so; the others
        // elect a new one if it led
        await waitFor(async () => !(await e.health()), {
          timeoutMs: 20000,
          what: `${member} to lose its leader`,
        });
        const nodePort = 30100 + i;
        const name = `np${i + 1}`;
        // a write may reach the cut member first and fail there: the caller tries again
        const svc = await waitFor(
          () =>
            C0.addService(name, {
              type: 'NodePort',
              selector: { app: 'srv' },
              ports: [{ port: 8080, targetPort: 80, nodePort }],
            }),
          { timeoutMs: 30000, what: `service ${name} to be created` },
        );
        const ip = svc.spec.clusterIP;
        const t0 = performance.now();
        for (const w of workers) {
          const has = async () =>
            (
              await w.exec(
                'nft list map ip kube-proxy service-nodeports; nft list map ip kube-proxy service-ips',
              )
            ).stdout;
          const ok = await waitFor(
            async () => {
              const out = await has();
              return out.includes(`tcp . ${nodePort} :`) && out.includes(`${ip} . tcp . 8080 :`);
            },
            { timeoutMs: 20000, what: `${w.name}'s kube-proxy to have ${name}` },
          ).then(
            () => true,
            () => false,
          );
          t.ok(
            ok,
            `${w.name}: kube-proxy has ${name} (NodePort ${nodePort}, ClusterIP ${ip}) while ${member} is cut off`,
          );
        }
        t.comment(
          `rules on every worker ${((performance.now() - t0) / 1000).toFixed(1)} s after the service`,
        );
        // the maps above hold the service; its endpoints arrive by their own watch event
        // (as kube-proxy gets Services and EndpointSlices apart), so the first answer may
        // come a moment later: awaited, not assumed
        for (const w of workers) {
          const from = workers[(workers.indexOf(w) + 1) % workers.length];
          let out = '';
          const answered = await waitFor(
            async () => {
              out = (await from.exec(`curl -s --http0.9 -m 3 http://${w.ip}:${nodePort}`)).stdout;
              return /hello from srv/.test(out);
            },
            { timeoutMs: 15000, what: `NodePort ${nodePort} of ${w.name}` },
          ).then(
            () => true,
            () => false,
          );
          t.ok(answered, `NodePort ${nodePort} of ${w.name} answers (last reply: ${JSON.stringify(out)})`);
        }
        t.equal((await e.exec('nft delete table ip cut-peers')).exitCode, 0, `${member}: peers again`);
        await waitFor(async () => JSON.stringify(await C0.health()) === healthy, {
          timeoutMs: 30000,
          what: 'all three members healthy',
        });
      });
    }

    t.test("the agents' JSON gateway client", async (t) => {
      const members = ['C0e1', 'C0e2', 'C0e3'].map((n) => sim.node(n) as EtcdNode);
      const etcd = new EtcdHttp(members.map((m) => `unix://${m.socketPath}`));
      t.teardown(() => etcd.close());
      const P = '/netsim-test/gw/';
      for (let i = 0; i < 5; i++) await etcd.put(`${P}k${i}`, `v${i}`);
      const listed = await listPrefix(etcd, P, 2);
      t.same(
        listed.kvs.map((kv) => `${kv.key}=${kv.value}`),
        ['k0', 'k1', 'k2', 'k3', 'k4'].map((k, i) => `${P}${k}=v${i}`),
        'listed in pages of 2',
      );
      const create = () =>
        etcd.txn(
          [{ key: `${P}once`, target: 'CREATE', result: 'EQUAL', value: 0 }],
          [{ key: `${P}once`, value: 'first' }],
        );
      t.equal(await create(), true, 'txn: created when absent');
      t.equal(await create(), false, 'txn: not when present');
      t.equal(await etcd.get(`${P}once`), 'first', 'the first value kept');

      const seen: string[] = [];
      const w = await watchAfter(etcd, P, listed.revision, {
        put: (kv) => seen.push(`put ${kv.key} ${kv.modRevision}`),
        delete: (kv) => seen.push(`delete ${kv.key} ${kv.modRevision}`),
      });
      // a lease kept alive outlives its TTL; one left alone expires; a revoked one is lost
      const kept = etcd.lease(1);
      const lost = new Promise<Error>((resolve) => kept.on('lost', resolve));
      await kept.put(`${P}kept`, 'alive');
      await etcd.put(`${P}short`, 'gone soon', await etcd.leaseGrant(1));
      await waitFor(async () => (await etcd.get(`${P}short`)) === null, {
        timeoutMs: 5000,
        what: 'the unrenewed lease to expire',
      });
      await sleep(1500);
      t.equal(await etcd.get(`${P}kept`), 'alive', 'the renewed lease holds its key past its TTL');
      await etcd.leaseRevoke(await kept.grant());
      t.match((await lost).message, /expired or was revoked/, "a revoked lease is 'lost'");

      // the watch's member dies: the watch carries on elsewhere from where it was
      const dead = members.find((m) => `unix://${m.socketPath}` === w.member)!;
      await dead.kill();
      for (let i = 0; i < 5; i++) await etcd.put(`${P}after${i}`, String(i));
      await waitFor(() => seen.some((s) => s.startsWith(`put ${P}after4 `)), {
        timeoutMs: 15000,
        what: 'the events after the kill',
      });
      const revs = seen.map((s) => Number(s.split(' ')[2]));
      t.ok(
        revs.every((r, i) => i === 0 || r > revs[i - 1]),
        `every event once, in revision order (${seen.length} events)`,
      );
      t.same(
        seen.filter((s) => s.startsWith('put') && s.includes('after')).map((s) => s.split(' ')[1]),
        [0, 1, 2, 3, 4].map((i) => `${P}after${i}`),
        `all writes after ${dead.name} was killed, through another member (stream opened ${w.opened} times)`,
      );
      t.ok(
        seen.some((s) => s.startsWith(`delete ${P}short `)),
        'the expiry came as a delete',
      );

      // compaction (after the kill: every agent's watch has moved on by now): a watch from
      // before it ends with an error
      const now = (await etcd.range({ key: `${P}k0` })).revision;
      await etcd.call('/v3/kv/compaction', { revision: now });
      const canceled = await new Promise<Error>((resolve) => {
        void watchAfter(etcd, P, listed.revision, { put: () => {}, delete: () => {}, error: resolve });
      });
      t.match(canceled.message, /compacted/, `a watch from a compacted revision: ${canceled.message}`);
      await etcd.put(`${P}last`, 'x');
      await waitFor(() => seen.some((s) => s.startsWith(`put ${P}last `)), {
        timeoutMs: 5000,
        what: 'an event after the compaction',
      });
      t.pass('the live watch carries on after the compaction');
    });
  });
}
