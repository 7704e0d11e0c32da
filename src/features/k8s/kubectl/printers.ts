// kubectl's columns for each resource (its built-in printers): the header and one row per
// object, with -o wide's extra columns and -A's NAMESPACE in front.
import type { NetworkPolicyObject } from '../agent/policy.js';
import type { IngressObject } from '../manifests/ingress.js';
import type { DeploymentObject } from '../manifests/stored.js';
import type { PodObject } from '../registry.js';
import { type EndpointsObject, loadBalancerIps, type ServiceObject } from '../services/objects.js';
import type { Resource } from './args.js';
import type { KubeObject, NamespaceObject, NodeObject } from './objects.js';
import { type EndpointSliceObject, sliceEndpoints, slicePorts } from './slices.js';
import { age, formatLabels } from './table.js';

export interface PrintOptions {
  wide: boolean;
  /** -A: a NAMESPACE column first (namespaced resources only) */
  withNamespace: boolean;
  /** the clock AGE counts from (ms since the epoch) */
  now: number;
  /** --show-labels: LABELS last */
  showLabels?: boolean;
}

type Printer = {
  header: string[];
  wide: string[];
  row(o: KubeObject, now: number): string[];
  wideRow(o: KubeObject): string[];
};

/** A pod's STATUS column: Terminating while it is deleted, else its phase. */
function podStatus(p: PodObject): string {
  if ((p.metadata as { deletionTimestamp?: string }).deletionTimestamp) return 'Terminating';
  return p.status.phase;
}

