import { parseIp } from '../../../util/ipv4.js';
import { CLUSTERS, Cluster, VIRTUAL_NODE_PREFIX } from '../../k8s/cluster.js';
import { podObject } from '../../k8s/cluster-pods.js';
import type { PodNode } from '../../k8s/pod.js';
import type { PodObject } from '../../k8s/registry.js';
import { type Peering, peer, peeringName, peeringsOf, unpeer, viewOf } from './peering.js';

declare module '../../k8s/cluster.js' {
  interface Cluster {
    /** Peers with another cluster: gateways, a VXLAN tunnel, remapped pod CIDRs (`C0.peer('C1')`). */
    peer(other: Cluster | string, opts?: { remap?: [string, string] }): Promise<Peering>;
    unpeer(other: Cluster | string): Promise<void>;
    /** This cluster's peerings. */
    peerings(): Peering[];
    /** Where this cluster sees a pod of a peered cluster: `C0.remoteIp('C1', 'b1')` (pod name or IP). */
    remoteIp(other: Cluster | string, pod: string): string;
  }
}

/** The label Liqo puts on a pod it runs for another cluster. */
const ORIGIN_LABEL = 'liqo.io/origin-cluster';

function clusterNamed(self: Cluster, other: Cluster | string): Cluster {
  if (typeof other !== 'string') return other;
  const c = self.sim.objects.get(CLUSTERS, other);
  if (!c) throw new Error(`no cluster "${other}"`);
  return c;
}

/**
 * Liqo-style offloading: runs the pod in `remoteName` (peering first if needed) on its last
 * worker and reflects it here as a pod of the virtual node virtual-<remote> with its remapped
 * IP, so this cluster's services select it and kube-proxy sends their traffic through the tunnel.
 */
async function offloadPod(
  self: Cluster,
  remoteName: string,
  name: string,
  opts: { labels?: Record<string, string>; command?: string },
): Promise<PodNode> {
  const remote = clusterNamed(self, remoteName);
  if (!peeringsOf(self.sim).has(peeringName(self.name, remote.name))) await peer(self, remote);
  const workers = remote.config.workers;
  const pod = await remote.addPod(workers[workers.length - 1], name, {
    ...opts,
    labels: { ...opts.labels, [ORIGIN_LABEL]: self.name },
  });
  const shadow: PodObject = {
    ...podObject(name, `${VIRTUAL_NODE_PREFIX}${remote.name}`, opts),
    status: {
      phase: 'Running',
      podIP: viewOf(self.sim, self.name, remote.name, pod.ip!),
      hostIP: remote.name,
      netns: pod.ns,
    },
  };
  await self.reflectPod({
    object: shadow,
    cluster: remote.name,
    remoteIp: pod.ip!,
    remove: () => remote.deletePod(name),
  });
  return pod;
}

/** Adds the Liqo verbs and virtual nodes to every Cluster (idempotent). */
export function installLiqoMethods(): void {
  const methods: Pick<Cluster, 'peer' | 'unpeer' | 'peerings' | 'remoteIp' | 'offloadPod'> &
    ThisType<Cluster> = {
    peer(other, opts = {}) {
      return peer(this, clusterNamed(this, other), opts);
    },
    unpeer(other) {
      return unpeer(this, clusterNamed(this, other));
    },
    peerings() {
      return [...peeringsOf(this.sim).values()].filter((p) => p.sides.some((s) => s.cluster === this.name));
    },
    remoteIp(other, pod) {
      const c = clusterNamed(this, other);
      const ip = parseIp(pod) !== undefined ? pod : c.pod(pod).ip!;
      return viewOf(this.sim, this.name, c.name, ip);
    },
    offloadPod(remote, name, opts) {
      return offloadPod(this, remote, name, opts);
    },
  };
  // non-enumerable, like class methods: the REPL's completion and inspection see the same object
  for (const [name, fn] of Object.entries(methods))
    Object.defineProperty(Cluster.prototype, name, { value: fn, writable: true, configurable: true });
}
