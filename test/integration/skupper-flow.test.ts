// Per-stream flow control on the Skupper-style link, through the real kernel: three sites in a
// row (C2 -> C1 -> C0, C1 is the transit site), C0 serving an HTTP pod, an endless writer and a
// byte counter. A client that connects to the endless writer and never reads stalls its own
// stream only: 200 concurrent short requests over the same link (from C1) and through the
// transit site (from C2) all answer meanwhile. FIN goes both ways (a client that half-closes
// gets its answer). When a client goes away, a link drops or the transit router is killed, the
// connection closes on every hop: the stream count of every link comes back to 0 and the far
// ends' sockets are closed. SKUPPER_FLOW_REPEAT=20 repeats the stall round 20 times.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import type { Cluster } from '../../src/features/k8s/cluster.js';
import type { PodNode } from '../../src/features/k8s/pod.js';
import type { SkupperSite } from '../../src/features/multicluster/skupper/site.js';
import { simMetrics } from '../../src/surfaces/metrics/registry.js';
import { waitFor } from '../../src/util/wait.js';
import { modelFromYaml, requireRoot, uniqueName, up } from '../lib/harness.js';
import { parseExposition, samples, value } from '../lib/prom.js';

const HTTPD = join(dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'http-server.js');
const REPEAT = Number(process.env.SKUPPER_FLOW_REPEAT ?? 1);
const BURST = 200;

/** writes to every connection as fast as it is read, for ever */
const ENDLESS = `const b=Buffer.alloc(65536,120);
require('net').createServer((s)=>{s.on('error',()=>{});const w=()=>{while(s.write(b));};s.on('drain',w);w();}).listen(+process.argv[2]);`;
/** reads a connection to its FIN, then answers with the byte count and closes (needs half-open) */
const COUNTER = `require('net').createServer({allowHalfOpen:true},(s)=>{let n=0;s.on('error',()=>{});
s.on('data',(d)=>{n+=d.length;});s.on('end',()=>s.end(n+'\\n'));}).listen(+process.argv[2]);`;
/** connects, never reads; prints "connected"; exits when its stdin closes */
const STUCK = `const c=require('net').connect(+process.argv[3],process.argv[2],()=>console.log('connected'));
c.pause();c.on('error',()=>{});process.stdin.resume();process.stdin.on('end',()=>process.exit(0));
setTimeout(()=>process.exit(0),120000);`;
/** n concurrent HTTP/1.0 requests; prints {ok, bad} */
const BURST_CLIENT = `const net=require('net');const [host,port,n]=process.argv.slice(2);let ok=0,left=+n;const bad=[];
const done=()=>{console.log(JSON.stringify({ok,bad}));process.exit(0);};
const timer=setTimeout(()=>{bad.push(left+' unanswered after 30 s');done();},30000);
for(let i=0;i<+n;i++){const c=net.connect(+port,host);let body='';c.setEncoding('utf8');
c.on('connect',()=>c.write('GET / HTTP/1.0\\r\\nHost: web\\r\\n\\r\\n'));c.on('data',(d)=>{body+=d;});
c.on('error',(e)=>{body+=' error '+e.code;});
c.on('close',()=>{if(/\\r\\n\\r\\nweb\\n$/.test(body))ok++;else bad.push(body.slice(-60));if(--left===0){clearTimeout(timer);done();}});}`;
/** sends n bytes, half-closes, prints the answer */
const HALF_CLOSE = `const c=require('net').connect(+process.argv[3],process.argv[2],()=>{c.write(Buffer.alloc(+process.argv[4],97));c.end();});
let a='';c.setEncoding('utf8');c.on('data',(d)=>{a+=d;});c.on('error',(e)=>{a+='error '+e.code;});c.on('close',()=>console.log(a.trim()));`;

interface LinkView {
  name: string;
  site?: string;
  state: string;
  streams: number;
  stalled: number;
}

const linksOf = async (s: SkupperSite) => ((await s.status()) as unknown as { links: LinkView[] }).links;

/** Waits until `site`'s link to `peer` has at least `n` streams whose sender is out of credit. */
async function waitStalled(site: SkupperSite, peer: string, n: number): Promise<void> {
  let seen: LinkView[] = [];
  await waitFor(
    async () => {
      seen = await linksOf(site);
      return seen.some((l) => l.site === peer && l.stalled >= n);
    },
    { timeoutMs: 15000, intervalMs: 50 },
  ).catch(() => {
    throw new Error(`${site.name}: not ${n} stalled streams to ${peer}: ${JSON.stringify(seen)}`);
  });
}

