// The `cluster` node as users write it, and its expansion into ordinary nodes and links:
// etcd members <C>e1.., workers <C>w1.., each linked to the underlay (switches or routers,
// round robin). Expansion happens before validation, so the rest of the engine sees one model.

import { arch } from 'node:os';
import { z } from 'zod';
import type { Path } from '../../model/errors.js';
import { commonNodeFields, network, network6 } from '../../model/spec.js';
import { formatCidr, formatIp } from '../../util/ipv4.js';
import { asn } from '../frr/spec.js';
import { bandwidthIssues, podBandwidth } from './cni/bandwidth.js';
import { familyIssues } from './dual-stack.js';
import { DEFAULT_PREFIX, type NetworkConfig, resolveConfig, subnetCount, subnetCount6 } from './flannel.js';
import { checkClusterServices } from './services/cluster-check.js';
import { DEFAULT_SERVICE_CIDR, DEFAULT_SERVICE_CIDR6 } from './services/objects.js';
import { type ServiceSpec, serviceSpecSchema } from './services/schema.js';

export const POD_NAME_RE = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
const POD_NAME_MSG =
  'pod names are lower-case letters, digits and -, at most 32 (Kubernetes DNS label style)';

export const podSpec = z.strictObject({
  /** the worker: "w1" (within the cluster) or its full name "C0w1" */
  worker: z.string(),
  labels: z.record(z.string(), z.string()).optional(),
  /** a long-running command started in the pod (e.g. a small HTTP server) */
  command: z.string().optional(),
  /** its container ports; a hostPort is published on the worker's address by portmap (not with cni: false) */
  ports: z
    .array(
      z.strictObject({
        containerPort: z.number().int().min(1).max(65535),
        hostPort: z.number().int().min(1).max(65535).optional(),
        protocol: z.enum(['TCP', 'UDP']).optional(),
      }),
    )
    .optional(),
  /** kubernetes.io/ingress-bandwidth / egress-bandwidth (bit/s, e.g. "5M") shape it with the bandwidth plugin */
  annotations: z.record(z.string(), z.string({ error: 'annotation values are strings' })).optional(),
});
export type PodSpec = z.infer<typeof podSpec>;

export const clusterFields = {
  ...commonNodeFields,
  kind: z.literal('cluster'),
  /** how many workers: <name>w1 .. <name>wN */
  workers: z.number().int().min(1).max(1000).optional(),
  /** how many etcd members: <name>e1 .. <name>eN */
  etcd: z.number().int().min(1).max(9).optional(),
  /** the pod network (flannel's Network) */
  podCidr: network.optional(),
  /** flannel's SubnetLen: the size of each worker's subnet */
  subnetLen: z.number().int().min(8).max(30).optional(),
  /**
   * the IPv6 pod network (flannel's IPv6Network, EnableIPv6): the cluster is dual-stack, pods
   * get an address of each family, flannel-v6.<VNI> carries IPv6 between workers
   */
  podCidr6: network6.optional(),
  /** flannel's IPv6SubnetLen: each worker's IPv6 subnet (default 64, as flannel) */
  subnetLen6: z.number().int().min(8).max(126).optional(),
  vni: z.number().int().min(1).max(16777215).optional(),
  /** flannel's etcd prefix (default /coreos.com/network) */
  prefix: z
    .string()
    .regex(/^(\/[A-Za-z0-9_.-]+)+$/, 'an etcd key prefix like /coreos.com/network')
    .optional(),
  /** the switch(es) or router(s) the workers and etcd members attach to, round robin */
  underlay: z.union([z.string(), z.array(z.string()).min(1)]),
  /** subnet lease TTL and renewal margin in seconds (flannel: 86400 and 3600) */
  leaseTtl: z.number().int().min(2).optional(),
  leaseRenewMargin: z.number().int().min(0).optional(),
  /** pods created as soon as their worker has its subnet */
  pods: z.record(z.string(), podSpec).optional(),
  /** where ClusterIPs come from (Kubernetes' --service-cluster-ip-range; default 10.96.0.0/12) */
  serviceCidr: network.optional(),
  /** the IPv6 service range of a dual-stack cluster (e.g. fd00:10:96::/112): Services may take both families */
  serviceCidr6: network6.optional(),
  /** services created with the cluster (endpoints follow the pods they select) */
  services: z.record(z.string(), serviceSpecSchema).optional(),
  /**
   * addresses of LoadBalancer services, on the workers' underlay subnet (a CIDR or first-last;
   * default: the top 8 host addresses of that subnet, see lb-pool.ts)
   */
  loadBalancerPool: z.string({ error: 'a CIDR or a range first-last' }).optional(),
  /** cluster DNS (default on): kube-dns at the 10th address of serviceCidr */
  dns: z.boolean().optional(),
  /**
   * The ingress controller (real nginx in pod ingress-nginx/ingress-nginx-controller, behind a
   * NodePort service on ports 80/443 of every worker): true starts it with the cluster, false
   * never (Ingress objects are then only stored); absent: started with the first Ingress object
   */
  ingress: z.boolean().optional(),
  /** Kubernetes manifest files or directories (relative to the topology), applied once the workers are ready */
  manifests: z.array(z.string({ error: 'a manifest file or directory' })).optional(),
  /**
   * Workers announce their pod subnet over BGP (FRR bgpd in each worker, like Calico's BGP
   * mode) to the routers of their underlay, which list the cluster among their neighbours.
   */
  bgp: z.strictObject({ asn }).optional(),
  /**
   * Pods wired by the reference CNI plugins (flannel's conflist: bridge + host-local, portmap,
   * bandwidth), as kubelet does (default); false: netsim's direct path (its own ip batch per
   * pod, faster, no hostPort and no bandwidth annotations)
   */
  cni: z.boolean().optional(),
  /**
   * Labels of each worker's Node, by worker ("w1" or "C0w1"), e.g. {w1: {zone: a}}: added to
   * kubernetes.io/hostname, kubernetes.io/os and kubernetes.io/arch; pods' nodeSelector matches them
   */
  workerLabels: z
    .record(z.string(), z.record(z.string(), z.string({ error: 'label values are strings (quote numbers)' })))
    .optional(),
};
export const clusterSchema = z.strictObject(clusterFields);
export type ClusterSpec = z.infer<typeof clusterSchema>;

