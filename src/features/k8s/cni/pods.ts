// Pods wired the way kubelet wires them: their namespaces made as one plan fragment, then a
// CNI ADD per pod through the worker's CNI runtime (several at once, a bounded pool), the
// address host-local handed out recorded in the pod object that goes to etcd. Removing them
// runs DEL (releasing the address, removing the veth) before their namespaces go.
import { Plan } from '../../../plan/plan.js';
import { ObjectKey } from '../../../runtime/objects.js';
import { parseCidr } from '../../../util/ipv4.js';
import { parseCidr6 } from '../../../util/ipv6.js';
import { Limiter } from '../../../util/limit.js';
import type { ClusterCore } from '../cluster-core.js';
import { type PodNode, podSysctls6 } from '../pod.js';
import { createPodObjects, duplicate, PODS_PREFIX, podKeyOf } from '../registry.js';
import { podBandwidth } from './bandwidth.js';
import { type AddResult, type CniPod, WorkerCni } from './runtime.js';

/**
 * How many batches of CNI calls run side by side in a simulation, whichever workers they are
 * for. A batch starts its calls from a few shells (kernel.cniMany: as many as there are
 * cores, doubled), so one batch at a time already keeps both cores busy; more only made Go
 * processes compete (8 calls per worker with workers starting 8 at a time made up to 64).
 */
export const CNI_BATCHES = 1;
const CNI_SLOTS = new ObjectKey<Limiter>('k8s-cni-slots');

function slots(c: ClusterCore): Limiter {
  return c.sim.objects.state(CNI_SLOTS, () => new Limiter(CNI_BATCHES));
}

export function cniPod(p: PodNode): CniPod {
  const bandwidth = podBandwidth(p.object.metadata.annotations);
  const hostPorts = (p.object.spec.ports ?? []).flatMap((x) =>
    x.hostPort
      ? [
          {
            hostPort: x.hostPort,
            containerPort: x.containerPort,
            protocol: (x.protocol ?? 'TCP').toLowerCase() as 'tcp' | 'udp',
          },
        ]
      : [],
  );
  return {
    name: p.object.metadata.name,
    namespace: p.object.metadata.namespace,
    uid: p.object.metadata.uid,
    netns: p.ns,
    ...(hostPorts.length ? { hostPorts } : {}),
    ...(bandwidth ? { bandwidth } : {}),
  };
}

/**
 * Makes the pods' namespaces, runs ADD for each (pushing every pod into `made` before its
 * ADD, so that the caller's cleanup runs DEL for it if anything fails), then registers the
 * objects, with their addresses, in etcd.
 */
export async function createCniPods(c: ClusterCore, pods: PodNode[], made: PodNode[]): Promise<void> {
  const existing = new Set(await c.etcd.getAll().prefix(PODS_PREFIX).keys());
  for (const p of pods)
    if (existing.has(podKeyOf(p.object)))
      throw await duplicate(c.etcd, p.object.metadata.namespace, p.object.metadata.name);
  const plan = new Plan(c.sim.features);
  for (const p of pods) {
    plan.namespaces.push(p.ns);
    plan.hostnames.set(p.ns, p.object.metadata.name);
    const script = plan.script(p.ns);
    script.ip.push('link set lo up');
    // dual stack: eth0 (made by bridge in this namespace) takes these defaults, so its IPv6
    // address is usable at once and bridge has no duplicate address detection to wait for
    if (c.config.podCidr6) Object.assign(script.sysctls, podSysctls6());
  }
  made.push(...pods);
  for (const p of pods) p.cni = true;
  await c.sim.apply(plan);
  const workers = new Map(c.workers.map((w) => [w.name, w]));
  const added = await slots(c).run(() =>
    WorkerCni.addMany(
      c.sim.kernel,
      pods.map((p) => ({ cni: workers.get(p.worker)!.cni, pod: cniPod(p) })),
    ),
  );
  const failed = added.find((a): a is Error => a instanceof Error);
  if (failed) throw failed;
  pods.forEach((p, i) => {
    const a = added[i] as AddResult;
    const cidr = parseCidr(a.address);
    if (!cidr) throw new Error(`${p.name}: CNI result address "${a.address}" is not IPv4`);
    const iface = p.model.ifaces[0];
    iface.addr = { ip: cidr.ip, prefix: cidr.prefix };
    if (a.hostVeth && iface.peer) iface.peer = { ...iface.peer, name: a.hostVeth };
    p.object.status.podIP = a.address.split('/')[0];
    const cidr6 = a.address6 ? parseCidr6(a.address6) : undefined;
    if (cidr6) {
      iface.addr6 = { ip: cidr6.ip, prefix: cidr6.prefix };
      p.object.status.podIPs = [{ ip: p.object.status.podIP }, { ip: a.address6!.split('/')[0] }];
    }
  });
  await createPodObjects(
    c.etcd,
    pods.map((p) => p.object),
  );
}

/** DEL for each pod wired by CNI (idempotent: a pod whose ADD failed half-way is cleaned too). */
export async function deleteCniPods(c: ClusterCore, pods: PodNode[]): Promise<void> {
  const workers = new Map(c.workers.map((w) => [w.name, w]));
  const wired = pods.filter((p) => p.cni && workers.has(p.worker));
  const outcomes = await slots(c).run(() =>
    WorkerCni.invokeMany(
      c.sim.kernel,
      'DEL',
      wired.map((p) => ({ cni: workers.get(p.worker)!.cni, pod: cniPod(p) })),
    ),
  );
  const failed = outcomes.find((o): o is Error => o instanceof Error);
  if (failed) throw failed;
}