/** Established TCP connections on local `port` in a node (ss), once they are 0 or after 10 s. */
async function established(node: { exec: PodNode['exec'] }, port: number): Promise<number> {
  let n = -1;
  await waitFor(
    async () => {
      const r = await node.exec(`ss -Htn state established '( sport = :${port} )'`);
      n = r.stdout.split('\n').filter((l) => l.trim()).length;
      return n === 0;
    },
    { timeoutMs: 10000, intervalMs: 50 },
  ).catch(() => {});
  return n;
}

if (requireRoot(t)) {
  t.test('skupper-style link: per-stream flow control, C2 - C1 - C0', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sk-flow-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const script = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const endless = script('endless.cjs', ENDLESS);
    const counter = script('counter.cjs', COUNTER);
    const stuck = script('stuck.cjs', STUCK);
    const burst = script('burst.cjs', BURST_CLIENT);
    const halfClose = script('half-close.cjs', HALF_CLOSE);
    const node = process.execPath;
    const model = modelFromYaml(
      `
name: x
nodes:
  s0: {kind: switch, subnet: 192.168.84.0/24}
  s1: {kind: switch, subnet: 192.168.85.0/24}
  s2: {kind: switch, subnet: 192.168.86.0/24}
  r1: {kind: router}
  C0:
    kind: cluster
    underlay: s0
    workers: 1
    etcd: 1
    podCidr: 10.244.0.0/16
    pods:
      web: {worker: w1, command: "${node} ${HTTPD} web 8000"}
      bulk: {worker: w1, command: "${node} ${endless} 7000"}
      count: {worker: w1, command: "${node} ${counter} 7100"}
  C1:
    kind: cluster
    underlay: s1
    workers: 1
    etcd: 1
    podCidr: 10.245.0.0/16
    prefix: /c1/network
    pods:
      client1: {worker: w1}
  C2:
    kind: cluster
    underlay: s2
    workers: 1
    etcd: 1
    podCidr: 10.246.0.0/16
    prefix: /c2/network
    pods:
      client2: {worker: w1}
links:
  - endpoints: [r1, s0]
  - endpoints: [r1, s1]
  - endpoints: [r1, s2]
`,
      uniqueName('sk'),
    );
    const sim = await up(t, model);
    const C0 = sim.objects.get('C0') as Cluster;
    const C1 = sim.objects.get('C1') as Cluster;
    const C2 = sim.objects.get('C2') as Cluster;
    const bulkPod = sim.node('bulk') as PodNode;
    await C1.skupperLink(await C0.skupperToken());
    await C2.skupperLink(await C1.skupperToken());
    const [s0, s1, s2] = await Promise.all([C0.skupperSite(), C1.skupperSite(), C2.skupperSite()]);
    await s1.waitLink('C0');
    await s2.waitLink('C1');
    const web = await C0.skupperExpose('web', { port: 80, host: sim.node('web').ip!, targetPort: 8000 });
    const bulk = await C0.skupperExpose('bulk', { port: 7000, host: bulkPod.ip!, targetPort: 7000 });
    const count = await C0.skupperExpose('count', {
      port: 7100,
      host: sim.node('count').ip!,
      targetPort: 7100,
    });
    for (const key of ['web', 'bulk', 'count']) await s2.waitRoute(key);
    // each client dials its own site's router worker (knetsim's form: no DNS in the way)
    const clients = [
      { pod: sim.node('client1') as PodNode, site: s1, ip: C1.workers[0].ip!, how: 'over the link C1-C0' },
      {
        pod: sim.node('client2') as PodNode,
        site: s2,
        ip: C2.workers[0].ip!,
        how: 'through the transit site C1',
      },
    ];
    const readers: ChildProcess[] = [];
    t.teardown(() => {
      for (const r of readers) r.stdin?.end();
    });

    /** a client that connects to the endless writer and never reads; resolves once connected */
    const stuckReader = async (c: (typeof clients)[number]): Promise<ChildProcess> => {
      const child = c.pod.spawn(`exec ${node} ${stuck} ${c.ip} ${bulk.listenerPort}`);
      readers.push(child);
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
      });
      await waitFor(() => out.includes('connected'), { timeoutMs: 10000, intervalMs: 20 });
      return child;
    };
    const stop = (child: ChildProcess) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin?.end();
      });
    /** every link of every site back to no streams, and the endless writer's connections closed */
    const allClosed = async (t: Test, what: string) => {
      for (const s of [s0, s1, s2]) {
        await s.waitStreams(0, 15000);
        t.ok(
          (await linksOf(s)).every((l) => l.streams === 0),
          `${what}: ${s.name}'s links carry no stream`,
        );
      }
      t.equal(await established(bulkPod, 7000), 0, `${what}: the endless writer has no connection left`);
    };

    t.test('FIN both ways: a client that half-closes gets its answer, also through C1', async (t) => {
      for (const c of clients) {
        const r = await c.pod.exec(`${node} ${halfClose} ${c.ip} ${count.listenerPort} 300000`, {
          timeoutMs: 20000,
        });
        t.equal(r.stdout.trim(), '300000', `${c.how}: the server read to the FIN and answered`);
      }
      await allClosed(t, 'after the half-closed connections');
    });

    for (let round = 1; round <= REPEAT; round++)
      t.test(`round ${round}: an unread endless stream does not stall ${BURST} requests`, async (t) => {
        const stalled = await Promise.all(clients.map((c) => stuckReader(c)));
        // the stall reaches every hop: C0's sender waits for credit on both streams to C1, and
        // C1's transit stream to C2 waits for C2's
        await waitStalled(s0, 'C1', 2);
        await waitStalled(s1, 'C2', 1);
        if (round === 1) {
          const m = parseExposition(await simMetrics(sim).text());
          t.ok(
            (value(m, 'netsim_skupper_link_stalled_streams', { cluster: 'C0', peer: 'C1' }) ?? 0) >= 2,
            "metrics: C0's link to C1 has the two stalled streams",
          );
        }
        const results = await Promise.all(
          clients.map((c) =>
            c.pod.exec(`${node} ${burst} ${c.ip} ${web.listenerPort} ${BURST}`, { timeoutMs: 40000 }),
          ),
        );
        clients.forEach((c, i) => {
          const r = JSON.parse(results[i].stdout.trim() || '{"ok":0,"bad":["no output"]}') as {
            ok: number;
            bad: string[];
          };
          t.equal(r.ok, BURST, `${c.how}: every request answers (${JSON.stringify(r.bad.slice(0, 3))})`);
        });
        const up = await linksOf(s1);
        t.ok(
          up.every((l) => l.state === 'up'),
          'the links stayed up',
        );
        await Promise.all(stalled.map(stop));
        await allClosed(t, 'once the readers are gone');
        if (round === 1) {
          // the sites' status is read at most once per 500 ms for /metrics: a scrape soon after
          // the one above may still show the stalled streams, so await a fresh one
          let streams: ReturnType<typeof samples> = [];
          await waitFor(
            async () => {
              streams = samples(
                parseExposition(await simMetrics(sim).text()),
                'netsim_skupper_link_streams',
                {},
              );
              return streams.length === 4 && streams.every((x) => x.value === 0);
            },
            { timeoutMs: 3000, intervalMs: 100, what: 'metrics without streams' },
          ).catch(() => undefined);
          t.equal(streams.length, 4, 'metrics: four link ends (C0-C1 and C1-C2, both sides)');
          t.ok(
            streams.every((x) => x.value === 0),
            'metrics: no stream on any link',
          );
        }
      });

    t.test('a link drops: the streams through it close on every site', async (t) => {
      const reader = await stuckReader(clients[1]);
      await waitStalled(s1, 'C2', 1);
      await sim.setLink('r1', 's2', 'down');
      await allClosed(t, "C2's underlay cut");
      await sim.setLink('r1', 's2', 'up');
      await stop(reader);
      await s2.waitLink('C1', 20000);
      await s2.waitRoute('web', 10000);
      const r = await clients[1].pod.exec(`${node} ${burst} ${clients[1].ip} ${web.listenerPort} 20`, {
        timeoutMs: 40000,
      });
      t.match(r.stdout, /"ok":20/, 'C2 through C1 again once the link is back');
    });

    t.test('the transit router is killed: both ends close', async (t) => {
      const reader = await stuckReader(clients[1]);
      await waitStalled(s1, 'C2', 1);
      await waitStalled(s0, 'C1', 1);
      const pid = s1.routerPid!;
      process.kill(pid, 'SIGKILL');
      for (const s of [s0, s2]) {
        await s.waitStreams(0, 15000);
        t.ok(
          (await linksOf(s)).every((l) => l.streams === 0),
          `${s.name}'s links carry no stream`,
        );
      }
      t.equal(await established(bulkPod, 7000), 0, 'the endless writer in C0 has no connection left');
      t.equal(
        await established(C2.workers[0], bulk.listenerPort),
        0,
        "C2's listener closed the client's connection",
      );
      await stop(reader);
    });
  });
}
