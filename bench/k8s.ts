// Kubernetes pod networking: time from the start of up to every pod reachable (the default
// scenario, and 50 workers x 20 pods), memory of the agents and per pod, and pod-to-pod
// throughput across workers (VXLAN) against a raw veth between two namespaces, same run.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Cluster, clustersOf } from '../src/features/k8s/cluster.js';
import type { EtcdNode } from '../src/features/k8s/etcd.js';
import type { PodNode } from '../src/features/k8s/pod.js';
import type { WorkerNode } from '../src/features/k8s/worker.js';
import { Topology } from '../src/model/builder.js';
import { loadTopology, PROJECT_ROOT } from '../src/model/load.js';
import type { Model } from '../src/model/model.js';
import { validate } from '../src/model/validate.js';
import type { SimNode } from '../src/runtime/node.js';
import { pingFrom } from '../src/runtime/ping.js';
import { Simulation } from '../src/runtime/simulation.js';
import { iperf3Bps } from './measure.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const simName = (p: string) => `${p}_${randomBytes(3).toString('hex')}`;

function memAvailableKiB(): number {
  return Number(/MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
}

function rssKiB(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Proportional set size: shared pages split between the processes that map them, so sums add up. */
function pssKiB(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    return Number(/Pss:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function clusters(sim: Simulation): Cluster[] {
  return clustersOf(sim);
}

/** fping paces its probes 10 ms apart: with 999 targets one pass took 10 s, so the targets are split over parallel passes of this many. */
const PING_CHUNK = 100;

/** Every pod reachable: from the first pod of each cluster to all its other pods; repeated until none fails. */
async function allPodsReachable(sim: Simulation, deadlineMs: number): Promise<number> {
  let rounds = 0;
  for (;;) {
    rounds++;
    let failed = 0;
    for (const c of clusters(sim)) {
      const pods = c.localPods().map((p) => ({ name: p.name, ns: p.ns, ip: p.ip! }));
      const others = pods.slice(1);
      const chunks = Array.from({ length: Math.ceil(others.length / PING_CHUNK) }, (_, i) =>
        others.slice(i * PING_CHUNK, (i + 1) * PING_CHUNK),
      );
      const res = await Promise.all(chunks.map((d) => pingFrom(pods[0], d, { timeoutMs: 500, retries: 0 })));
      failed += res.flat().filter((r) => !r.ok).length;
    }
    if (failed === 0) return rounds;
    if (performance.now() > deadlineMs) throw new Error(`${failed} pods still unreachable`);
  }
}

export interface PodRun {
  name: string;
  pods: number;
  workers: number;
  up: number;
  reachable: number;
  agentRssMiB: number[];
  perPodKiB?: number;
  /** the build's phases (sim.timings), ms */
  phases: Record<string, number>;
}

async function measure(name: string, model: Model, perPod: boolean): Promise<PodRun> {
  const memBefore = memAvailableKiB();
  const selfBefore = process.memoryUsage().rss / 1024;
  const t0 = performance.now();
  const sim = await Simulation.up(model);
  try {
    const up = (performance.now() - t0) / 1000;
    const phases = Object.fromEntries(sim.timings.map((t) => [t.phase, Math.round(t.ms)]));
    await allPodsReachable(sim, performance.now() + 120000);
    const reachable = (performance.now() - t0) / 1000;
    const workers = [...sim.nodes.values()].filter((n) => n.kind === 'worker') as WorkerNode[];
    const pods = [...sim.nodes.values()].filter((n) => n.kind === 'pod');
    await sleep(1000); // agents settle after their first sync
    const agentRssMiB = workers.map((w) => rssKiB(w.agentPid) / 1024);
    let perPodKiB: number | undefined;
    if (perPod) {
      // kernel memory of a pod (namespace, veth pair, addresses, routes, neighbour entries):
      // what the host lost, minus what the processes hold (PSS, so shared pages count once),
      // shared out over the pods
      const etcdPids = [...sim.nodes.values()]
        .filter((n) => n.kind === 'etcd')
        .map((n) => (n as EtcdNode).pid);
      const procs =
        [...workers.map((w) => pssKiB(w.agentPid)), ...etcdPids.map(pssKiB)].reduce((a, b) => a + b, 0) +
        Math.max(0, process.memoryUsage().rss / 1024 - selfBefore);
      perPodKiB = Math.max(0, memBefore - memAvailableKiB() - procs) / pods.length;
    }
    return {
      name,
      pods: pods.length,
      workers: workers.length,
      up,
      reachable,
      agentRssMiB,
      perPodKiB,
      phases,
    };
  } finally {
    await sim.down();
  }
}

export async function runDefaultScenario(): Promise<PodRun> {
  const { model } = await loadTopology(join(PROJECT_ROOT, 'scenarios', 'default.ts'), {
    simName: simName('benchdef'),
  });
  return measure('default scenario (2 clusters × 3 workers, 8 pods)', model, false);
}

/** `cni`: through the CNI plugins (the default) or netsim's direct path (cni: false), for the comparison. */
export async function runManyPods(workers: number, podsPerWorker: number, cni: boolean): Promise<PodRun> {
  const t = new Topology(simName('benchpods'), 'bench:pods');
  t.switch('s1', { subnet: '192.168.0.0/22' });
  const pods: Record<string, { worker: string }> = {};
  for (let w = 1; w <= workers; w++)
    for (let p = 1; p <= podsPerWorker; p++) pods[`p${w}-${p}`] = { worker: `w${w}` };
  t.cluster('C0', {
    underlay: 's1',
    workers,
    etcd: 3,
    podCidr: '10.244.0.0/16',
    pods,
    cni,
  });
  const model = validate(t.toSpec(), t.source, { simName: t.name });
  return measure(
    `${workers} workers × ${podsPerWorker} pods ${cni ? 'through CNI (default)' : 'direct (cni: false)'}`,
    model,
    true,
  );
}

/** iperf3 for `seconds` from a to b; bits per second received. */
async function iperf(a: SimNode, b: SimNode, seconds: number): Promise<number> {
  const server = b.exec(`timeout ${seconds + 10} iperf3 -s -1 -p 5201`, { timeoutMs: (seconds + 15) * 1000 });
  await sleep(400);
  const res = await a.exec(`iperf3 -c ${b.ip} -p 5201 -t ${seconds} -J`, {
    timeoutMs: (seconds + 15) * 1000,
  });
  await server;
  return iperf3Bps(res.stdout, `iperf3 ${a.name} to ${b.name}`);
}

export interface ThroughputRun {
  podGbps: number;
  vethGbps: number;
}

/** Pod to pod across two workers (VXLAN over the underlay switch) vs two hosts on one veth. */
export async function runThroughput(seconds: number, cni = true): Promise<ThroughputRun> {
  const t = new Topology(simName('benchtp'), 'bench:throughput');
  t.switch('s1', { subnet: '192.168.0.0/24' });
  t.cluster('C0', {
    underlay: 's1',
    workers: 2,
    etcd: 1,
    pods: { a1: { worker: 'w1' }, b1: { worker: 'w2' } },
    cni,
  });
  t.host('v1');
  t.host('v2');
  t.link('v1', 'v2');
  const sim = await Simulation.up(validate(t.toSpec(), t.source, { simName: t.name }));
  try {
    const a1 = sim.node('a1') as PodNode;
    const b1 = sim.node('b1') as PodNode;
    // interleaved, twice each, best of two (the other core may be busy with anything)
    const pod: number[] = [];
    const veth: number[] = [];
    for (let i = 0; i < 2; i++) {
      pod.push(await iperf(a1, b1, seconds));
      veth.push(await iperf(sim.node('v1'), sim.node('v2'), seconds));
    }
    return { podGbps: Math.max(...pod) / 1e9, vethGbps: Math.max(...veth) / 1e9 };
  } finally {
    await sim.down();
  }
}
