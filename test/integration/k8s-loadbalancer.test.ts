// North-south traffic through the real kernel: a LoadBalancer service's address from the
// cluster's pool, announced by one worker (MetalLB layer-2: ARP), reached from hosts on the
// underlay, taken over by another worker when the announcer's agent is killed (the outage is
// measured); externalTrafficPolicy: Local keeps the client's address and drops on a worker with
// no local endpoint; internalTrafficPolicy: Local; ClientIP affinity per client address; cluster
// DNS over TCP with an answer too large for UDP.
import t from 'tap';
import { electAnnouncer } from '../../src/features/k8s/agent/speaker.js';
import type { Cluster } from '../../src/features/k8s/cluster.js';
import type { PodNode } from '../../src/features/k8s/pod.js';
import { createService } from '../../src/features/k8s/services/api.js';
import { ANNOTATION_IPS, type ServiceObject } from '../../src/features/k8s/services/objects.js';
import { serviceRangesOf } from '../../src/features/k8s/services/schema.js';
import type { WorkerNode } from '../../src/features/k8s/worker.js';
import { waitFor } from '../../src/util/wait.js';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';
import { repl } from '../lib/repl.js';

// each pod answers with its name and the address it sees the client at
const server = (name: string) =>
  `socat TCP-LISTEN:8000,fork,reuseaddr SYSTEM:'echo HTTP/1.0 200 OK; echo; echo ${name} $SOCAT_PEERADDR; sleep 0.05'`;

