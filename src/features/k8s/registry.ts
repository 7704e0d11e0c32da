// The cluster's truth about pods, kept in its etcd like Kubernetes' /registry keyspace:
// pod objects at /registry/pods/<namespace>/<name>, and the IPAM of each worker subnet at
// /registry/ipam/<subnet>/<ip> (an address is taken exactly while its key exists).
import type { Etcd3 } from 'etcd3';
import { type Cidr, formatIp, hostRange, parseIp } from '../../util/ipv4.js';

/** where pods go when no namespace is given */
export const POD_NAMESPACE = 'default';
/** every namespace's pods */
export const PODS_PREFIX = '/registry/pods/';
export const IPAM_PREFIX = '/registry/ipam/';

export interface PodObject {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    labels: Record<string, string>;
    /** kubernetes.io/ingress-bandwidth and egress-bandwidth go to the bandwidth plugin */
    annotations?: Record<string, string>;
    creationTimestamp: string;
  };
  spec: {
    nodeName: string;
    command?: string;
    ports?: { containerPort: number; hostPort?: number; protocol?: 'TCP' | 'UDP' }[];
  };
  status: {
    phase: 'Pending' | 'Running' | 'Failed';
    podIP: string;
    /** every address of the pod, IPv4 first (Kubernetes' podIPs): a dual-stack pod has two */
    podIPs?: { ip: string }[];
    hostIP?: string;
    /** the pod's network namespace (netsim-<sim>-<worker>-<pod>) */
    netns: string;
    /** PID of the pod's command, when it has one */
    pid?: number;
  };
}

export function podKey(namespace: string, name: string): string {
  return `${PODS_PREFIX}${namespace}/${name}`;
}

/** The key of a pod object. */
export const podKeyOf = (p: { metadata: { namespace: string; name: string } }) =>
  podKey(p.metadata.namespace, p.metadata.name);

/**
 * The simulation's node name of a pod: its name in `default` (as always: `c1`), `<pod>.<ns>`
 * elsewhere (pod names have no dots, so the same name in two namespaces gives two nodes).
 */
export function podNodeName(name: string, namespace = POD_NAMESPACE): string {
  return namespace === POD_NAMESPACE ? name : `${name}.${namespace}`;
}

function subnetDir(subnet: Cidr): string {
  return `${IPAM_PREFIX}${formatIp(subnet.net)}-${subnet.prefix}/`;
}

export function ipamKey(subnet: Cidr, ip: number): string {
  return `${subnetDir(subnet)}${formatIp(ip)}`;
}

export async function listPods(etcd: Etcd3): Promise<PodObject[]> {
  const all = await etcd.getAll().prefix(PODS_PREFIX).strings();
  return Object.values(all).map((v) => JSON.parse(v) as PodObject);
}

export async function getPod(etcd: Etcd3, namespace: string, name: string): Promise<PodObject | undefined> {
  const v = await etcd.get(podKey(namespace, name)).string();
  return v ? (JSON.parse(v) as PodObject) : undefined;
}

/** Addresses of `subnet` taken now. */
export async function allocatedIps(etcd: Etcd3, subnet: Cidr): Promise<Set<number>> {
  const keys = await etcd.getAll().prefix(subnetDir(subnet)).keys();
  return new Set(keys.map((k) => parseIp(k.slice(k.lastIndexOf('/') + 1))).filter((x) => x !== undefined));
}

export class DuplicatePodError extends Error {}

/** The error for a pod name that is taken in its namespace. */
export async function duplicate(etcd: Etcd3, namespace: string, name: string): Promise<DuplicatePodError> {
  const other = await getPod(etcd, namespace, name);
  const ns = namespace === POD_NAMESPACE ? '' : ` in namespace ${namespace}`;
  return new DuplicatePodError(
    `a pod named "${name}" already exists${ns}${other ? ` (on ${other.spec.nodeName}, ${other.status.podIP})` : ''}`,
  );
}

