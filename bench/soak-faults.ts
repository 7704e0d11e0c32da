// The chaos soak's fault injectors: one per kind, each does the fault, holds it, undoes it and
// returns when what it undid is back (a restarted agent has resynced, an etcd member is
// healthy, a re-created pod has its address). Processes are killed by the PID their live
// object recorded (the agent, the etcd member, the FRR daemon, the site router), never by name.
import type { RouterNode } from '../src/features/frr/node.js';
import type { Cluster } from '../src/features/k8s/cluster.js';
import type { EtcdNode } from '../src/features/k8s/etcd.js';
import type { WorkerNode } from '../src/features/k8s/worker.js';
import '../src/features/multicluster/liqo/cluster-methods.js';
import '../src/features/multicluster/skupper/cluster-methods.js';
import type { Simulation } from '../src/runtime/simulation.js';
import { sleep, waitFor } from '../src/util/wait.js';
import type { Fault, FaultKind } from './soak-schedule.js';

export interface SoakWorld {
  sim: Simulation;
  clusters: Cluster[];
  router: RouterNode;
  /** called after the peering is added again (its remapped addresses may have moved) */
  onPeered?: () => Promise<void>;
}

export interface FaultRun {
  fault: Fault;
  /** ms since the epoch */
  startedAt: number;
  /** when the injector had undone the fault and seen it back */
  healedAt: number;
  error?: string;
}

/** What each kind can hit in this world (the schedule picks among them). */
export function faultTargets(w: SoakWorld): Record<FaultKind, string[]> {
  const [c0, c1] = w.clusters;
  return {
    link: underlayLinks(w),
    flannel: w.clusters.flatMap((c) => c.workers.map((x) => x.name)),
    etcd: w.clusters.flatMap((c) => c.etcdMembers.map((e) => e.name)),
    frr: w.router.frr?.runIds.map((d) => `${w.router.name}:${d}`) ?? [],
    // the HTTP servers: c1 is the endpoint of both HTTP flows, c5 serves nobody's traffic
    pod: [`${c0.name}/c1`, `${c1.name}/c5`],
    router: w.clusters.map((c) => c.name),
    peering: [`${c0.name}-${c1.name}`],
  };
}

/** The router's links to switches: "r1:lan1". */
function underlayLinks(w: SoakWorld): string[] {
  return w.sim.model.links
    .filter((l) => l.ends.some((e) => e.node === w.router.name))
    .map((l) => l.ends.map((e) => e.node).join(':'));
}

function cluster(w: SoakWorld, name: string): Cluster {
  const c = w.clusters.find((x) => x.name === name);
  if (!c) throw new Error(`no cluster ${name}`);
  return c;
}

async function inject(w: SoakWorld, f: Fault): Promise<void> {
  const { sim } = w;
  switch (f.kind) {
    case 'link': {
      const [a, b] = f.target.split(':');
      await sim.setLink(a, b, 'down');
      await sleep(f.holdMs);
      await sim.setLink(a, b, 'up');
      return;
    }
    case 'flannel': {
      const worker = sim.node(f.target) as WorkerNode;
      await worker.killAgent();
      await sleep(f.holdMs);
      await worker.startAgentAndWait();
      return;
    }
    case 'etcd': {
      const member = sim.node(f.target) as EtcdNode;
      const c = cluster(w, member.clusterName);
      await member.kill();
      await sleep(f.holdMs);
      member.start();
      await c.waitHealthy(30000);
      await waitFor(() => member.health(), { timeoutMs: 30000, what: `${member.name} to be healthy` });
      return;
    }
    case 'frr': {
      const [, daemon] = f.target.split(':');
      await w.router.killDaemon(daemon);
      await sleep(f.holdMs);
      // zebra's death may take the daemons that talk to it along: start whatever is not running
      await w.router.startDaemons();
      return;
    }
    case 'pod': {
      const [cname, pod] = f.target.split('/');
      const c = cluster(w, cname);
      const obj = (await c.pods()).find((p) => p.metadata.name === pod);
      if (!obj) throw new Error(`${cname} has no pod ${pod} to delete`);
      await c.deletePod(pod);
      await sleep(f.holdMs);
      await c.addPod(obj.spec.nodeName, pod, {
        labels: obj.metadata.labels,
        command: obj.spec.command,
        ports: obj.spec.ports,
      });
      return;
    }
    case 'router': {
      const site = await cluster(w, f.target).skupperSite();
      const before = site.restarts;
      site.killRouter();
      // nothing undoes it but the site itself, which starts the router again
      await waitFor(() => site.restarts > before, {
        timeoutMs: 30000,
        what: `${f.target}'s site router to be started again`,
      });
      await site.waitLink(undefined, 30000);
      return;
    }
    case 'peering': {
      const [a, b] = f.target.split('-');
      await cluster(w, a).unpeer(b);
      await sleep(f.holdMs);
      await cluster(w, a).peer(b);
      await w.onPeered?.();
      return;
    }
  }
}

/** Runs one fault (its errors are kept in the result: the soak goes on). */
export async function runFault(w: SoakWorld, f: Fault): Promise<FaultRun> {
  const startedAt = Date.now();
  try {
    await inject(w, f);
    return { fault: f, startedAt, healedAt: Date.now() };
  } catch (err) {
    return { fault: f, startedAt, healedAt: Date.now(), error: (err as Error).message };
  }
}
