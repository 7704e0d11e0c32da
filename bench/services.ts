// Services at scale on one worker: 10,000 services × 2 endpoints. kube-proxy's full sync (a
// restarted agent loading the whole table), a one-service update, and the time of a first
// connection to a ClusterIP with 10 and with 10,000 services (the vmap lookup is O(1)); and
// the nft tool's floor in the same namespace, interleaved with them: the full-sync transaction
// loaded by `nft -j -f`, a one-service transaction by `nft -j -f`, one `nft add element`.
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { diffFragments, fullSync, renderService, TABLE } from '../src/features/k8s/agent/proxy-rules.js';
import { nextLayout, shardingFromEnv } from '../src/features/k8s/agent/proxy-tables.js';
import type { Cluster } from '../src/features/k8s/cluster.js';
import type { PodNode } from '../src/features/k8s/pod.js';
import {
  ENDPOINTS_PREFIX,
  type EndpointsObject,
  SERVICE_IPAM_PREFIX,
  type ServiceObject,
  SPECS_PREFIX,
} from '../src/features/k8s/services/objects.js';
import type { WorkerNode } from '../src/features/k8s/worker.js';
import { NETNS_DIR } from '../src/kernel/run.js';
import { Topology } from '../src/model/builder.js';
import { validate } from '../src/model/validate.js';
import { Simulation } from '../src/runtime/simulation.js';
import { formatIp } from '../src/util/ipv4.js';
import { jsonIn, median, mustRun, spreadPercent } from './measure.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A process's resident set in MiB (0 when it is gone). */
function rssMiB(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

export interface ServicesRun {
  services: number;
  /** how the agent wrote its transactions: netlink (its writer) or nft */
  via: string;
  /** the agent's tables: "one table" or "K shard tables" */
  layout: string;
  /** agent restarts: the full sync, its render-and-encode part and its kernel part (the batch sent, the kernel's answer) */
  fullSyncMs: number[];
  fullSyncEncodeMs: number[];
  fullSyncKernelMs: number[];
  /** `nft -j -f` of the same full-sync transaction alone, same namespace, after each restart */
  fullSyncFloorMs: number[];
  /** the agent's RSS 1 s after each full sync, and after the updates (MiB) */
  agentRssMiB: number[];
  agentRssAfterUpdatesMiB: number;
  updateMs: number[];
  /** the update's kernel part: from the batch handed to the writer to the kernel's answer */
  updateKernelMs: number[];
  /** `nft -j -f` of a new service's transaction, after each update */
  nftUpdateMs: number[];
  /** one `nft add element`: on the 10-service table (median of 7), on the N-service one after each update */
  addElementMs10: number;
  addElementMsN: number[];
  connect10: ConnectTimes;
  connectN: ConnectTimes;
}

/** connections per round, rounds */
const CONNECTS = 300;
const ROUNDS = 5;
/** agent restarts (full syncs) and one-service updates measured, each beside its floor */
const FULL_SYNCS = 3;
const UPDATES = 7;

/** The agent log lines after `offset` that match. */
function logLines(w: WorkerNode, re: RegExp, offset: number): string[] {
  return readFileSync(w.agentLog, 'utf8')
    .slice(offset)
    .split('\n')
    .filter((l) => re.test(l));
}

/** Times of fresh TCP connections to a ClusterIP, in ms. */
export interface ConnectTimes {
  /** over all connections of all rounds: connect + the one line */
  medianMs: number;
  p90Ms: number;
  /** to the connect event alone (SYN, SYN-ACK: the first packet's trip through the nat chains) */
  connectMedianMs: number;
  /** the median of each round (their spread is the noise) */
  roundMediansMs: number[];
  /** the same to the endpoint's own address, interleaved round by round: no DNAT */
  directMedianMs: number;
  n: number;
}

/**
 * `rounds` × `n` sequential fresh TCP connections (connect + the one line the server sends)
 * from one long-lived Node process inside the pod, each timed with process.hrtime: no process
 * start per connection. Every connection is a new conntrack entry, so its first packet goes
 * through kube-proxy's nat chains (the vmap lookup). After a warm-up of 50, each round to the
 * VIP is followed by one to `direct` (an endpoint's own address and port) for comparison.
 */
async function connectMs(
  pod: PodNode,
  vip: string,
  direct: string,
  n: number,
  rounds: number,
): Promise<ConnectTimes> {
  const script = join(pod.sim.dir, `connect-${randomBytes(3).toString('hex')}.mjs`);
  writeFileSync(
    script,
    `import { connect } from 'node:net';
const [vip, direct, n, rounds] = [process.argv[2], process.argv[3], Number(process.argv[4]), Number(process.argv[5])];
const one = (host, port) => new Promise((resolve, reject) => {
  const t0 = process.hrtime.bigint();
  const s = connect({ host, port });
  s.setTimeout(2000, () => s.destroy(new Error('timeout')));
  let c = 0;
  s.once('connect', () => { c = Number(process.hrtime.bigint() - t0) / 1e6; });
  s.once('data', () => { resolve([c, Number(process.hrtime.bigint() - t0) / 1e6]); s.destroy(); });
  s.once('error', reject);
});
const series = async (host, port, k) => { const o = []; for (let i = 0; i < k; i++) o.push(await one(host, port)); return o; };
const [dh, dp] = direct.split(':');
await series(vip, 80, 50);
const out = { vip: [], direct: [] };
for (let r = 0; r < rounds; r++) {
  out.vip.push(await series(vip, 80, n));
  out.direct.push(await series(dh, Number(dp), n));
  await new Promise((res) => setTimeout(res, 300));
}
console.log(JSON.stringify(out));
`,
  );
  try {
    const r = await pod.exec(`${process.execPath} ${script} ${vip} ${direct} ${n} ${rounds}`, {
      timeoutMs: 2 * rounds * n * 2000 + 10000,
    });
    if (r.exitCode !== 0) throw new Error(`connect client in ${pod.name}: ${r.stderr.trim()}`);
    const out = jsonIn<{ vip: [number, number][][]; direct: [number, number][][] }>(
      r.stdout,
      `connect client in ${pod.name}`,
      { last: true },
    );
    const all = out.vip.flat();
    const times = all.map((p) => p[1]).sort((a, b) => a - b);
    return {
      medianMs: median(times),
      p90Ms: times[Math.floor(0.9 * (times.length - 1))],
      connectMedianMs: median(all.map((p) => p[0])),
      roundMediansMs: out.vip.map((round) => median(round.map((p) => p[1]))),
      directMedianMs: median(out.direct.flat().map((p) => p[1])),
      n: all.length,
    };
  } finally {
    rmSync(script, { force: true });
  }
}

/** Median wall time in ms of an nft command run in the worker's namespace (process start included). */
async function nftMs(ns: string, args: string[], reps: number): Promise<number> {
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await mustRun(['nsenter', `--net=${NETNS_DIR}/${ns}`, 'nft', ...args]);
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

/** One `nft add element` (and its delete, untimed) on kube-proxy's cluster-ips set: the floor of any update. */
async function addElementMs(ns: string, reps: number): Promise<number> {
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const ip = `10.111.${i}.1`;
    const t0 = performance.now();
    await mustRun([
      'nsenter',
      `--net=${NETNS_DIR}/${ns}`,
      'nft',
      'add',
      'element',
      'ip',
      TABLE,
      'cluster-ips',
      `{ ${ip} }`,
    ]);
    ts.push(performance.now() - t0);
    await mustRun([
      'nsenter',
      `--net=${NETNS_DIR}/${ns}`,
      'nft',
      'delete',
      'element',
      'ip',
      TABLE,
      'cluster-ips',
      `{ ${ip} }`,
    ]);
  }
  return median(ts);
}

export async function runServices(count: number): Promise<ServicesRun> {
  const t = new Topology(`benchsvc_${randomBytes(3).toString('hex')}`, 'bench:services');
  t.switch('s1', { subnet: '192.168.0.0/24' });
  // servers that answer without starting a process per connection (socat's fork + sh would be
  // most of what is timed)
  const srv = (n: string) =>
    `${process.execPath} -e "require('net').createServer((s) => s.end('${n}\\n')).listen(8000)"`;
  t.cluster('C0', {
    underlay: 's1',
    workers: 1,
    etcd: 1,
    dns: false,
    pods: {
      e1: { worker: 'w1', command: srv('e1') },
      e2: { worker: 'w1', command: srv('e2') },
      client: { worker: 'w1' },
    },
  });
  const sim = await Simulation.up(validate(t.toSpec(), t.source, { simName: t.name }));
  try {
    const C0 = sim.objects.get('C0') as Cluster;
    const w1 = sim.node('C0w1') as WorkerNode;
    const client = sim.node('client') as PodNode;
    const e1 = (sim.node('e1') as PodNode).ip!;
    const e2 = (sim.node('e2') as PodNode).ip!;
    const objects = (k: number) => {
      const ip = formatIp(C0.serviceCidr.net + 256 + k);
      const name = `s${k}`;
      const spec = {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: 'default', uid: name, creationTimestamp: '' },
        spec: {
          type: 'ClusterIP',
          clusterIP: ip,
          ports: [{ protocol: 'TCP', port: 80, targetPort: 8000 }],
          sessionAffinity: 'None',
        },
      } as ServiceObject;
      const eps = {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name, namespace: 'default' },
        subsets: [{ addresses: [{ ip: e1 }, { ip: e2 }], ports: [{ port: 8000, protocol: 'TCP' }] }],
      } as EndpointsObject;
      return { ip, name, spec, eps };
    };
    // services written straight into etcd (what `addService` writes, without its per-call checks)
    const write = async (from: number, to: number) => {
      const etcd = C0.etcd;
      for (let i = from; i < to; i += 40) {
        const ops = [];
        for (let k = i; k < Math.min(i + 40, to); k++) {
          const { ip, name, spec, eps } = objects(k);
          ops.push(
            etcd.put(`${SPECS_PREFIX}default/${name}`).value(JSON.stringify(spec)),
            etcd.put(`${ENDPOINTS_PREFIX}default/${name}`).value(JSON.stringify(eps)),
            etcd.put(`${SERVICE_IPAM_PREFIX}${ip}`).value(`default/${name}`),
          );
        }
        await etcd
          .if(SPECS_PREFIX, 'Version', '>', -1)
          .then(...ops)
          .commit();
      }
    };
    const vip0 = formatIp(C0.serviceCidr.net + 256);
    // the endpoints controller would empty endpoints of services without a selector: stop it
    // (its watch cancel is asynchronous: give it time to end before the first write)
    (C0 as unknown as { controller?: { close(): void } }).controller?.close();
    await sleep(1000);
    await write(0, 10);
    // the agent idle again before anything is timed
    await sleep(3000);
    const connect10 = await connectMs(client, vip0, `${e1}:8000`, CONNECTS, ROUNDS);
    const addElementMs10 = await addElementMs(w1.ns, 7);
    await write(10, count);
    const [cidrAddr, cidrLen] = C0.config.podCidr.split('/');
    // the layout the agent chooses for that many services (one table, or K shard tables)
    const shards = nextLayout(0, count, shardingFromEnv());
    const ctx = { clusterCidr: { addr: cidrAddr, len: Number(cidrLen) }, shards };
    // the nft tool's full sync: the agent's transaction for the same services (rendered the way
    // the agent renders them, in its layout), loaded by `nft -j -f`; it replaces the tables by equal ones
    const frags = [];
    for (let k = 0; k < count; k++) {
      const { spec, eps } = objects(k);
      frags.push(renderService(spec, eps, ctx));
    }
    const file = join(sim.dir, 'bench-full-sync.json');
    writeFileSync(file, JSON.stringify({ nftables: fullSync(frags, 4, shards) }));
    // full syncs, interleaved with the floor: a restarted agent loads the whole table in one transaction
    const fullSyncMs: number[] = [];
    const fullSyncEncodeMs: number[] = [];
    const fullSyncKernelMs: number[] = [];
    const fullSyncFloorMs: number[] = [];
    const agentRssMiB: number[] = [];
    let via = '';
    let layout = '';
    for (let r = 0; r < FULL_SYNCS; r++) {
      await w1.stopAgent();
      const offset = readFileSync(w1.agentLog, 'utf8').length;
      await w1.startAgentAndWait();
      let full: string[] = [];
      for (let i = 0; i < 600 && full.length === 0; i++) {
        await sleep(100);
        full = logLines(w1, /kube-proxy: full sync/, offset);
      }
      const m = /in (\d+) ms \(render and encode (\d+) ms, kernel (\d+) ms via (\w+)\)/.exec(full[0] ?? '');
      if (!m) throw new Error(`no full sync line in the agent log:\n${w1.agentTail()}`);
      fullSyncMs.push(Number(m[1]));
      fullSyncEncodeMs.push(Number(m[2]));
      fullSyncKernelMs.push(Number(m[3]));
      via = m[4];
      layout = /full sync of \d+ services \(([^)]+)\)/.exec(full[0])?.[1] ?? '';
      await sleep(1000);
      agentRssMiB.push(rssMiB(w1.agentPid));
      fullSyncFloorMs.push(await nftMs(w1.ns, ['-j', '-f', file], 1));
      await sleep(1000);
    }
    rmSync(file, { force: true });
    await sleep(2000);
    const connectN = await connectMs(client, vip0, `${e1}:8000`, CONNECTS, ROUNDS);
    // one-service updates (a new service each time), interleaved with the nft tool doing the
    // same: `nft -j -f` of a new service's transaction (what the agent sent before it had the
    // netlink writer), and one `nft add element`
    const updateMs: number[] = [];
    const updateKernelMs: number[] = [];
    const nftUpdateMs: number[] = [];
    const addElementMsN: number[] = [];
    for (let k = 0; k < UPDATES; k++) {
      const off = readFileSync(w1.agentLog, 'utf8').length;
      await write(count + k, count + k + 1);
      let lines: string[] = [];
      for (let i = 0; i < 100 && lines.length === 0; i++) {
        await sleep(50);
        lines = logLines(w1, /kube-proxy: updated/, off);
      }
      const u = /in ([\d.]+) ms via (\w+) \(kernel ([\d.]+) ms\)/.exec(lines[0] ?? '');
      if (!u) throw new Error(`no update line in the agent log:\n${w1.agentTail()}`);
      updateMs.push(Number(u[1]));
      updateKernelMs.push(Number(u[3]));
      const { spec, eps } = objects(count + 100 + k);
      spec.metadata.name = `floor${k}`;
      const frag = renderService(spec, eps, ctx);
      const f = join(sim.dir, `bench-update-${k}.json`);
      writeFileSync(f, JSON.stringify({ nftables: diffFragments(undefined, frag) }));
      nftUpdateMs.push(await nftMs(w1.ns, ['-j', '-f', f], 1));
      writeFileSync(f, JSON.stringify({ nftables: diffFragments(frag, undefined) }));
      await nftMs(w1.ns, ['-j', '-f', f], 1);
      rmSync(f, { force: true });
      addElementMsN.push(await addElementMs(w1.ns, 1));
    }
    const agentRssAfterUpdatesMiB = rssMiB(w1.agentPid);
    return {
      services: count,
      via,
      layout,
      fullSyncMs,
      fullSyncEncodeMs,
      fullSyncKernelMs,
      fullSyncFloorMs,
      agentRssMiB,
      agentRssAfterUpdatesMiB,
      updateMs,
      updateKernelMs,
      nftUpdateMs,
      addElementMs10,
      addElementMsN,
      connect10,
      connectN,
    };
  } finally {
    await sim.down();
  }
}

