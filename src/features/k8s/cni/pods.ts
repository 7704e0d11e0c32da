// Pods wired the way kubelet wires them: their namespaces made as one plan fragment, then a
// CNI ADD per pod through the worker's CNI runtime (several at once, a bounded pool), the
// address host-local handed out recorded in the pod object that goes to etcd. Removing them
// runs DEL (releasing the address, removing the veth) before their namespaces go.
import { Plan } from '../../../plan/plan.js';
import { ObjectKey } from '../../../runtime/objects.js';
import { parseCidr } from '../../../util/ipv4.js';
import { Limiter } from '../../../util/limit.js';
import type { ClusterCore } from '../cluster-core.js';
import type { PodNode } from '../pod.js';
import { createPodObjects, duplicate, PODS_PREFIX, podKeyOf } from '../registry.js';
import { podBandwidth } from './bandwidth.js';
import type { CniPod } from './runtime.js';

/**
 * How many CNI calls run side by side in a simulation, whichever workers they are for (each is
 * a plugin process, itself execing host-local; workers start eight at a time, and eight calls
 * per worker made up to 64 Go processes on two cores). Measured on 4 workers × 100 pods,
 * interleaved: median up 8.9 s with 4 for the whole simulation against 10.9 s with 8 per batch.
 */
export const CNI_CONCURRENCY = 4;
const CNI_SLOTS = new ObjectKey<Limiter>('k8s-cni-slots');

function slots(c: ClusterCore): Limiter {
  return c.sim.objects.state(CNI_SLOTS, () => new Limiter(CNI_CONCURRENCY));
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
    plan.script(p.ns).ip.push('link set lo up');
  }
  made.push(...pods);
  for (const p of pods) p.cni = true;
  await c.sim.apply(plan);
  const workers = new Map(c.workers.map((w) => [w.name, w]));
  await slots(c).each(pods, async (p) => {
    const worker = workers.get(p.worker)!;
    const added = await worker.cni.add(cniPod(p));
    const cidr = parseCidr(added.address);
    if (!cidr) throw new Error(`${p.name}: CNI result address "${added.address}" is not IPv4`);
    const iface = p.model.ifaces[0];
    iface.addr = { ip: cidr.ip, prefix: cidr.prefix };
    if (added.hostVeth && iface.peer) iface.peer = { ...iface.peer, name: added.hostVeth };
    p.object.status.podIP = added.address.split('/')[0];
  });
  await createPodObjects(
    c.etcd,
    pods.map((p) => p.object),
  );
}

/** DEL for each pod wired by CNI (idempotent: a pod whose ADD failed half-way is cleaned too). */
export async function deleteCniPods(c: ClusterCore, pods: PodNode[]): Promise<void> {
  const workers = new Map(c.workers.map((w) => [w.name, w]));
  await slots(c).each(
    pods.filter((p) => p.cni),
    async (p) => {
      await workers.get(p.worker)?.cni.del(cniPod(p));
    },
  );
}
