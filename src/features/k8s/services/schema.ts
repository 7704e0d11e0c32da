// What users may write for a service or a network policy, and the checks against the cluster
// that a schema cannot make. Only the main process loads this (zod stays out of the agents).
import { z } from 'zod';
import { type Cidr, formatIp, parseIp } from '../../../util/ipv4.js';
import { HEADLESS, inCidr, NODEPORT_MAX, NODEPORT_MIN } from './objects.js';

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const port = z
  .number({ error: 'a port number' })
  .int('a port is a whole number')
  .min(1, 'ports are 1..65535')
  .max(65535, 'ports are 1..65535');

/** A service as users write it (topology file or `C0.addService(name, spec)`). */
export const serviceSpecSchema = z.strictObject({
  namespace: z.string().regex(DNS_LABEL, 'a namespace is a DNS label').optional(),
  type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).optional(),
  /** given, or the next free address of the cluster's service CIDR; "None": headless (DNS only) */
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
  /** NodePort/LoadBalancer traffic only to endpoints on the receiving worker, client address kept */
  externalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
  /** ClusterIP traffic only to endpoints on the client's worker */
  internalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
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
  if (spec.clusterIP === HEADLESS) {
    if ((spec.type ?? 'ClusterIP') !== 'ClusterIP')
      issue(['clusterIP'], `a headless service (clusterIP: None) has type ClusterIP, not ${spec.type}`);
  } else if (spec.clusterIP !== undefined) {
    const ip = parseIp(spec.clusterIP);
    if (ip === undefined) issue(['clusterIP'], `"${spec.clusterIP}" is not an IPv4 address`);
    else if (!inCidr(ip, serviceCidr))
      issue(
        ['clusterIP'],
        `${spec.clusterIP} is outside the service CIDR ${formatIp(serviceCidr.net)}/${serviceCidr.prefix}`,
      );
  }
  const type = spec.type ?? 'ClusterIP';
  if (spec.externalTrafficPolicy && type === 'ClusterIP')
    issue(['externalTrafficPolicy'], 'externalTrafficPolicy needs type NodePort or LoadBalancer');
  const seen = new Set<string>();
  spec.ports.forEach((p, i) => {
    const k = `${p.protocol ?? 'TCP'}/${p.port}`;
    if (seen.has(k)) issue(['ports', i, 'port'], `port ${k} is listed twice`);
    seen.add(k);
    if (p.nodePort !== undefined && type === 'ClusterIP')
      issue(['ports', i, 'nodePort'], 'nodePort needs type: NodePort or LoadBalancer');
    if (spec.ports.length > 1 && !p.name)
      issue(['ports', i, 'name'], 'with several ports, each needs a name');
  });
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
