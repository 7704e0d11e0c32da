// Services through the real kernel: kube-proxy's nftables table in each worker, endpoints that
// follow pods (etcd), load balancing over three endpoints, a deleted endpoint gets no new
// connections, ClientIP affinity, no endpoints = connection refused, NodePort from another worker, knetsim's
// ping-answering VIP, incremental updates, and wrong services refused with clear errors.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { parseEndpointChain } from '../../src/features/k8s/agent/chain-names.js';
import type { Cluster } from '../../src/features/k8s/cluster.js';
import type { PodNode } from '../../src/features/k8s/pod.js';
import { settleServices } from '../../src/features/k8s/settle.js';
import type { WorkerNode } from '../../src/features/k8s/worker.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { waitFor } from '../../src/util/wait.js';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';

// each web pod answers HTTP on port 8000 with its name as the last line
const server = (name: string) =>
  `socat TCP-LISTEN:8000,fork,reuseaddr SYSTEM:'echo HTTP/1.0 200 OK; echo; echo ${name}; sleep 0.05'`;

/** `n` new TCP connections from `pod` to ip:port; the last line each one got. */
async function connect(pod: PodNode, ip: string, port: number, n: number): Promise<string[]> {
  const r = await pod.exec(
    `for i in $(seq ${n}); do socat -T2 - TCP:${ip}:${port},connect-timeout=3 </dev/null 2>&1 | tail -1; done`,
    { timeoutMs: n * 4000 + 5000 },
  );
  return r.stdout.trim().split('\n');
}

/** The endpoint IPs of a service that a worker's kube-proxy table sends its traffic to. */
async function programmed(w: WorkerNode, service: string): Promise<string[]> {
  const r = await w.exec('nft -j list table ip kube-proxy');
  if (r.exitCode !== 0) return [];
  const doc = JSON.parse(r.stdout) as { nftables: { chain?: { name: string } }[] };
  return doc.nftables
    .map((x) => (x.chain ? parseEndpointChain(x.chain.name) : undefined))
    .filter((m) => m?.service === service)
    .map((m) => m!.ip)
    .sort();
}

/** Waits until every worker's table has exactly these endpoints for the service. */
function programmedEverywhere(
  workers: WorkerNode[],
  service: string,
  ips: () => string[],
  timeoutMs = 10000,
) {
  return waitFor(
    async () => {
      const want = JSON.stringify([...new Set(ips())].sort());
      const got = await Promise.all(workers.map((w) => programmed(w, service)));
      return got.every((g) => JSON.stringify([...new Set(g)]) === want);
    },
    { timeoutMs, what: `${service}'s endpoints in every worker's kube-proxy table` },
  );
}

/** The PID of the process in one of `namespaces` whose command line holds `arg`. */
function processOf(namespaces: string[], arg: string): number | undefined {
  return Kernel.processesInNamespaces(new Set(namespaces)).find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(arg);
    } catch {
      return false; // gone
    }
  });
}

function count(xs: string[]): Record<string, number> {
  const m: Record<string, number> = {};
  for (const x of xs) m[x] = (m[x] ?? 0) + 1;
  return m;
}