/** The cluster's settings with every default applied (carried by each generated node). */
export interface ClusterConfig {
  name: string;
  workers: string[];
  etcd: string[];
  podCidr: string;
  subnetLen?: number;
  /** dual stack: the IPv6 pod network and subnet length as written */
  podCidr6?: string;
  subnetLen6?: number;
  vni: number;
  prefix: string;
  leaseTtl?: number;
  leaseRenewMargin?: number;
  pods: Record<string, PodSpec>;
  labels?: Record<string, string>;
  serviceCidr: string;
  /** set: the cluster's Services are dual-stack (IPv4 primary) */
  serviceCidr6?: string;
  services: Record<string, ServiceSpec>;
  /** as written (undefined: the default block of the underlay subnet) */
  loadBalancerPool?: string;
  dns: boolean;
  /** the ingress controller: true (with the cluster), false (never), undefined (with the first Ingress) */
  ingress?: boolean;
  /** as written in the topology (relative to its file) */
  manifests: string[];
  bgp?: { asn: number };
  /** pods through the CNI plugins (default true) */
  cni: boolean;
  /** the labels given to workers, by full worker name */
  workerLabels?: Record<string, Record<string, string>>;
}

/** A label key: an optional DNS-subdomain prefix and /, then a name of at most 63 characters. */
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_PREFIX = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** The labels netsim gives every Node itself. */
const OWN_LABELS = ['kubernetes.io/hostname', 'kubernetes.io/os', 'kubernetes.io/arch'];

/** Why a label key or value is not valid in Kubernetes, or undefined. */
export function labelProblem(key: string, value: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const [prefix, name] = slash >= 0 ? [key.slice(0, slash), key.slice(slash + 1)] : [undefined, key];
  if (prefix !== undefined && !LABEL_PREFIX.test(prefix))
    return `label key "${key}": its prefix is a DNS subdomain (lower case, digits, - and .)`;
  if (!LABEL_NAME.test(name))
    return `label key "${key}": at most 63 letters, digits, -, _ and ., starting and ending with a letter or digit`;
  if (value !== '' && !LABEL_NAME.test(value))
    return `label value "${value}": at most 63 letters, digits, -, _ and ., starting and ending with a letter or digit`;
  return undefined;
}

/** A worker's Node labels: kubernetes.io/hostname, os, arch, then the ones the topology gives. */
export function workerNodeLabels(cfg: ClusterConfig, worker: string): Record<string, string> {
  const a = arch();
  return {
    'kubernetes.io/arch': a === 'x64' ? 'amd64' : a,
    'kubernetes.io/hostname': worker,
    'kubernetes.io/os': 'linux',
    ...cfg.workerLabels?.[worker],
  };
}

