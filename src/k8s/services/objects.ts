// Services and their endpoints as Kubernetes keeps them in etcd: Service objects at
// /registry/services/specs/<ns>/<name>, Endpoints at /registry/services/endpoints/<ns>/<name>,
// ClusterIP allocations at /registry/ipam/services/<ip>. Shared by the main process (API,
// endpoints controller) and the worker agents (kube-proxy, DNS), so it has no heavy imports.
import { z } from 'zod';
import { type Cidr, contains, formatIp, networkOf, parseCidr, parseIp } from '../../util/ipv4.js';

export const SERVICES_PREFIX = '/registry/services/';
export const SPECS_PREFIX = `${SERVICES_PREFIX}specs/`;
export const ENDPOINTS_PREFIX = `${SERVICES_PREFIX}endpoints/`;
export const SERVICE_IPAM_PREFIX = '/registry/ipam/services/';
export const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';
export const NODEPORT_MIN = 30000;
export const NODEPORT_MAX = 32767;
/** Annotations for what Kubernetes has no field for. */
export const ANNOTATION_PODS = 'netsim.io/endpoint-pods';
export const ANNOTATION_IPS = 'netsim.io/endpoint-ips';
export const ANNOTATION_PING = 'netsim.io/answer-ping';

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
    type: 'ClusterIP' | 'NodePort';
    clusterIP: string;
    selector?: Record<string, string>;
    ports: ServicePort[];
    sessionAffinity: 'None' | 'ClientIP';
    sessionAffinityConfig?: { clientIP: { timeoutSeconds: number } };
  };
}

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

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const port = z
  .number({ error: 'a port number' })
  .int('a port is a whole number')
  .min(1, 'ports are 1..65535')
  .max(65535, 'ports are 1..65535');

/** A service as users write it (topology file or `C0.addService(name, spec)`). */
export const serviceSpecSchema = z.strictObject({
  namespace: z.string().regex(DNS_LABEL, 'a namespace is a DNS label').optional(),
  type: z.enum(['ClusterIP', 'NodePort']).optional(),
  /** given, or the next free address of the cluster's service CIDR */
  clusterIP: z.string().optional(),
  selector: z
    .record(z.string(), z.string(), { error: 'selector is a map of labels, e.g. {app: web}' })
    .optional(),
  /** instead of a selector: these pods, by name */
  pods: z.array(z.string()).optional(),
  ports: z
    .array(
      z.strictObject({
        name: z.string().regex(DNS_LABEL, 'a port name is a DNS label').optional(),
        protocol: z.enum(['TCP', 'UDP']).optional(),
        port,
        targetPort: port,
        nodePort: z
          .number()
          .int()
          .min(NODEPORT_MIN, `node ports are ${NODEPORT_MIN}..${NODEPORT_MAX}`)
          .max(NODEPORT_MAX, `node ports are ${NODEPORT_MIN}..${NODEPORT_MAX}`)
          .optional(),
      }),
    )
    .min(1, 'a service needs at least one port'),
  sessionAffinity: z.enum(['None', 'ClientIP']).optional(),
  /** ClientIP affinity timeout (Kubernetes default 10800 s) */
  affinityTimeoutSeconds: z.number().int().min(1).max(86400).optional(),
  /** answer ping on the ClusterIP from an endpoint, as knetsim's VIPs did (real kube-proxy does not) */
  answerPing: z.boolean().optional(),
});
export type ServiceSpec = z.infer<typeof serviceSpecSchema>;

/** Checks of a service against its cluster that the schema cannot make. */
export function checkService(
  name: string,
  spec: ServiceSpec,
  serviceCidr: Cidr,
  issue: (field: (string | number)[], message: string) => void,
): void {
  if (!DNS_LABEL.test(name)) issue([], `invalid service name "${name}": a DNS label (lower-case, digits, -)`);
  if (spec.selector && spec.pods) issue(['pods'], 'give either selector or pods, not both');
  if (spec.clusterIP !== undefined) {
    const ip = parseIp(spec.clusterIP);
    if (ip === undefined) issue(['clusterIP'], `"${spec.clusterIP}" is not an IPv4 address`);
    else if (!inCidr(ip, serviceCidr))
      issue(
        ['clusterIP'],
        `${spec.clusterIP} is outside the service CIDR ${formatIp(serviceCidr.net)}/${serviceCidr.prefix}`,
      );
  }
  const seen = new Set<string>();
  spec.ports.forEach((p, i) => {
    const k = `${p.protocol ?? 'TCP'}/${p.port}`;
    if (seen.has(k)) issue(['ports', i, 'port'], `port ${k} is listed twice`);
    seen.add(k);
    if (p.nodePort !== undefined && (spec.type ?? 'ClusterIP') !== 'NodePort')
      issue(['ports', i, 'nodePort'], 'nodePort needs type: NodePort');
    if (spec.ports.length > 1 && !p.name)
      issue(['ports', i, 'name'], 'with several ports, each needs a name');
  });
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

const labelSelector = z.strictObject({
  matchLabels: z.record(z.string(), z.string(), { error: 'matchLabels is a map of labels' }).optional(),
});
const policyPeer = z
  .strictObject({
    podSelector: labelSelector.optional(),
    namespaceSelector: labelSelector.optional(),
    ipBlock: z.strictObject({ cidr: z.string(), except: z.array(z.string()).optional() }).optional(),
  })
  .refine((p) => !(p.ipBlock && (p.podSelector || p.namespaceSelector)), 'ipBlock stands alone in a peer');
const policyPort = z.strictObject({ protocol: z.enum(['TCP', 'UDP']).optional(), port: port.optional() });

/** A NetworkPolicy spec as networking.k8s.io/v1 has it (matchLabels selectors only). */
export const policySpecSchema = z.strictObject({
  podSelector: labelSelector,
  policyTypes: z.array(z.enum(['Ingress', 'Egress'])).optional(),
  ingress: z
    .array(z.strictObject({ from: z.array(policyPeer).optional(), ports: z.array(policyPort).optional() }))
    .optional(),
  egress: z
    .array(z.strictObject({ to: z.array(policyPeer).optional(), ports: z.array(policyPort).optional() }))
    .optional(),
});