if (requireRoot(t)) {
  t.test('LoadBalancer services, traffic policies, DNS over TCP', async (t) => {
    const model = modelFromYaml(`
name: lb
nodes:
  s1: {kind: switch, subnet: 192.168.67.0/24}
  h1: {kind: host}
  h2: {kind: host}
  C0:
    kind: cluster
    underlay: s1
    etcd: 1
    pods:
      web1: {worker: w1, labels: {app: web}, command: "${server('web1')}"}
      web2: {worker: w2, labels: {app: web}, command: "${server('web2')}"}
      web3: {worker: w3, labels: {app: web}, command: "${server('web3')}"}
      local1: {worker: w1, labels: {app: local}, command: "${server('local1')}"}
      client1: {worker: w1}
      client3: {worker: w3}
    services:
      lb: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80, targetPort: 8000}]}
      lblocal: {type: LoadBalancer, externalTrafficPolicy: Local, selector: {app: local}, ports: [{port: 80, targetPort: 8000, nodePort: 30090}]}
      sticky: {type: LoadBalancer, selector: {app: web}, sessionAffinity: ClientIP, ports: [{port: 80, targetPort: 8000}]}
      itp: {clusterIP: 10.96.0.70, internalTrafficPolicy: Local, selector: {app: web}, ports: [{port: 80, targetPort: 8000}]}
links:
  - endpoints: [h1, s1]
  - endpoints: [h2, s1]
`);
    const sim = await up(t, model);
    const C0 = sim.objects.get('C0') as Cluster;
    const h1 = sim.node('h1');
    const workers = ['C0w1', 'C0w2', 'C0w3'].map((n) => sim.node(n) as WorkerNode);
    const stored = async (name: string) =>
      (await C0.etcd.get(`/registry/services/specs/default/${name}`).json()) as ServiceObject;
    const lbIp = async (name: string) => (await stored(name)).status!.loadBalancer.ingress![0].ip;
    /** the last line of one TCP exchange from a node, '' when it failed */
    const get = async (from: { exec: typeof h1.exec }, ip: string, port = 80, bind?: string) => {
      const src = bind ? `,bind=${bind}` : '';
      const r = await from.exec(
        `socat -T2 - TCP:${ip}:${port},connect-timeout=2${src} </dev/null 2>/dev/null | tail -1`,
      );
      return r.stdout.trim();
    };
    const holders = async (ip: string) => {
      const out: string[] = [];
      for (const w of workers)
        if ((await w.cmd(`ip -o addr show dev ${w.underlayIface}`)).includes(`${ip}/32`)) out.push(w.name);
      return out;
    };
    const macOf = async (w: WorkerNode) =>
      (JSON.parse(await w.cmd(`ip -j link show dev ${w.underlayIface}`)) as { address: string }[])[0].address;
    await waitFor(async () => (await C0.services()).filter((s) => s.endpoints.length > 0).length >= 5, {
      what: 'the services to have endpoints',
    });

    t.test('an address from the pool, shown as kubectl shows it', async (t) => {
      t.equal(
        await lbIp('lb'),
        '192.168.67.247',
        'lowest address of the default pool (top 8 of the underlay subnet)',
      );
      t.equal(await lbIp('lblocal'), '192.168.67.248');
      const { run } = repl(sim);
      const svc = await run('kubectl get svc lb');
      t.match(
        svc.out,
        /lb\s+LoadBalancer\s+10\.96\.[\d.]+\s+192\.168\.67\.247\s+80:3\d{4}\/TCP/,
        'EXTERNAL-IP column',
      );
      const yaml = await run('kubectl get svc lb -o yaml');
      t.match(yaml.out, /loadBalancer:\s+ingress:\s+- ip: 192\.168\.67\.247/, 'status.loadBalancer.ingress');
      // endpoints in etcd come before the agent's transaction: await its table, then check it
      const lbEntry = /192\.168\.67\.247 \. tcp \. 80 : goto external-[A-Z2-7]{8}-default\/lb\/tcp\/p80/;
      const serviceIps = () => workers[0].cmd('nft list map ip kube-proxy service-ips');
      await waitFor(async () => lbEntry.test(await serviceIps()), {
        what: "lb in w1's kube-proxy service-ips map",
      }).catch(() => {});
      t.match(await serviceIps(), lbEntry, "kube-proxy's service-ips map");
    });

    t.test('a LoadBalancer service from a manifest; deleting it frees its address', async (t) => {
      const yaml = `apiVersion: v1
kind: Service
metadata: {name: applied}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app: web}
  ports: [{port: 8080, targetPort: 8000}]
`;
      await C0.apply(yaml);
      const svc = await stored('applied');
      t.equal(svc.status?.loadBalancer.ingress?.[0].ip, '192.168.67.250', 'the next free address');
      t.equal(svc.spec.externalTrafficPolicy, 'Local');
      t.match(svc.spec.ports[0].nodePort, Number, 'a node port as well (allocateLoadBalancerNodePorts)');
      await C0.delete(yaml);
      t.equal(await C0.etcd.get('/netsim/loadbalancer/ips/192.168.67.250').string(), null, 'address freed');
    });

    t.test('one worker announces it (MetalLB order); a host on the underlay reaches it', async (t) => {
      const ip = await lbIp('lb');
      const want = electAnnouncer(['C0w1', 'C0w2', 'C0w3'], ip)!;
      await waitFor(async () => JSON.stringify(await holders(ip)) === JSON.stringify([want]), {
        what: `${want} alone to hold ${ip}`,
      });
      t.same(await holders(ip), [want], `${want} holds ${ip}`);
      const answers = new Set<string>();
      for (let i = 0; i < 12; i++) answers.add((await get(h1, ip)).split(' ')[0]);
      t.same(
        [...answers].filter((a) => !/^web[123]$/.test(a)),
        [],
        `every request answered: ${[...answers]}`,
      );
      t.ok(answers.size >= 2, 'spread over the endpoints');
      const mac = await macOf(sim.node(want) as WorkerNode);
      await waitFor(async () => (await h1.cmd(`ip neigh show ${ip}`)).includes(mac), {
        timeoutMs: 5000,
        what: "h1's ARP entry",
      }).catch(() => {});
      const neigh = await h1.cmd(`ip neigh show ${ip}`);
      t.match(neigh, mac, "h1's ARP entry names the announcer's MAC");
      if (!neigh.includes(mac))
        for (const w of workers)
          t.comment(`${w.name} ${await macOf(w)}: ${await w.cmd(`grep speaker ${w.agentLog} | tail -5`)}`);
    });

    t.test("the announcer's agent is killed: another worker takes over (gratuitous ARP)", async (t) => {
      const ip = await lbIp('lb');
      const [old] = await holders(ip);
      const w = sim.node(old) as WorkerNode;
      const next = electAnnouncer(
        workers.map((x) => x.name).filter((n) => n !== old),
        ip,
      )!;
      // h1 asks five times a second; the outage is the time between the last answer before
      // the first failure and the first answer after it
      const probe = h1.exec(
        `end=$(($(date +%s%N)+12000000000)); while [ $(date +%s%N) -lt $end ]; do r=$(socat -T0.3 - TCP:${ip}:80,connect-timeout=0.3 </dev/null 2>/dev/null | tail -1); echo "$(date +%s%N) \${r:-FAIL}"; sleep 0.2; done`,
        { timeoutMs: 30000 },
      );
      await new Promise((r) => setTimeout(r, 1500));
      const killedAt = Date.now();
      await w.killAgent();
      await waitFor(async () => (await holders(ip)).includes(next), {
        timeoutMs: 10000,
        what: `${next} to hold ${ip}`,
      });
      const takeover = Date.now() - killedAt;
      const lines = (await probe).stdout
        .trim()
        .split('\n')
        .map((l) => l.split(' '));
      const fails = lines.filter((l) => l[1] === 'FAIL');
      let outage = 0;
      if (fails.length) {
        const first = lines.findIndex((l) => l[1] === 'FAIL');
        const back = lines.findIndex((l, i) => i > first && l[1] !== 'FAIL');
        t.ok(back > 0, 'answers come back');
        outage = (Number(lines[back][0]) - Number(lines[first - 1]?.[0] ?? lines[first][0])) / 1e6;
      }
      t.comment(
        `takeover by ${next} ${takeover} ms after the kill; outage seen by h1: ${outage.toFixed(0)} ms (${fails.length} of ${lines.length} probes failed)`,
      );
      t.ok(takeover < 8000, `taken over within a few seconds (${takeover} ms)`);
      t.ok(lines.at(-1)?.[1]?.startsWith('web'), 'the last probes are answered');
      const mac = await macOf(sim.node(next) as WorkerNode);
      await waitFor(async () => (await h1.cmd(`ip neigh show ${ip}`)).includes(mac), {
        timeoutMs: 5000,
        what: "h1's ARP entry to move",
      }).catch(() => {});
      t.match(await h1.cmd(`ip neigh show ${ip}`), mac, `h1's ARP entry now names ${next}`);
      // the dead agent's worker still has the address, but its announcement times out (3 s)
      await waitFor(async () => !(await w.cmd('nft list set arp netsim-lb announced')).includes(ip), {
        timeoutMs: 6000,
        what: `${old}'s announcement to expire`,
      });
      t.match(
        await w.cmd('nft list set arp netsim-lb held'),
        ip,
        `${old} still holds ${ip} (its agent is dead)`,
      );
      const h2 = sim.node('h2');
      const dev = (await h2.cmd("ip -o -4 addr show scope global | awk '{print $2; exit}'")).trim();
      const replies = await h2.cmd(`arping -c 3 -w 4 -I ${dev} ${ip}`);
      const macs = [...replies.matchAll(/\[([0-9A-Fa-f:]{17})\]/g)].map((m) => m[1].toLowerCase());
      t.ok(
        macs.length > 0 && macs.every((m) => m === mac),
        `only ${next} answers ARP for ${ip}: ${macs.join(' ')}`,
      );
      await w.startAgentAndWait();
    });

    t.test(
      'externalTrafficPolicy: Local: the endpoint sees the client; no local endpoint: dropped',
      async (t) => {
        const ip = await lbIp('lblocal');
        await waitFor(async () => (await holders(ip)).length === 1, { what: `one holder of ${ip}` });
        t.same(await holders(ip), ['C0w1'], 'announced only by the worker with an endpoint');
        t.equal(
          await get(h1, ip),
          `local1 ${h1.ip}`,
          'via the LoadBalancer address: the client address is kept',
        );
        t.equal(await get(h1, workers[0].ip!, 30090), `local1 ${h1.ip}`, 'via the node port of C0w1 too');
        t.equal(await get(h1, workers[1].ip!, 30090), '', 'the node port of C0w2 (no local endpoint) drops');
        const drops = await workers[1].cmd(
          "nft list table ip kube-proxy | grep -A3 'chain local-.*default/lblocal/'",
        );
        t.match(drops, /drop/, 'its local chain is a drop');
        const lb = (await get(h1, await lbIp('lb'))).split(' ');
        t.not(lb[1], h1.ip, `policy Cluster masquerades (the endpoint saw ${lb[1]})`);
        const pod = sim.node('client3') as PodNode;
        t.match(
          await get(pod, ip),
          /^local1 /,
          "a pod on C0w3 (no local endpoint) reaches the LoadBalancer address: pods' traffic goes cluster-wide",
        );
      },
    );

    t.test('ClientIP affinity: each client address sticks to one endpoint; clients spread', async (t) => {
      const ip = await lbIp('sticky');
      await waitFor(async () => (await holders(ip)).length === 1, { what: `one holder of ${ip}` });
      const picked: string[] = [];
      const dev = (await h1.cmd("ip -o -4 addr show scope global | awk '{print $2; exit}'")).trim();
      for (let k = 0; k < 8; k++) {
        const src = `192.168.67.${100 + k}`;
        await h1.cmd(`ip addr add ${src}/24 dev ${dev}`);
        const seen = new Set<string>();
        for (let i = 0; i < 5; i++) seen.add((await get(h1, ip, 80, src)).split(' ')[0]);
        t.ok(
          seen.size === 1 && /^web[123]$/.test([...seen][0]),
          `client ${src}: 5 connections, one endpoint (${[...seen]})`,
        );
        picked.push([...seen][0]);
      }
      // three endpoints: all 8 on one would happen with probability 3/3^8 (0.05 %)
      t.ok(new Set(picked).size >= 2, `8 client addresses spread over endpoints: ${picked.join(' ')}`);
    });

    t.test("internalTrafficPolicy: Local: only the endpoints on the client pod's worker", async (t) => {
      const c1 = sim.node('client1') as PodNode;
      const got = new Set<string>();
      for (let i = 0; i < 10; i++) got.add((await get(c1, '10.96.0.70')).split(' ')[0]);
      t.same([...got], ['web1'], 'from C0w1: web1 only');
      const c3 = sim.node('client3') as PodNode;
      t.equal((await get(c3, '10.96.0.70')).split(' ')[0], 'web3', 'from C0w3: web3');
      await C0.deletePod('web3');
      await waitFor(async () => (await get(c3, '10.96.0.70')) === '', {
        timeoutMs: 5000,
        what: 'no local endpoint on C0w3',
      }).catch(() => {});
      t.equal(await get(c3, '10.96.0.70'), '', 'no endpoint on C0w3 any more: dropped, not sent elsewhere');
    });

    t.test('cluster DNS over TCP; a large answer truncated over UDP, whole over TCP', async (t) => {
      const ips = Array.from({ length: 40 }, (_, i) => `10.250.0.${i + 1}`);
      await createService(
        C0.etcd,
        'many',
        { clusterIP: 'None', ports: [{ port: 80, targetPort: 80 }] },
        serviceRangesOf(C0.config),
        {
          annotations: { [ANNOTATION_IPS]: ips.join(',') },
        },
      );
      const c1 = sim.node('client1') as PodNode;
      const dig = (args: string) => c1.cmd(`dig @10.96.0.10 ${args}`);
      t.match(
        await dig('+tcp +short lb.default.svc.cluster.local'),
        /^10\.96\.[\d.]+$/m,
        'dig +tcp of a service',
      );
      await waitFor(
        async () =>
          (await dig('+tcp +short many.default.svc.cluster.local')).trim().split('\n').length === 40,
        {
          timeoutMs: 5000,
          what: 'the headless service in DNS',
        },
      ).catch(() => {});
      const udp = await dig('+notcp +ignore many.default.svc.cluster.local');
      t.match(udp, /flags: [^;]*\btc\b/, 'over UDP: the TC bit');
      const udpCount = Number(/ANSWER: (\d+)/.exec(udp)?.[1]);
      t.ok(udpCount > 0 && udpCount < 40, `over UDP: ${udpCount} of 40 records (512 bytes)`);
      const tcp = await dig('+tcp many.default.svc.cluster.local');
      t.notMatch(tcp, /flags: [^;]*\btc\b/, 'over TCP: not truncated');
      t.match(tcp, /ANSWER: 40\b/, 'over TCP: all 40 records');
      t.match(
        await dig('many.default.svc.cluster.local'),
        /ANSWER: 40\b/,
        'plain dig retries over TCP itself',
      );
    });
  });
}