if (requireRoot(t)) {
  t.test('services in a cluster of 3 workers', async (t) => {
    const model = modelFromYaml(`
name: x
nodes:
  s1: {kind: switch, subnet: 192.168.66.0/24}
  C0:
    kind: cluster
    underlay: s1
    etcd: 1
    pods:
      web1: {worker: w1, labels: {app: web}, command: "${server('web1')}"}
      web2: {worker: w2, labels: {app: web}, command: "${server('web2')}"}
      web3: {worker: w3, labels: {app: web}, command: "${server('web3')}"}
      client: {worker: w1}
      far: {worker: w3}
    services:
      web: {selector: {app: web}, ports: [{port: 80, targetPort: 8000}]}
      nothing: {clusterIP: 10.96.0.50, selector: {app: none}, ports: [{port: 80, targetPort: 80}]}
      sticky: {clusterIP: 10.96.0.60, selector: {app: web}, sessionAffinity: ClientIP, ports: [{port: 80, targetPort: 8000}]}
`);
    const sim = await up(t, model);
    const C0 = sim.objects.get('C0') as Cluster;
    const client = sim.node('client') as PodNode;
    const far = sim.node('far') as PodNode;
    const w1 = sim.node('C0w1') as WorkerNode;
    const w2 = sim.node('C0w2') as WorkerNode;
    const workers = [w1, w2, sim.node('C0w3') as WorkerNode];
    const ipOf = (...pods: string[]) => pods.map((p) => (sim.node(p) as PodNode).ip!);
    const web = async () => (await C0.services()).find((s) => s.name === 'web')!;
    // the agents load their table right after their lease: wait for the endpoints to be programmed
    await waitFor(async () => (await web()).endpoints.length === 3, { what: 'three endpoints of web' });
    await programmedEverywhere(workers, 'web', () => ipOf('web1', 'web2', 'web3'));

    t.test("kube-proxy's table in the shape of its nftables mode", async (t) => {
      const text = await w1.cmd('nft list table ip kube-proxy');
      t.match(text, /map service-ips \{\s+type ipv4_addr \. inet_proto \. inet_service : verdict/);
      t.match(text, /ip daddr \. meta l4proto \. th dport vmap @service-ips/);
      t.match(text, /chain nat-prerouting \{\s+type nat hook prerouting priority dstnat/);
      t.match(text, /10\.96\.0\.50 \. tcp \. 80 : goto reject-chain/, 'no endpoints: reject');
      t.match(text, /chain endpoint-[A-Z2-7]{8}-default\/web\/tcp\/p80__10\.244\.[\d.]+\/8000/);
      t.match(text, /dnat to 10\.244\.[\d.]+:8000/);
      t.match(text, /masquerade fully-random/);
      const svc = await web();
      t.equal(svc.clusterIP, '10.96.0.1', 'first free address of 10.96.0.0/12');
      t.equal(svc.endpoints.length, 3, 'three endpoints');
      const raw = await C0.etcd.get('/registry/services/endpoints/default/web').json();
      t.match(raw, { kind: 'Endpoints', subsets: [{ addresses: [{ targetRef: { kind: 'Pod' } }] }] });
    });

    t.test('cluster DNS: service and pod names from a pod', async (t) => {
      t.match(
        await client.cmd('cat /etc/resolv.conf'),
        /search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local\nnameserver 10\.96\.0\.10/,
      );
      // the DNS process starts with the first worker: give it a moment to answer
      await waitFor(async () => (await client.exec('getent hosts web')).exitCode === 0, {
        timeoutMs: 5000,
        what: 'cluster DNS to answer',
      }).catch(() => {});
      t.match(await client.cmd('getent hosts web.default.svc.cluster.local'), /^10\.96\.0\.1\s/, 'FQDN');
      t.match(await client.cmd('getent hosts web'), /^10\.96\.0\.1\s/, 'short name through the search path');
      t.match(
        await far.cmd('getent hosts kube-dns.kube-system'),
        /^10\.96\.0\.10\s/,
        'from a pod on another worker',
      );
      const web1 = sim.node('web1') as PodNode;
      const dashed = web1.ip!.replaceAll('.', '-');
      t.match(
        await client.cmd(`getent hosts ${dashed}.default.pod.cluster.local`),
        new RegExp(`^${web1.ip}\\s`),
        'pod A record',
      );
      t.match(
        await client.cmd('getent hosts web1.default.pod.cluster.local'),
        new RegExp(`^${web1.ip}\\s`),
        'pod by name',
      );
      t.not((await client.exec('getent hosts nosuch')).exitCode, 0, 'an unknown name is not found');
      const w = await client.exec('wget -qO- -T3 http://web/');
      t.match(w.stdout, /^web[123]$/m, `wget http://web from a pod: ${w.stdout.trim()}`);
      // a process on the worker itself: DNATed in nat-output, checked only after that
      const svc = (await C0.services()).find((x) => x.name === 'web')!;
      const fromNode = await sim.node('C0w2').exec(`wget -qO- -T3 http://${svc.clusterIP}/`);
      t.match(fromNode.stdout, /^web[123]$/m, 'a process on a worker reaches the ClusterIP too');
      const closed = await sim.node('C0w2').exec(`wget -qO- -T2 http://${svc.clusterIP}:81/`);
      t.not(closed.exitCode, 0, 'but not a port the service does not have');
    });

    t.test('settle (before expect: entries) waits for the cluster DNS to answer every name', async (t) => {
      t.same((await settleServices(sim, 10000))?.notes, [], 'kube-proxy and DNS answer every service');
      // the DNS process stopped: a service made now has a ClusterIP but no name yet
      const dns = processOf(
        workers.map((w) => w.ns),
        `--name=${C0.name}-dns`,
      );
      t.ok(dns, "the cluster DNS's process");
      process.kill(dns!, 'SIGSTOP');
      try {
        await C0.addService('late', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8000 }] });
        const stalled = await settleServices(sim, 1500);
        // (stopped, it answers none: every name is listed)
        t.match(
          stalled?.notes.join('\n'),
          /the cluster DNS did not answer (.+, )?default\/late(, .+)? in time/,
        );
      } finally {
        process.kill(dns!, 'SIGCONT');
      }
      t.same((await settleServices(sim, 10000))?.notes, [], 'once it runs again, settle waits for it');
      t.match(await client.cmd('getent hosts late'), /^10\.96\./, 'and the name resolves at once');
      await C0.deleteService('late');
    });

    t.test('load balancing over 3 endpoints: each chosen in 60 connections', async (t) => {
      const sum = async () => Object.values(await C0.endpointCounters('web')).reduce((a, b) => a + b, 0);
      const before = await sum();
      const got = count(await connect(client, '10.96.0.1', 80, 60));
      t.same(Object.keys(got).sort(), ['web1', 'web2', 'web3'], `spread ${JSON.stringify(got)}`);
      const counters = await C0.endpointCounters('web');
      t.equal((await sum()) - before, 60, `per-endpoint counters count them (${JSON.stringify(counters)})`);
    });

    t.test('ClientIP session affinity: 20 connections from one pod, one endpoint', async (t) => {
      const sticky = async () => (await C0.services()).find((s) => s.name === 'sticky')!;
      await waitFor(async () => (await sticky()).endpoints.length === 3, {
        what: 'three endpoints of sticky',
      }).catch(() => {});
      t.equal((await sticky()).endpoints.length, 3, 'three endpoints');
      const got = count(await connect(client, '10.96.0.60', 80, 20));
      const chosen = Object.keys(got);
      t.equal(chosen.length, 1, `all 20 on one endpoint: ${JSON.stringify(got)}`);
      t.match(chosen[0], /^web[123]$/, 'answered by a web pod');
      // the kernel remembers the client in the chosen endpoint's affinity set (w1: client's worker)
      type NftSet = { set?: { name: string; elem?: unknown[] } };
      const table = JSON.parse(await w1.cmd('nft -j list table ip kube-proxy')) as { nftables: NftSet[] };
      const mine = table.nftables.flatMap((o) =>
        o.set?.name.startsWith('affinity-') && o.set.name.includes('default/sticky/tcp/p80') ? [o.set] : [],
      );
      t.equal(mine.length, 3, 'one affinity set per endpoint');
      const holding = mine.filter((x) => JSON.stringify(x.elem ?? []).includes(`"${client.ip}"`));
      t.equal(holding.length, 1, 'the client address is in exactly one of them');
      const chosenIp = (sim.node(chosen[0]) as PodNode).ip!;
      t.ok(
        holding[0]?.name.includes(`__${chosenIp}/8000`),
        `the set of the endpoint that answered (${chosenIp})`,
      );
      // a second client may land elsewhere, but sticks as well
      const other = count(await connect(far, '10.96.0.60', 80, 10));
      t.equal(Object.keys(other).length, 1, `a second client sticks too: ${JSON.stringify(other)}`);
    });

    t.test('a service with no endpoints refuses connections', async (t) => {
      const r = await client.exec('socat -T2 - TCP:10.96.0.50:80,connect-timeout=5 </dev/null');
      t.not(r.exitCode, 0);
      t.match(r.stderr, /Connection refused/, 'refused, not a timeout');
      const wrongPort = await client.exec('socat -T2 - TCP:10.96.0.1:81,connect-timeout=5 </dev/null');
      t.match(wrongPort.stderr, /Connection refused/, 'a port the ClusterIP does not serve: refused');
    });

    t.test('delete an endpoint pod: within 1 s no new connection goes to it', async (t) => {
      const web2 = ipOf('web2')[0];
      await C0.deletePod('web2');
      // as the test's name says: every worker's kube-proxy has dropped it within 1 s
      await programmedEverywhere(workers, 'web', () => ipOf('web1', 'web3'), 1000);
      t.notOk(
        (await Promise.all(workers.map((w) => programmed(w, 'web')))).flat().includes(web2),
        "web2's endpoint chains are gone",
      );
      const got = count(await connect(client, '10.96.0.1', 80, 30));
      t.notOk(got.web2, `web2 no longer chosen: ${JSON.stringify(got)}`);
      t.equal((got.web1 ?? 0) + (got.web3 ?? 0), 30, 'all 30 connections answered by web1 and web3');
      t.equal((await web()).endpoints.length, 2);
      // and a new pod with the label joins
      await C0.addPod('w2', 'web4', { labels: { app: 'web' }, command: server('web4') });
      await programmedEverywhere(workers, 'web', () => ipOf('web1', 'web3', 'web4'));
      const again = count(await connect(client, '10.96.0.1', 80, 45));
      t.ok(again.web4, `the new pod web4 gets connections: ${JSON.stringify(again)}`);
    });

    t.test('NodePort reached from another worker, incremental update', async (t) => {
      const before = await w1.cmd('nft -a list chain ip kube-proxy services');
      await C0.addService('np', {
        type: 'NodePort',
        selector: { app: 'web' },
        ports: [{ port: 8080, targetPort: 8000, nodePort: 30080 }],
      });
      await programmedEverywhere(workers, 'np', () => ipOf('web1', 'web3', 'web4'));
      await waitFor(
        async () => /updated 1 service \(default\/np\)/.test(await w1.cmd(`tail -3 ${w1.agentLog}`)),
        {
          timeoutMs: 5000,
          what: "w1's agent to log the update",
        },
      ).catch(() => {});
      t.equal(await w1.cmd('nft -a list chain ip kube-proxy services'), before, 'base chains untouched');
      t.match(await w1.cmd(`tail -3 ${w1.agentLog}`), /updated 1 service \(default\/np\)/);
      const r = await w2.exec(`socat -T2 - TCP:${w1.ip}:30080,connect-timeout=3 </dev/null`);
      t.match(r.stdout, /^web[134]$/m, `worker C0w2 -> C0w1:30080 answered by ${r.stdout.trim()}`);
      const fromPod = await connect(far, w2.ip!, 30080, 3);
      t.ok(
        fromPod.every((x) => /^web[134]$/.test(x)),
        `pod on C0w3 -> C0w2:30080: ${fromPod}`,
      );
    });

    t.test("knetsim's kp_vip_add: a VIP that answers ping", async (t) => {
      const plain = await client.exec('ping -c1 -W1 10.96.0.1');
      t.not(plain.exitCode, 0, 'a ClusterIP does not answer ping (as real kube-proxy)');
      await C0.kp_vip_add('100.64.10.1', ['web1', 'web3'], { port: 80, targetPort: 8000 });
      await programmedEverywhere(workers, 'vip-100-64-10-1', () => ipOf('web1', 'web3'));
      const p = await client.exec('ping -c2 -W2 100.64.10.1');
      t.equal(p.exitCode, 0, 'ping 100.64.10.1 answered by an endpoint');
      const got = await connect(client, '100.64.10.1', 80, 4);
      t.ok(
        got.every((x) => x === 'web1' || x === 'web3'),
        `TCP to the VIP: ${got}`,
      );
    });

    t.test('a NetworkPolicy that allows one pod and blocks another', async (t) => {
      const web1 = sim.node('web1') as PodNode;
      const reach = async (from: PodNode) =>
        (await from.exec(`socat -T2 - TCP:${web1.ip}:8000,connect-timeout=2 </dev/null`)).stdout.includes(
          'web1',
        );
      t.ok(await reach(client), 'before: client reaches web1');
      t.ok(await reach(far), 'before: far reaches web1');
      await C0.addNetworkPolicy('web-from-client', {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [
          {
            from: [{ podSelector: { matchLabels: { role: 'client' } } }],
            ports: [{ protocol: 'TCP', port: 8000 }],
          },
        ],
      });
      // client gets the label the policy allows; far does not have it
      await C0.deletePod('client');
      await C0.addPod('w1', 'client', { labels: { role: 'client' } });
      const client2 = sim.node('client') as PodNode;
      const policyTable = () => w1.cmd('nft list table ip netsim-policy');
      // web1 runs on w1: its agent allows the new client's address in web1's ingress chain
      const address = new RegExp(`(^|[^\\d.])${client2.ip!.replaceAll('.', '\\.')}([^\\d.]|$)`, 'm');
      await waitFor(async () => address.test(await policyTable()), {
        what: "the new client's address in w1's policy table",
      });
      t.ok(await reach(client2), 'allowed: a pod with role=client (same worker) reaches web1');
      t.notOk(await reach(far), 'blocked: far (no label, another worker) cannot');
      t.match(
        await (sim.node('C0w1') as WorkerNode).cmd('nft list table ip netsim-policy'),
        /chain ingress-default\/web1/,
      );
      await C0.deleteNetworkPolicy('web-from-client');
      await waitFor(async () => !(await policyTable()).includes('ingress-default/web1'), {
        what: "web1's ingress chain to go",
      });
      t.ok(await reach(far), 'policy deleted: far reaches web1 again');
      await t.rejects(
        C0.addNetworkPolicy('bad', { podSelector: 'app=web' }),
        /network policy "bad": podSelector/,
      );
    });

    t.test('bad services: clear errors', async (t) => {
      await t.rejects(
        C0.addService('a', { selector: { app: 'web' }, ports: [{ port: 70000, targetPort: 80 }] }),
        /service "a": ports\[0\]\.port: ports are 1\.\.65535/,
      );
      await t.rejects(
        C0.addService('b', { selector: { app: 'web' }, ports: [{ port: 80 }] }),
        /service "b": ports\[0\]\.targetPort/,
      );
      await t.rejects(
        C0.addService('c', {
          clusterIP: '10.200.0.1',
          selector: { app: 'web' },
          ports: [{ port: 80, targetPort: 80 }],
        }),
        /clusterIP: 10\.200\.0\.1 is outside the service CIDR 10\.96\.0\.0\/12/,
      );
      await t.rejects(
        C0.addService('d', {
          clusterIP: '10.96.0.50',
          selector: { app: 'web' },
          ports: [{ port: 80, targetPort: 80 }],
        }),
        /clusterIP 10\.96\.0\.50 is already taken by default\/nothing/,
      );
      await t.rejects(
        C0.addService('e', { selector: 'app=web', ports: [{ port: 80, targetPort: 80 }] }),
        /service "e": selector: selector is a map of labels/,
      );
      t.notOk(
        (await C0.services()).some((s) => 'abcde'.includes(s.name)),
        'none of them was made',
      );
    });
  });
}