export function networkConfig(c: ClusterConfig): NetworkConfig {
  const cfg: NetworkConfig = { Network: c.podCidr, Backend: { Type: 'vxlan', VNI: c.vni, Port: 0 } };
  if (c.subnetLen) cfg.SubnetLen = c.subnetLen;
  if (c.podCidr6) {
    cfg.EnableIPv6 = true;
    cfg.IPv6Network = c.podCidr6;
    if (c.subnetLen6) cfg.IPv6SubnetLen = c.subnetLen6;
  }
  return cfg;
}

export interface Expansion {
  nodes: Record<string, Record<string, unknown>>;
  links: { endpoints: [string, string] }[];
  /** a dual-stack cluster: the topology carries IPv6 (addressing.family dual when not written) */
  needsIpv6?: boolean;
}

export interface ExpandContext {
  /** every node of the topology as written (kinds by name) */
  nodes: Record<string, Record<string, unknown>>;
  /** addressing.family as written */
  family?: 'ipv4' | 'ipv6' | 'dual';
  issue(path: Path, message: string): void;
  /** claims a name made by this generator (a pod); returns who already has it, if anyone */
  claim(name: string, owner: string): string | undefined;
}

/** Full worker name for "w1" or "C0w1" within cluster C0; undefined if it is not one. */
export function resolveWorker(cfg: ClusterConfig, worker: string): string | undefined {
  if (cfg.workers.includes(worker)) return worker;
  const full = `${cfg.name}${worker}`;
  return cfg.workers.includes(full) ? full : undefined;
}

