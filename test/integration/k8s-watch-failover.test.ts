// The agents' etcd watches under a partition, through the real kernel and a real 3-member
// etcd: each worker's agent (kube-proxy, policy, flannel) watches all its prefixes on one
// gRPC stream to one member, chosen at random. In turn, each member is cut off from the other
// two (nftables drops its peer traffic, port 2380): it loses its leader but stays reachable,
// and the two others keep the quorum. A NodePort service created meanwhile must get its
// rules in every worker's kube-proxy and answer through every worker: an agent whose stream
// sat on the cut member must move to another one (`hasleader` on the watch, gRPC keepalive).
// Three rounds: whichever member a worker's stream is on, one round cuts it off.
import t from 'tap';
import type { Cluster } from '../../src/features/k8s/cluster.js';
import type { EtcdNode } from '../../src/features/k8s/etcd.js';
import type { WorkerNode } from '../../src/features/k8s/worker.js';
import { waitFor } from '../../src/util/wait.js';
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
  });
}
