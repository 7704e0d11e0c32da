// Skupper-style link against direct TCP, between the same two pods in the same run: a client
// pod in C1 and a server pod in C0 (one worker each, on two underlay LANs joined by r1, which
// routes the pod CIDRs to the workers so that the direct path exists). Throughput with iperf3
// (the link: C0.skupperExpose of the iperf3 pod, the client dials C1's listener), and the rate
// of fresh TCP connections (connect, read one line, close; one after another from one Node
// process in the pod). Rounds alternate direct / link.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster } from '../src/features/k8s/cluster.js';
import type { PodNode } from '../src/features/k8s/pod.js';
import { Topology } from '../src/model/builder.js';
import { validate } from '../src/model/validate.js';
import { Simulation } from '../src/runtime/simulation.js';
import { failedRounds, iperf3Bps, loadAverage, median, numberIn, present, round, sleep } from './measure.js';

/** Per round; undefined where the round failed (its reason in `failures`). */
export interface MulticlusterRun {
  throughputDirect: (number | undefined)[];
  throughputLink: (number | undefined)[];
  throughputBare: (number | undefined)[];
  connDirect: (number | undefined)[];
  connLink: (number | undefined)[];
  failures: string[];
}

const CONNECT_SCRIPT = (host: string, port: number, n: number) =>
  `const net=require('net');let i=0;const t0=process.hrtime.bigint();` +
  `function one(){if(i++>=${n}){const s=Number(process.hrtime.bigint()-t0)/1e9;console.log((${n}/s).toFixed(1));return;}` +
  `const c=net.connect(${port},'${host}');c.once('data',()=>{c.destroy();one();});c.on('error',e=>{console.log('error '+e.message);process.exit(1)});}one();`;

// The floor of any user-space TLS relay: two bare Node processes, plain TCP in, TLS 1.3
// (AES-128-GCM) between them, plain TCP out, `pipe` both ways; no framing, no multiplexing.
const BARE_RELAY = `import net from 'node:net'; import tls from 'node:tls'; import fs from 'node:fs';
const [mode, listen, host, port, dir] = process.argv.slice(2);
const opts = { key: fs.readFileSync(dir + '/k.pem'), cert: fs.readFileSync(dir + '/c.pem'), ciphers: 'TLS_AES_128_GCM_SHA256', minVersion: 'TLSv1.3' };
const join = (a, b) => { a.pipe(b); b.pipe(a); a.on('error', () => b.destroy()); b.on('error', () => a.destroy()); };
if (mode === 'in') net.createServer((c) => join(c, tls.connect({ host, port: +port, rejectUnauthorized: false, ...opts }))).listen(+listen);
else tls.createServer(opts, (c) => join(c, net.connect(+port, host))).listen(+listen);
`;

async function iperf(client: PodNode, host: string, port: number, seconds: number): Promise<number> {
  const r = await client.exec(`iperf3 -J -c ${host} -p ${port} -t ${seconds}`, {
    timeoutMs: seconds * 1000 + 15000,
  });
  return iperf3Bps(r.stdout, `iperf3 to ${host}:${port}`) / 1e9;
}

async function connRate(client: PodNode, host: string, port: number, n: number): Promise<number> {
  const r = await client.exec(`${process.execPath} -e "${CONNECT_SCRIPT(host, port, n)}"`, {
    timeoutMs: 60000,
  });
  // the rate is the output's last line
  return numberIn(`${r.stdout}${r.stderr}`, /^([\d.]+)\s*$/m, `connection rate to ${host}:${port}`);
}