/**
 * Registers pods (phase Pending) and takes one address each from `subnet`, lowest free first
 * (.1 is the bridge), in one transaction: it fails as a whole if any pod name exists or any
 * address was taken meanwhile (then it is retried with fresh addresses). Returns the
 * addresses by pod key (/registry/pods/<ns>/<name>).
 */
export async function registerPods(
  etcd: Etcd3,
  subnet: Cidr,
  pods: Omit<PodObject, 'status'>[],
  status: (pod: Omit<PodObject, 'status'>, ip: number) => PodObject['status'],
): Promise<Map<string, number>> {
  const { first, last } = hostRange(subnet);
  for (let attempt = 0; attempt < 20; attempt++) {
    const taken = await allocatedIps(etcd, subnet);
    const ips = new Map<string, number>();
    let next = first + 1; // first = .1: the gateway on cni0
    for (const p of pods) {
      while (next <= last && taken.has(next)) next++;
      if (next > last)
        throw new Error(
          `subnet ${formatIp(subnet.net)}/${subnet.prefix} of ${p.spec.nodeName} has no free address for pod ${p.metadata.name}`,
        );
      ips.set(podKeyOf(p), next++);
    }
    let txn = etcd.if(podKeyOf(pods[0]), 'Create', '==', 0);
    for (const p of pods.slice(1)) txn = txn.and(podKeyOf(p), 'Create', '==', 0);
    for (const ip of ips.values()) txn = txn.and(ipamKey(subnet, ip), 'Create', '==', 0);
    const puts = pods.flatMap((p) => {
      const ip = ips.get(podKeyOf(p))!;
      return [
        etcd.put(ipamKey(subnet, ip)).value(`${p.metadata.namespace}/${p.metadata.name}`),
        etcd.put(podKeyOf(p)).value(JSON.stringify({ ...p, status: status(p, ip) })),
      ];
    });
    const res = await txn.then(...puts).commit();
    if (res.succeeded) return ips;
    const existing = await etcd.getAll().prefix(PODS_PREFIX).keys();
    const dup = pods.find((p) => existing.includes(podKeyOf(p)));
    if (dup) throw await duplicate(etcd, dup.metadata.namespace, dup.metadata.name);
  }
  throw new Error('could not allocate pod addresses: too many concurrent changes');
}

/**
 * Registers pods whose addresses were handed out elsewhere (host-local, through CNI): one
 * transaction per chunk that fails as a whole if any of the names exists meanwhile.
 */
export async function createPodObjects(etcd: Etcd3, pods: PodObject[]): Promise<void> {
  for (let i = 0; i < pods.length; i += 100) {
    const chunk = pods.slice(i, i + 100);
    let txn = etcd.if(podKeyOf(chunk[0]), 'Create', '==', 0);
    for (const p of chunk.slice(1)) txn = txn.and(podKeyOf(p), 'Create', '==', 0);
    const puts = chunk.map((p) => etcd.put(podKeyOf(p)).value(JSON.stringify(p)));
    const res = await txn.then(...puts).commit();
    if (!res.succeeded)
      throw new DuplicatePodError('a pod of this batch was created meanwhile by someone else');
  }
}

export async function updatePods(etcd: Etcd3, pods: PodObject[]): Promise<void> {
  for (let i = 0; i < pods.length; i += 500) {
    const chunk = pods.slice(i, i + 500);
    const puts = chunk.map((p) => etcd.put(podKeyOf(p)).value(JSON.stringify(p)));
    await etcd
      .if(podKeyOf(chunk[0]), 'Create', '>', 0)
      .then(...puts)
      .commit();
  }
}

/** Removes a pod and frees its address, in one transaction. */
export async function unregisterPod(etcd: Etcd3, pod: PodObject, subnet: Cidr | undefined): Promise<void> {
  const ip = parseIp(pod.status.podIP);
  const ops = [etcd.delete().key(podKeyOf(pod))];
  if (subnet && ip !== undefined) ops.push(etcd.delete().key(ipamKey(subnet, ip)));
  await etcd
    .if(podKeyOf(pod), 'Create', '>', 0)
    .then(...ops)
    .commit();
}
