// Requests per second through the ingress controller (nginx in its pod, reached on a worker's
// NodePort 80, then to the service's ClusterIP) against straight to the ClusterIP, from the same
// client pod in the same run: `ab` (Debian's apache2-utils) with keep-alive off, rounds
// interleaved so load that drifts falls on both alike. nginx's CPU (master and workers, from
// /proc) is reported as a share of one core and of the whole machine's busy time while it served.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cluster } from '../src/features/k8s/cluster.js';
import { ingressControllerOf } from '../src/features/k8s/ingress/index.js';
import { Topology } from '../src/model/builder.js';
import { validate } from '../src/model/validate.js';
import { Simulation } from '../src/runtime/simulation.js';
import { failedRounds, median, numberIn, round } from './measure.js';

const HTTPD = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'lib', 'http-server.js');

export interface IngressRun {
  /** requests/s of each round */
  viaIngress: number[];
  direct: number[];
  failed: number;
  requests: number;
  concurrency: number;
  /** nginx's CPU while the ingress rounds ran: % of one core, % of the machine's busy time */
  nginxCorePercent: number;
  nginxBusyPercent: number;
  /** rounds that failed, with the reason (left out of the figures) */
  failures: string[];
}

/** utime + stime of a process and its children threads, in clock ticks. */
function cpuTicks(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** Busy and total ticks of the whole machine (/proc/stat's cpu line). */
function machineTicks(): { busy: number; total: number } {
  const v = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - v[3] - (v[4] ?? 0), total };
}

function nginxPids(master: number): number[] {
  const kids = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/);
  return [master, ...kids.filter(Boolean).map(Number)];
}

export async function runIngressBench(requests = 4000, concurrency = 8, rounds = 3): Promise<IngressRun> {
  const t = new Topology('benching', 'bench');
  t.switch('s1', { subnet: '192.168.77.0/24' });
  t.cluster('C0', { underlay: 's1', workers: 2, etcd: 1, ingress: true });
  const sim = await Simulation.up(validate(t.toSpec(), t.source, { simName: 'benching' }));
  try {
    const C0 = sim.objects.get('C0') as Cluster;
    await C0.apply(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, command: [node, ${HTTPD}, hello, '8000'], ports: [{name: http, containerPort: 8000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: http}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec: {nodeName: C0w2, containers: [{name: c, command: [sleep, infinity]}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules: [{host: bench.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
`);
    await C0.ingressSettled();
    const client = C0.pod('client');
    const vip = (await C0.services()).find((s) => s.name === 'web')!.clusterIP;
    const worker = C0.workers[1].ip;
    const master = Number(readFileSync(join(ingressControllerOf(sim, 'C0')!.dir, 'nginx.pid'), 'utf8'));
    const ab = async (url: string, host?: string) => {
      const h = host ? `-H 'Host: ${host}' ` : '';
      const out = await client.cmd(`ab -q -n ${requests} -c ${concurrency} ${h}${url} 2>&1`);
      const what = `ab ${h}${url}`;
      const rps = numberIn(out, /Requests per second:\s+([\d.]+)/, what);
      // absent from the report: ab did not get as far as counting (all failed) / none
      const failed = /Failed requests:/.test(out)
        ? numberIn(out, /Failed requests:\s+(\d+)/, what)
        : requests;
      const non2xx = /Non-2xx responses:/.test(out) ? numberIn(out, /Non-2xx responses:\s+(\d+)/, what) : 0;
      return { rps, failed: failed + non2xx };
    };
    await ab(`http://${worker}/`, 'bench.example');
    await ab(`http://${vip}/`);
    const run: IngressRun = {
      viaIngress: [],
      direct: [],
      failed: 0,
      requests,
      concurrency,
      nginxCorePercent: 0,
      nginxBusyPercent: 0,
      failures: [],
    };
    let nginxTicks = 0;
    let busy = 0;
    let wallMs = 0;
    for (let i = 0; i < rounds; i++) {
      const pids = nginxPids(master);
      const before = pids.reduce((a, p) => a + cpuTicks(p), 0);
      const m0 = machineTicks();
      const t0 = performance.now();
      const via = await round(
        `round ${i + 1} via the ingress`,
        () => ab(`http://${worker}/`, 'bench.example'),
        run.failures,
      );
      if (via) {
        wallMs += performance.now() - t0;
        busy += machineTicks().busy - m0.busy;
        nginxTicks += pids.reduce((a, p) => a + cpuTicks(p), 0) - before;
        run.viaIngress.push(via.rps);
        run.failed += via.failed;
      }
      const direct = await round(
        `round ${i + 1} straight to the ClusterIP`,
        () => ab(`http://${vip}/`),
        run.failures,
      );
      if (direct) {
        run.direct.push(direct.rps);
        run.failed += direct.failed;
      }
    }
    // clock ticks are 1/100 s on Linux
    run.nginxCorePercent = wallMs ? (nginxTicks * 10 * 100) / wallMs : 0;
    run.nginxBusyPercent = busy ? (nginxTicks / busy) * 100 : 0;
    return run;
  } finally {
    await sim.down();
  }
}

export function ingressReport(r: IngressRun): string[] {
  const via = r.viaIngress.length ? median(r.viaIngress) : Number.NaN;
  const direct = r.direct.length ? median(r.direct) : Number.NaN;
  const f = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
  return [
    '',
    '## Ingress: nginx in front of a ClusterIP',
    '',
    '| requests/s through the ingress (rounds) | straight to the ClusterIP (rounds) | ratio | nginx CPU, % of one core | nginx, % of the machine busy time | failed |',
    '|---:|---:|---:|---:|---:|---:|',
    `| ${via.toFixed(0)} (${f(r.viaIngress)}) | ${direct.toFixed(0)} (${f(r.direct)}) | ${(via / direct).toFixed(2)} | ${r.nginxCorePercent.toFixed(0)}% | ${r.nginxBusyPercent.toFixed(0)}% | ${r.failed} |`,
    '',
    `\`ab -n ${r.requests} -c ${r.concurrency}\` (no keep-alive) from one client pod on C0w2, the same run: through worker C0w2's NodePort 80 (kube-proxy DNATs to the nginx pod on C0w1 over VXLAN; nginx opens a new connection to the ClusterIP per request, kube-proxy picks one of 2 Node.js pods), against straight to the ClusterIP; rounds interleaved, medians. nginx: 1 worker process; its CPU from /proc (master + workers) while the ingress rounds ran.`,
    ...failedRounds(r.failures),
  ];
}
