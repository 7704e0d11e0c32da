// Services and their endpoints as Kubernetes keeps them in etcd: Service objects at
// /registry/services/specs/<ns>/<name>, Endpoints at /registry/services/endpoints/<ns>/<name>,
// ClusterIP allocations at /registry/ipam/services/<ip>. Shared by the main process (API,
// endpoints controller) and the worker agents (kube-proxy, DNS), so it has no heavy imports.
import { type Cidr, contains, networkOf, parseCidr } from '../../../util/ipv4.js';

export const SERVICES_PREFIX = '/registry/services/';
export const SPECS_PREFIX = `${SERVICES_PREFIX}specs/`;
export const ENDPOINTS_PREFIX = `${SERVICES_PREFIX}endpoints/`;
export const SERVICE_IPAM_PREFIX = '/registry/ipam/services/';
/** netsim's own: LoadBalancer addresses taken from the cluster's pool (MetalLB's IPAddressPool) */
export const LB_IPAM_PREFIX = '/netsim/loadbalancer/ips/';
/** the pool itself, `<first>-<last>` (written by the main process when the cluster starts) */
export const LB_POOL_KEY = '/netsim/loadbalancer/pool';
/** a speaker's liveness key under here (a short etcd lease): which workers may announce */
export const LB_SPEAKERS_PREFIX = '/netsim/loadbalancer/speakers/';
/** spec.clusterIP of a headless service: no ClusterIP, no kube-proxy rules, DNS answers its endpoints */
export const HEADLESS = 'None';
export const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';
/** kind's default IPv6 service range, given to a cluster with podCidr6 */
export const DEFAULT_SERVICE_CIDR6 = 'fd00:10:96::/112';
export const NODEPORT_MIN = 30000;
export const NODEPORT_MAX = 32767;
/** Annotations for what Kubernetes has no field for. */
export const ANNOTATION_PODS = 'netsim.io/endpoint-pods';
export const ANNOTATION_IPS = 'netsim.io/endpoint-ips';
export const ANNOTATION_PING = 'netsim.io/answer-ping';

/** Kubernetes' names of the address families, and the dual-stack policies of a Service. */
export type IpFamily = 'IPv4' | 'IPv6';
export type IpFamilyPolicy = 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
export type Family = 4 | 6;
export const FAMILY_NAME: Record<Family, IpFamily> = { 4: 'IPv4', 6: 'IPv6' };
/** The family of an address written as text (IPv6 has colons). */
export const familyOf = (ip: string): Family => (ip.includes(':') ? 6 : 4);

export interface ServicePort {
  name?: string;
  protocol: 'TCP' | 'UDP';
  port: number;
  targetPort: number;
  nodePort?: number;
}

export interface ServiceObject {
  apiVersion: 'v1';
  kind: 'Service';
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    creationTimestamp: string;
    annotations?: Record<string, string>;
  };
  spec: {
    type: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
    /** an address of the service CIDR, or HEADLESS; clusterIPs[0] */
    clusterIP: string;
    /** one address per family of ipFamilies, in that order (the first is clusterIP) */
    clusterIPs?: string[];
    ipFamilies?: IpFamily[];
    ipFamilyPolicy?: IpFamilyPolicy;
    selector?: Record<string, string>;
    ports: ServicePort[];
    sessionAffinity: 'None' | 'ClientIP';
    sessionAffinityConfig?: { clientIP: { timeoutSeconds: number } };
    /** NodePort and LoadBalancer traffic: Local = only endpoints on the receiving worker, client address kept */
    externalTrafficPolicy?: 'Cluster' | 'Local';
    /** ClusterIP traffic: Local = only endpoints on the client's worker */
    internalTrafficPolicy?: 'Cluster' | 'Local';
  };
  /** a LoadBalancer's address from the pool */
  status?: { loadBalancer: { ingress?: { ip: string }[] } };
}

/** The LoadBalancer addresses of a service (none for other types). */
export const loadBalancerIps = (svc: ServiceObject): string[] =>
  svc.spec.type === 'LoadBalancer' ? (svc.status?.loadBalancer.ingress ?? []).map((i) => i.ip) : [];

export const lbIpKey = (ip: string) => `${LB_IPAM_PREFIX}${ip}`;

export interface EndpointAddress {
  ip: string;
  nodeName?: string;
  targetRef?: { kind: 'Pod'; name: string; namespace: string };
}

export interface EndpointsObject {
  apiVersion: 'v1';
  kind: 'Endpoints';
  metadata: { name: string; namespace: string };
  subsets: { addresses: EndpointAddress[]; ports: { name?: string; port: number; protocol: string }[] }[];
}

export const specKey = (ns: string, name: string) => `${SPECS_PREFIX}${ns}/${name}`;
export const endpointsKey = (ns: string, name: string) => `${ENDPOINTS_PREFIX}${ns}/${name}`;
export const serviceIpKey = (ip: string) => `${SERVICE_IPAM_PREFIX}${ip}`;

/** The families a service has, primary first (from ipFamilies, else its ClusterIP). */
export function serviceFamilies(svc: ServiceObject): Family[] {
  if (svc.spec.ipFamilies?.length) return svc.spec.ipFamilies.map((f) => (f === 'IPv6' ? 6 : 4));
  return svc.spec.clusterIP === HEADLESS ? [4] : [familyOf(svc.spec.clusterIP)];
}

/** The service's ClusterIP of one family, if it has one (none for a headless service). */
export function clusterIpOf(svc: ServiceObject, family: Family): string | undefined {
  if (svc.spec.clusterIP === HEADLESS) return undefined;
  return (svc.spec.clusterIPs ?? [svc.spec.clusterIP]).find((ip) => familyOf(ip) === family);
}

/** A pod's addresses, primary first (status.podIPs, else status.podIP). */
export function podIpsOf(pod: { status: { podIP?: string; podIPs?: { ip: string }[] } }): string[] {
  if (pod.status.podIPs?.length) return pod.status.podIPs.map((p) => p.ip);
  return pod.status.podIP ? [pod.status.podIP] : [];
}

export const inCidr = (ip: number, c: Cidr): boolean => contains(c, ip);

export function parseServiceCidr(s: string): Cidr {
  const c = parseCidr(s);
  if (!c) throw new Error(`invalid service CIDR ${s}`);
  return networkOf(c.ip, c.prefix);
}

/** Does a selector match these labels (every key equal)? An empty selector matches nothing. */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return false;
  const keys = Object.keys(selector);
  return keys.length > 0 && keys.every((k) => labels[k] === selector[k]);
}

/** The service port as kube-proxy names it: <ns>/<name>/<proto>/<port name or p<port>>. */
export function servicePortName(svc: ServiceObject, p: ServicePort): string {
  return `${svc.metadata.namespace}/${svc.metadata.name}/${p.protocol.toLowerCase()}/${p.name ?? `p${p.port}`}`;
}