export async function runMulticluster(rounds: number, log: (l: string) => void): Promise<MulticlusterRun> {
  const t = new Topology(`bmc${process.pid % 10000}`, 'bench');
  t.switch('s0', { subnet: '192.168.91.0/24' });
  t.switch('s1', { subnet: '192.168.92.0/24' });
  t.router('r1');
  t.link('r1', 's0');
  t.link('r1', 's1');
  const hello = `${process.execPath} -e "require('net').createServer(s=>s.end('hi\\\\n')).listen(8000)"`;
  t.cluster('C0', {
    underlay: 's0',
    workers: 1,
    etcd: 1,
    podCidr: '10.244.0.0/16',
    pods: {
      srv: { worker: 'w1', command: 'iperf3 -s' },
      hello: { worker: 'w1', command: hello },
    },
  });
  t.cluster('C1', {
    underlay: 's1',
    workers: 1,
    etcd: 1,
    podCidr: '10.245.0.0/16',
    prefix: '/c1/network',
    pods: { cli: { worker: 'w1' } },
  });
  const model = validate(t.toSpec(), t.source, { simName: t.name });
  const sim = await Simulation.up(model);
  try {
    const C0 = sim.objects.get('C0') as Cluster;
    const C1 = sim.objects.get('C1') as Cluster;
    const cli = sim.node('cli') as PodNode;
    const srv = sim.node('srv') as PodNode;
    const hi = sim.node('hello') as PodNode;
    // the direct path: r1 routes each pod CIDR to its (only) worker
    const r1 = sim.node('r1');
    await sim.kernel.exec(
      r1.ns,
      `ip route add 10.244.0.0/16 via ${C0.workers[0].ip} && ip route add 10.245.0.0/16 via ${C1.workers[0].ip}`,
    );
    await C1.skupperLink(await C0.skupperToken());
    await (await C1.skupperSite()).waitLink('C0');
    const ip = await C0.skupperExpose('srv', { port: 5201 });
    const hl = await C0.skupperExpose('hello', { port: 8000 });
    await (await C1.skupperSite()).waitRoute('hello');
    const lhost = C1.workers[0].ip!;
    await sleep(500);
    // warm-up
    await connRate(cli, hi.ip!, 8000, 50);
    await connRate(cli, lhost, hl.listenerPort, 50);
    // the bare relay pair between the same two workers, for the floor of the approach
    const bareDir = join(sim.dir, 'bare-relay');
    mkdirSync(bareDir, { recursive: true });
    writeFileSync(join(bareDir, 'relay.mjs'), BARE_RELAY);
    const gen = await sim.kernel.exec(
      C0.workers[0].ns,
      `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ${bareDir}/k.pem -out ${bareDir}/c.pem -days 1 -subj /CN=bare 2>&1`,
    );
    if (gen.exitCode !== 0) throw new Error(`openssl: ${gen.stdout}`);
    const relay = (ns: string, args: string[]) =>
      sim.kernel.spawnDaemon({
        ns,
        cmd: process.execPath,
        args: [join(bareDir, 'relay.mjs'), ...args, bareDir],
        logFile: join(bareDir, 'relay.log'),
      });
    relay(C0.workers[0].ns, ['out', '7443', srv.ip!, '5201']);
    relay(C1.workers[0].ns, ['in', '7000', C0.workers[0].ip!, '7443']);
    const run: MulticlusterRun = {
      throughputDirect: [],
      throughputLink: [],
      throughputBare: [],
      connDirect: [],
      connLink: [],
      failures: [],
    };
    const f = (x: number | undefined) => (x === undefined ? 'failed' : x.toFixed(2));
    for (let i = 0; i < rounds; i++) {
      // a tool that misbehaves spoils its measurement, not the round nor the suite
      const one = <T>(what: string, fn: () => Promise<T>) =>
        round(`round ${i + 1} ${what}`, fn, run.failures, log);
      run.throughputDirect.push(await one('iperf3 direct', () => iperf(cli, srv.ip!, 5201, 3)));
      run.throughputLink.push(await one('iperf3 link', () => iperf(cli, lhost, ip.listenerPort, 3)));
      run.throughputBare.push(await one('iperf3 bare relay', () => iperf(cli, lhost, 7000, 3)));
      run.connDirect.push(await one('connections direct', () => connRate(cli, hi.ip!, 8000, 300)));
      run.connLink.push(await one('connections link', () => connRate(cli, lhost, hl.listenerPort, 300)));
      log(
        `  round ${i + 1}: direct ${f(run.throughputDirect[i])} Gbit/s, link ${f(run.throughputLink[i])} Gbit/s, bare relay ${f(run.throughputBare[i])} Gbit/s; ` +
          `direct ${f(run.connDirect[i])} conn/s, link ${f(run.connLink[i])} conn/s`,
      );
    }
    return run;
  } finally {
    await sim.down();
  }
}

export async function multiclusterSuite(reps: number, log: (l: string) => void): Promise<string[]> {
  const rounds = Math.max(3, reps);
  log(`multicluster: ${rounds} rounds`);
  const load = loadAverage();
  const r = await runMulticluster(rounds, log);
  const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–');
  const med = (xs: (number | undefined)[]) => (present(xs).length ? median(present(xs)) : Number.NaN);
  const td = med(r.throughputDirect);
  const tl = med(r.throughputLink);
  const tb = med(r.throughputBare);
  const cd = med(r.connDirect);
  const cl = med(r.connLink);
  const all = (xs: (number | undefined)[], d = 2) =>
    xs.map((x) => (x === undefined ? 'failed' : f(x, d))).join(', ');
  return [
    '# Multi-cluster: Skupper-style link vs direct TCP',
    '',
    '| path | iperf3 throughput Gbit/s, median (rounds) | fresh TCP connections/s, median (rounds) |',
    '| --- | --- | --- |',
    `| direct pod to pod | ${f(td)} (${all(r.throughputDirect)}) | ${f(cd, 0)} (${all(r.connDirect, 0)}) |`,
    `| through the site routers (mutual TLS link) | ${f(tl)} (${all(r.throughputLink)}) | ${f(cl, 0)} (${all(r.connLink, 0)}) |`,
    `| bare TLS relay pair (two Node processes, \`pipe\`, no framing) | ${f(tb)} (${all(r.throughputBare)}) | |`,
    `| link / direct | ${f(tl / td)} | ${f(cl / cd)} |`,
    `| bare relay / direct | ${f(tb / td)} | |`,
    `| link / bare relay | ${f(tl / tb)} | |`,
    '',
    `Same run, same two pods (client in C1, server in C0, one worker each on two LANs joined by r1, which routes the pod CIDRs so that the direct path exists). Rounds alternate: iperf3 3 s direct, 3 s through C1's listener (the link: C1 router → TLS 1.3 → C0 router → the pod), then 300 sequential fresh connections each way (connect, read one line, close; one Node process in the pod). The bare relay pair runs between the same two workers as the site routers, TLS 1.3 AES-128-GCM like the link, and shows what a user-space TLS relay costs by itself on this machine. Goal: link throughput ≥ 50% of direct. Load average at start: ${load}; 2 cores shared with other work, so rounds vary.`,
    ...failedRounds(r.failures),
  ];
}