export function expandCluster(name: string, spec: ClusterSpec, ctx: ExpandContext): Expansion {
  const at = (...p: Path): Path => ['nodes', name, ...p];
  const underlay = typeof spec.underlay === 'string' ? [spec.underlay] : spec.underlay;
  let ok = true;
  underlay.forEach((u, i) => {
    const where = typeof spec.underlay === 'string' ? at('underlay') : at('underlay', i);
    const node = Object.hasOwn(ctx.nodes, u) ? ctx.nodes[u] : undefined;
    if (!node) {
      ctx.issue(where, `unknown underlay node "${u}" (give a switch or a router of this topology)`);
      ok = false;
    } else if (node.kind !== 'switch' && node.kind !== 'router') {
      ctx.issue(where, `underlay "${u}" is a ${String(node.kind)}: workers attach to a switch or a router`);
      ok = false;
    }
  });
  const workerCount = spec.workers ?? 3;
  const etcdCount = spec.etcd ?? 3;
  const cfg: ClusterConfig = {
    name,
    workers: Array.from({ length: workerCount }, (_, i) => `${name}w${i + 1}`),
    etcd: Array.from({ length: etcdCount }, (_, i) => `${name}e${i + 1}`),
    podCidr: spec.podCidr ?? '10.244.0.0/16',
    subnetLen: spec.subnetLen,
    ...(spec.podCidr6 ? { podCidr6: spec.podCidr6 } : {}),
    ...(spec.subnetLen6 ? { subnetLen6: spec.subnetLen6 } : {}),
    vni: spec.vni ?? 1,
    prefix: spec.prefix ?? DEFAULT_PREFIX,
    leaseTtl: spec.leaseTtl,
    leaseRenewMargin: spec.leaseRenewMargin,
    pods: spec.pods ?? {},
    labels: spec.labels,
    serviceCidr: spec.serviceCidr ?? DEFAULT_SERVICE_CIDR,
    // a dual-stack cluster's Services get IPv6 addresses from kind's default range unless told
    ...(spec.serviceCidr6 || spec.podCidr6
      ? { serviceCidr6: spec.serviceCidr6 ?? DEFAULT_SERVICE_CIDR6 }
      : {}),
    services: spec.services ?? {},
    ...(spec.loadBalancerPool ? { loadBalancerPool: spec.loadBalancerPool } : {}),
    dns: spec.dns ?? true,
    ...(spec.ingress !== undefined ? { ingress: spec.ingress } : {}),
    manifests: spec.manifests ?? [],
    bgp: spec.bgp,
    cni: spec.cni ?? true,
  };
  for (const [w, labels] of Object.entries(spec.workerLabels ?? {})) {
    const full = resolveWorker(cfg, w);
    if (!full) {
      ctx.issue(
        at('workerLabels', w),
        `unknown worker "${w}" (cluster ${name} has ${cfg.workers.join(', ')})`,
      );
      continue;
    }
    for (const [k, v] of Object.entries(labels)) {
      const problem = OWN_LABELS.includes(k)
        ? `${k} is set by netsim (it names the worker itself)`
        : labelProblem(k, v);
      if (problem) ctx.issue(at('workerLabels', w, k), problem);
    }
    cfg.workerLabels = { ...cfg.workerLabels, [full]: { ...cfg.workerLabels?.[full], ...labels } };
  }
  checkClusterServices(cfg, spec.serviceCidr6, (path, message) => ctx.issue(at(...path), message));
  for (const [field, msg] of familyIssues(ctx.family, spec)) {
    ctx.issue(field ? at(field) : at(), msg);
    ok = false;
  }
  const resolved = resolveConfig(networkConfig(cfg));
  if (typeof resolved === 'string') {
    const field = resolved.startsWith('IPv6')
      ? spec.subnetLen6
        ? 'subnetLen6'
        : 'podCidr6'
      : spec.subnetLen
        ? 'subnetLen'
        : 'podCidr';
    ctx.issue(at(field), resolved);
    ok = false;
  } else if (resolved.ipv6 && subnetCount6(resolved.ipv6) < workerCount) {
    const n = subnetCount6(resolved.ipv6);
    ctx.issue(
      at('podCidr6'),
      `IPv6 pod network ${spec.podCidr6} has room for ${n} worker subnet${n === 1 ? '' : 's'} (/${resolved.ipv6.subnetLen} each), but the cluster has ${workerCount} workers: use a larger podCidr6 or a longer subnetLen6`,
    );
    ok = false;
  } else if (subnetCount(resolved) < workerCount) {
    const n = subnetCount(resolved);
    ctx.issue(
      at('podCidr'),
      `pod network ${formatCidr(resolved.network)} has room for ${n} worker subnet${n === 1 ? '' : 's'} (/${resolved.subnetLen} each, from ${formatIp(resolved.subnetMin)} to ${formatIp(resolved.subnetMax)}), but the cluster has ${workerCount} workers: use a larger podCidr or a longer subnetLen`,
    );
    ok = false;
  }
  if ((spec.leaseRenewMargin ?? 0) >= (spec.leaseTtl ?? Number.POSITIVE_INFINITY))
    ctx.issue(at('leaseRenewMargin'), 'the renewal margin must be shorter than leaseTtl');
  for (const [pod, p] of Object.entries(cfg.pods)) {
    for (const [i, port] of (p.ports ?? []).entries())
      if (port.hostPort && !cfg.cni)
        ctx.issue(
          at('pods', pod, 'ports', i, 'hostPort'),
          'a hostPort needs the CNI plugins (portmap), which cni: false turns off',
        );
    const bandwidth = bandwidthIssues(p.annotations);
    for (const [key, msg] of bandwidth) ctx.issue(at('pods', pod, 'annotations', key), msg);
    if (!cfg.cni && bandwidth.length === 0 && podBandwidth(p.annotations))
      ctx.issue(
        at('pods', pod, 'annotations'),
        'bandwidth annotations need the CNI plugins (bandwidth), which cni: false turns off',
      );
    if (!POD_NAME_RE.test(pod)) ctx.issue(at('pods', pod), `invalid pod name "${pod}": ${POD_NAME_MSG}`);
    // an own property only: a pod named "toString" is no node
    const node = Object.hasOwn(ctx.nodes, pod) ? ctx.nodes[pod] : undefined;
    const taken = node ? `a node (${String(node.kind)})` : ctx.claim(pod, `a pod of ${name}`);
    if (taken) ctx.issue(at('pods', pod), `a pod named "${pod}" clashes with ${taken}: pod names are unique`);
    if (!resolveWorker(cfg, p.worker))
      ctx.issue(
        at('pods', pod, 'worker'),
        `unknown worker "${p.worker}" (cluster ${name} has ${cfg.workers.join(', ')})`,
      );
  }
  if (!ok) return { nodes: {}, links: [] };
  const needsIpv6 = cfg.podCidr6 !== undefined;
  const nodes: Expansion['nodes'] = {};
  const links: Expansion['links'] = [];
  const common = { cluster: name, clusterConfig: cfg };
  cfg.etcd.forEach((n, i) => {
    nodes[n] = { kind: 'etcd', ...common };
    links.push({ endpoints: [n, underlay[i % underlay.length]] });
  });
  cfg.workers.forEach((n, i) => {
    nodes[n] = { kind: 'worker', ...common, ...(spec.sysctls ? { sysctls: spec.sysctls } : {}) };
    links.push({ endpoints: [n, underlay[i % underlay.length]] });
  });
  return { nodes, links, ...(needsIpv6 ? { needsIpv6 } : {}) };
}

/** Fields generated workers and etcd members carry (not written by users). */
export const memberFields = {
  cluster: z.string({
    error: 'workers and etcd members are made by a cluster node (kind: cluster, workers: N, etcd: N)',
  }),
  clusterConfig: z.custom<ClusterConfig>((v) => typeof v === 'object' && v !== null),
};