/** PORT(S): 80/TCP, a NodePort's 80:30080/TCP, joined by commas. */
export function servicePorts(s: ServiceObject): string {
  const ports = s.spec.ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol}`);
  return ports.length ? ports.join(',') : '<none>';
}

/** ENDPOINTS: ip:port for each port and address, the first 3, then " + N more...". */
export function formatEndpoints(e: EndpointsObject): string {
  const max = 3;
  const list: string[] = [];
  let count = 0;
  for (const ss of e.subsets ?? []) {
    const ports = ss.ports?.length ? ss.ports.map((p) => `:${p.port}`) : [''];
    for (const port of ports) {
      count += ss.addresses?.length ?? 0;
      // an IPv6 address in brackets before its port, as Go's JoinHostPort writes it
      for (const a of ss.addresses ?? [])
        if (list.length < max) list.push(`${port && a.ip.includes(':') ? `[${a.ip}]` : a.ip}${port}`);
    }
  }
  if (list.length === 0) return '<none>';
  return count > max ? `${list.join(',')} + ${count - max} more...` : list.join(',');
}

function internalIp(n: NodeObject): string {
  return n.status.addresses.find((a) => a.type === 'InternalIP')?.address ?? '<none>';
}

/** NAME, one column of its own, AGE: and nothing more with -o wide (endpoints, netpol). */
function nameColumnAge(column: string, value: (o: unknown) => string): Printer {
  return {
    header: ['NAME', column, 'AGE'],
    wide: [],
    row(o, now) {
      const meta = (o as { metadata: { name: string; creationTimestamp?: string } }).metadata;
      return [meta.name, value(o), age(meta.creationTimestamp, now)];
    },
    wideRow: () => [],
  };
}

/** HOSTS: the rules' hosts, the first three then " + N more..."; `*` when none names one. */
export function ingressHosts(i: IngressObject): string {
  const rules = i.spec.rules ?? [];
  const hosts: string[] = [];
  let more = false;
  for (const r of rules) {
    if (hosts.length === 3) more = true;
    else if (r.host) hosts.push(r.host);
  }
  if (hosts.length === 0) return '*';
  return more ? `${hosts.join(',')} + ${rules.length - 3} more...` : hosts.join(',');
}

const PRINTERS: Record<Resource, Printer> = {
  pods: {
    header: ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
    wide: ['IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES'],
    row(o, now) {
      const p = o as PodObject;
      const ready = p.status.phase === 'Running' ? 1 : 0;
      return [p.metadata.name, `${ready}/1`, podStatus(p), '0', age(p.metadata.creationTimestamp, now)];
    },
    wideRow(o) {
      const p = o as PodObject;
      return [p.status.podIP || '<none>', p.spec.nodeName || '<none>', '<none>', '<none>'];
    },
  },
  services: {
    header: ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE'],
    wide: ['SELECTOR'],
    row(o, now) {
      const s = o as ServiceObject;
      return [
        s.metadata.name,
        s.spec.type,
        s.spec.clusterIP || '<none>',
        s.spec.type === 'LoadBalancer' ? loadBalancerIps(s).join(',') || '<pending>' : '<none>',
        servicePorts(s),
        age(s.metadata.creationTimestamp, now),
      ];
    },
    wideRow: (o) => [formatLabels((o as ServiceObject).spec.selector)],
  },
  endpoints: nameColumnAge('ENDPOINTS', (o) => formatEndpoints(o as EndpointsObject)),
  endpointslices: {
    header: ['NAME', 'ADDRESSTYPE', 'PORTS', 'ENDPOINTS', 'AGE'],
    wide: [],
    row(o, now) {
      const e = o as EndpointSliceObject;
      return [
        e.metadata.name,
        e.addressType,
        slicePorts(e),
        sliceEndpoints(e),
        age(e.metadata.creationTimestamp, now),
      ];
    },
    wideRow: () => [],
  },
  deployments: {
    header: ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE'],
    wide: ['CONTAINERS', 'IMAGES', 'SELECTOR'],
    row(o, now) {
      const d = o as DeploymentObject;
      const st = d.status;
      return [
        d.metadata.name,
        `${st?.readyReplicas ?? 0}/${d.spec.replicas}`,
        String(st?.updatedReplicas ?? 0),
        String(st?.availableReplicas ?? 0),
        age(d.metadata.creationTimestamp, now),
      ];
    },
    wideRow(o) {
      const d = o as DeploymentObject;
      const cs = d.spec.template.spec.containers;
      return [
        cs.map((c) => c.name).join(','),
        cs.map((c) => c.image ?? '<none>').join(','),
        formatLabels(d.spec.selector.matchLabels),
      ];
    },
  },
  ingresses: {
    header: ['NAME', 'CLASS', 'HOSTS', 'ADDRESS', 'PORTS', 'AGE'],
    wide: [],
    row(o, now) {
      const i = o as IngressObject;
      const address = (i.status.loadBalancer.ingress ?? []).map((x) => x.ip ?? x.hostname ?? '').join(',');
      return [
        i.metadata.name,
        i.spec.ingressClassName ?? '<none>',
        ingressHosts(i),
        address,
        i.spec.tls?.length ? '80, 443' : '80',
        age(i.metadata.creationTimestamp, now),
      ];
    },
    wideRow: () => [],
  },
  networkpolicies: nameColumnAge('POD-SELECTOR', (o) =>
    formatLabels((o as NetworkPolicyObject).spec.podSelector?.matchLabels),
  ),
  nodes: {
    header: ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION'],
    wide: ['INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME'],
    row(o, now) {
      const n = o as NodeObject;
      const ready = n.status.conditions.find((c) => c.type === 'Ready')?.status === 'True';
      return [
        n.metadata.name,
        ready ? 'Ready' : 'NotReady',
        '<none>',
        age(n.metadata.creationTimestamp, now),
        n.status.nodeInfo.kubeletVersion,
      ];
    },
    wideRow(o) {
      const n = o as NodeObject;
      const i = n.status.nodeInfo;
      return [internalIp(n), '<none>', i.osImage, i.kernelVersion, i.containerRuntimeVersion];
    },
  },
  namespaces: {
    header: ['NAME', 'STATUS', 'AGE'],
    wide: [],
    row(o, now) {
      const n = o as NamespaceObject;
      return [n.metadata.name, n.status.phase, age(n.metadata.creationTimestamp, now)];
    },
    wideRow: () => [],
  },
};

/** The table's header and rows for objects of one resource. */
export function tableOf(
  r: Resource,
  objects: KubeObject[],
  opts: PrintOptions,
): { header: string[]; rows: string[][] } {
  const p = PRINTERS[r];
  const ns = opts.withNamespace ? ['NAMESPACE'] : [];
  const header = [...ns, ...p.header, ...(opts.wide ? p.wide : []), ...(opts.showLabels ? ['LABELS'] : [])];
  const rows = objects.map((o) => [
    ...(opts.withNamespace ? [(o.metadata as { namespace?: string }).namespace ?? ''] : []),
    ...p.row(o, opts.now),
    ...(opts.wide ? p.wideRow(o) : []),
    ...(opts.showLabels ? [formatLabels((o.metadata as { labels?: Record<string, string> }).labels)] : []),
  ]);
  return { header, rows };
}