/** The suite's part of bench/results/services.md. */
export function servicesReport(runs: ServicesRun[]): string[] {
  const lines = ['', '## Services: kube-proxy nftables mode on one worker', ''];
  const f = (x: number, d = 1) => x.toFixed(d);
  const ms = (xs: number[], d = 0) => `${f(median(xs), d)} ±${f(spreadPercent(xs), 0)}%`;
  lines.push(
    '| services | writer, tables | full sync ms (render and encode / kernel) | nft -j -f alone ms | full sync / nft floor | one-service update ms (kernel) | nft -j -f of one service ms | update / that floor | nft add element ms, 10 / N services | update / add element |',
  );
  lines.push('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of runs) {
    const upd = median(r.updateMs);
    const full = median(r.fullSyncMs);
    lines.push(
      `| ${r.services} | ${r.via}, ${r.layout} | ${ms(r.fullSyncMs)} (${ms(r.fullSyncEncodeMs)} / ${ms(r.fullSyncKernelMs)}) | ${ms(r.fullSyncFloorMs)} | ${f(full / median(r.fullSyncFloorMs), 2)} | ${ms(r.updateMs, 1)} (${ms(r.updateKernelMs, 1)}) | ${ms(r.nftUpdateMs, 1)} | ${f(upd / median(r.nftUpdateMs), 2)} | ${f(r.addElementMs10)} / ${ms(r.addElementMsN, 1)} | ${f(upd / median(r.addElementMsN), 2)} |`,
    );
  }
  lines.push('');
  lines.push('| services | agent RSS MiB 1 s after each full sync | after the updates |');
  lines.push('|---:|---|---:|');
  for (const r of runs)
    lines.push(
      `| ${r.services} | ${r.agentRssMiB.map((x) => f(x)).join(' / ')} | ${f(r.agentRssAfterUpdatesMiB)} |`,
    );
  lines.push('');
  lines.push(
    '| services | first connection ms, 10 services: median (p90) | same, N services | ratio of medians | round medians, 10 / N services | connect alone, 10 / N | endpoint direct (no DNAT), 10 / N |',
  );
  lines.push('|---:|---:|---:|---:|---|---:|---:|');
  const rounds = (xs: number[]) => xs.map((x) => f(x, 2)).join(' ');
  for (const r of runs)
    lines.push(
      `| ${r.services} | ${f(r.connect10.medianMs, 3)} (${f(r.connect10.p90Ms, 3)}) | ${f(r.connectN.medianMs, 3)} (${f(r.connectN.p90Ms, 3)}) | ${f(r.connectN.medianMs / r.connect10.medianMs, 2)} | ${rounds(r.connect10.roundMediansMs)} / ${rounds(r.connectN.roundMediansMs)} | ${f(r.connect10.connectMedianMs, 3)} / ${f(r.connectN.connectMedianMs, 3)} | ${f(r.connect10.directMedianMs, 3)} / ${f(r.connectN.directMedianMs, 3)} |`,
    );
  lines.push(
    '',
    `Targets: full sync ≤ 2 s, one-service update ≤ 50 ms, first connection with 10,000 services within 10% of 10. Medians, ±: (max − min) / median. Full sync = a restarted agent reading every service from etcd, rendering and encoding them one by one into one nf_tables batch, and the kernel loading it in one transaction (${FULL_SYNCS} restarts; the kernel part is from the batch handed to the writer to the kernel's answer); update = one new service, from the watch event to the kernel's answer (${UPDATES} services); the agent writes both as nf_tables netlink batches through its long-lived writer (a Python process holding one netlink socket, fed by the agent: src/features/k8s/agent/proxy-writer.ts). First connection = 5 rounds of 300 fresh TCP connections (after 50 of warm-up; connect + the one line the server sends; the servers are Node processes, no process start per connection) from a pod to a ClusterIP, one after another from one Node process in the pod, each round followed by 300 to an endpoint's own address for comparison, each timed with process.hrtime (each is a new conntrack entry, so its first packet goes through the nat chains); measured 2 s after the agent was last busy. Medians over all 1,500; the round medians show the noise (2 cores shared with other work).`,
    '',
    "The nft tool's floor, measured in the same run and the same worker namespace (`nsenter --net`, process start included), each right after the agent's figure it belongs to: `nft -j -f` of the agent's full-sync transaction (the same services rendered the same way) after each restart; `nft -j -f` of a new service's transaction (what the agent sent before it had the writer) and one `nft add element ip kube-proxy cluster-ips { x }` after each update. nftables 1.0.6 (Debian 12) dumps every chain of the namespace into its cache before each invocation (no cache reuse, even within one nft_ctx): with 30,000 chains that dump is most of any update made with the tool. What is left for the writer is the kernel's own work: a transaction that adds a jump or a goto (a new service has both) makes the kernel walk every chain reachable from the touched table's base chains to check for loops (~60 ms with 10,000 services in one table); above 2,000 services the agent spreads the services over K shard tables (`kube-proxy-shard-<i>`, K ≈ services / 500 to a power of two: 16 at 10,000), so an update walks one shard (src/features/k8s/agent/proxy-tables.ts).",
  );
  return lines;
}
