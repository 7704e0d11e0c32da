// What users may write for a service or a network policy, and the checks against the cluster
// that a schema cannot make. Only the main process loads this (zod stays out of the agents).
import { z } from 'zod';
import { type Cidr, formatIp, networkOf, parseCidr, parseIp } from '../../../util/ipv4.js';
import {
  type Cidr6,
  contains6,
  formatCidr6,
  networkOf6,
  overlaps6,
  parseCidr6,
  parseIp6,
} from '../../../util/ipv6.js';
import {
  FAMILY_NAME,
  type Family,
  HEADLESS,
  type IpFamilyPolicy,
  inCidr,
  NODEPORT_MAX,
  NODEPORT_MIN,
  parseServiceCidr,
} from './objects.js';

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const port = z
  .number({ error: 'a port number' })
  .int('a port is a whole number')
  .min(1, 'ports are 1..65535')
  .max(65535, 'ports are 1..65535');

/** A Service's dual-stack fields, as the API server takes them (topology files and manifests). */
export const ipFamilyFields = {
  ipFamilies: z
    .array(z.enum(['IPv4', 'IPv6'], { error: 'IPv4 or IPv6' }))
    .min(1)
    .max(2, 'at most two families, IPv4 and IPv6')
    .optional(),
  ipFamilyPolicy: z
    .enum(['SingleStack', 'PreferDualStack', 'RequireDualStack'], {
      error: 'SingleStack, PreferDualStack or RequireDualStack',
    })
    .optional(),
};

/** A service as users write it (topology file or `C0.addService(name, spec)`). */
export const serviceSpecSchema = z.strictObject({
  namespace: z.string().regex(DNS_LABEL, 'a namespace is a DNS label').optional(),
  type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).optional(),
  /** given, or the next free address of the cluster's service CIDR; "None": headless (DNS only) */
  clusterIP: z.string().optional(),
  /** one address per family (the first is clusterIP), each given or allocated */
  clusterIPs: z.array(z.string()).min(1).max(2, 'at most two ClusterIPs, one per family').optional(),
  /** the families, primary first (default: the cluster's primary, plus the other for dual-stack policies) */
  ...ipFamilyFields,
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

/** A cluster's service ranges (Kubernetes' --service-cluster-ip-range): IPv4, and IPv6 when dual-stack. */
export interface ServiceRanges {
  v4: Cidr;
  v6?: Cidr6;
}

/** The ranges of a cluster's configuration (its CIDRs as written; checked when the topology was). */
export function serviceRangesOf(cfg: { serviceCidr: string; serviceCidr6?: string }): ServiceRanges {
  const v6 = cfg.serviceCidr6 ? parseCidr6(cfg.serviceCidr6) : undefined;
  return { v4: parseServiceCidr(cfg.serviceCidr), ...(v6 ? { v6: networkOf6(v6.ip, v6.prefix) } : {}) };
}

/** Why a cluster's serviceCidr6 is not usable (next to its IPv6 pod network), or undefined. */
export function serviceCidr6Problem(text: string | undefined, podCidr6?: string): string | undefined {
  if (text === undefined) return undefined;
  const c = parseCidr6(text);
  if (!c) return `"${text}" is not an IPv6 network (address/prefix, e.g. fd00:10:96::/112)`;
  const net = networkOf6(c.ip, c.prefix);
  if (net.net !== c.ip) return `${text} has host bits set: the network is ${formatCidr6(net)}`;
  if (c.prefix < 64 || c.prefix > 120) return `the IPv6 service range is a /64 to /120, not /${c.prefix}`;
  const pods = podCidr6 ? parseCidr6(podCidr6) : undefined;
  if (pods && overlaps6(net, networkOf6(pods.ip, pods.prefix)))
    return `serviceCidr6 ${text} overlaps the IPv6 pod network ${podCidr6}`;
  return undefined;
}

/** The families of a cluster's services, primary first. */
export const rangeFamilies = (r: ServiceRanges): Family[] => (r.v6 ? [4, 6] : [4]);

type Issue = (field: (string | number)[], message: string) => void;

/**
 * A service's dual-stack fields resolved as the API server does: ipFamilyPolicy defaults to
 * SingleStack (RequireDualStack when two families or two ClusterIPs are given); given ClusterIPs
 * fix their families; no family given: the cluster's primary; a dual-stack policy on a
 * dual-stack cluster adds the other family. Problems go to `issue`, located at the field.
 */
export function resolveFamilies(
  spec: ServiceSpec,
  ranges: ServiceRanges,
  issue: Issue = () => {},
): { policy: IpFamilyPolicy; families: Family[]; ips: (string | undefined)[] } {
  const cluster = rangeFamilies(ranges);
  const families: Family[] = (spec.ipFamilies ?? []).map((f) => (f === 'IPv6' ? 6 : 4));
  if (families.length === 2 && families[0] === families[1])
    issue(['ipFamilies', 1], `${FAMILY_NAME[families[1]]} is listed twice: two families are IPv4 and IPv6`);
  const headless = spec.clusterIP === HEADLESS || spec.clusterIPs?.[0] === HEADLESS;
  if (spec.clusterIP !== undefined && spec.clusterIPs && spec.clusterIPs[0] !== spec.clusterIP)
    issue(['clusterIPs', 0], `clusterIPs[0] must be clusterIP (${spec.clusterIP})`);
  const given = headless ? [] : (spec.clusterIPs ?? (spec.clusterIP !== undefined ? [spec.clusterIP] : []));
  if (headless && (spec.clusterIPs?.length ?? 0) > 1)
    issue(['clusterIPs', 1], 'a headless service (clusterIP: None) has no other ClusterIP');
  const policy =
    spec.ipFamilyPolicy ?? (families.length === 2 || given.length === 2 ? 'RequireDualStack' : 'SingleStack');
  const ipField = (i: number) => (spec.clusterIPs ? ['clusterIPs', i] : ['clusterIP']);
  given.forEach((ip, i) => {
    const v4 = parseIp(ip);
    const v6 = v4 === undefined ? parseIp6(ip) : undefined;
    if (v4 === undefined && v6 === undefined) {
      issue(ipField(i), `"${ip}" is not an ${cluster.length === 1 ? 'IPv4' : 'IP'} address`);
      return;
    }
    const fam: Family = v4 !== undefined ? 4 : 6;
    if (i < families.length && families[i] !== fam)
      issue(
        ['ipFamilies', i],
        `${FAMILY_NAME[families[i]]} does not match ${ip}, an ${FAMILY_NAME[fam]} address`,
      );
    else if (i >= families.length) families.push(fam);
    if (i === 1 && familyOfText(given[0]) === fam)
      issue(ipField(1), `two ClusterIPs of one family (${FAMILY_NAME[fam]}): one per family`);
    if (v4 !== undefined && !inCidr(v4, ranges.v4))
      issue(ipField(i), `${ip} is outside the service CIDR ${formatIp(ranges.v4.net)}/${ranges.v4.prefix}`);
    else if (v6 !== undefined && ranges.v6 && !contains6(ranges.v6, v6))
      issue(ipField(i), `${ip} is outside the IPv6 service CIDR ${formatCidr6(ranges.v6)}`);
  });
  families.forEach((f, i) => {
    if (cluster.includes(f)) return;
    const field = spec.ipFamilies && i < spec.ipFamilies.length ? ['ipFamilies', i] : ipField(i);
    issue(
      field,
      `${FAMILY_NAME[f]} is not configured on this cluster (it has no ${f === 6 ? 'serviceCidr6' : 'IPv4 serviceCidr'})`,
    );
  });
  if (policy === 'SingleStack' && families.length > 1)
    issue(['ipFamilyPolicy'], 'SingleStack takes one family: PreferDualStack or RequireDualStack take two');
  if (policy === 'RequireDualStack' && cluster.length < 2)
    issue(
      ['ipFamilyPolicy'],
      'RequireDualStack needs a dual-stack cluster, and this one has IPv4 only (give the cluster podCidr6 and serviceCidr6)',
    );
  if (families.length === 0) families.push(cluster[0]);
  if (policy !== 'SingleStack' && families.length === 1 && cluster.length === 2)
    families.push(families[0] === 4 ? 6 : 4);
  return { policy, families: families.slice(0, 2), ips: families.slice(0, 2).map((_, i) => given[i]) };
}

const familyOfText = (ip: string | undefined): Family | undefined =>
  ip === undefined ? undefined : parseIp(ip) !== undefined ? 4 : parseIp6(ip) !== undefined ? 6 : undefined;

/** Checks of a service against its cluster that the schema cannot make. */
export function checkService(name: string, spec: ServiceSpec, ranges: ServiceRanges, issue: Issue): void {
  if (!DNS_LABEL.test(name)) issue([], `invalid service name "${name}": a DNS label (lower-case, digits, -)`);
  if (spec.selector && spec.pods) issue(['pods'], 'give either selector or pods, not both');
  if (spec.clusterIP === HEADLESS) {
    if ((spec.type ?? 'ClusterIP') !== 'ClusterIP')
      issue(['clusterIP'], `a headless service (clusterIP: None) has type ClusterIP, not ${spec.type}`);
  }
  resolveFamilies(spec, ranges, issue);
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

/** A CIDR of either family as a network, or undefined. */
function anyCidr(text: string): { family: Family; net: bigint; prefix: number } | undefined {
  const v4 = parseCidr(text);
  if (v4) return { family: 4, net: BigInt(networkOf(v4.ip, v4.prefix).net), prefix: v4.prefix };
  const v6 = parseCidr6(text);
  return v6 ? { family: 6, ...networkOf6(v6.ip, v6.prefix) } : undefined;
}

/** An ipBlock's problems by field: CIDRs of either family, exceptions strictly inside the CIDR. */
export function ipBlockProblems(b: { cidr: string; except?: string[] }): [(string | number)[], string][] {
  const out: [(string | number)[], string][] = [];
  const c = anyCidr(b.cidr);
  if (!c) return [[['cidr'], `"${b.cidr}" is not a CIDR (IPv4 10.0.0.0/8 or IPv6 fd00::/64)`]];
  (b.except ?? []).forEach((e, i) => {
    const x = anyCidr(e);
    const inside =
      x &&
      x.family === c.family &&
      x.prefix > c.prefix &&
      x.net >> BigInt((c.family === 4 ? 32 : 128) - c.prefix) ===
        c.net >> BigInt((c.family === 4 ? 32 : 128) - c.prefix);
    if (!x) out.push([['except', i], `"${e}" is not a CIDR`]);
    else if (!inside) out.push([['except', i], `${e} is not a strict subset of cidr ${b.cidr}`]);
  });
  return out;
}

const labelSelector = z.strictObject({
  matchLabels: z.record(z.string(), z.string(), { error: 'matchLabels is a map of labels' }).optional(),
});
const policyPeer = z
  .strictObject({
    podSelector: labelSelector.optional(),
    namespaceSelector: labelSelector.optional(),
    ipBlock: z
      .strictObject({ cidr: z.string(), except: z.array(z.string()).optional() })
      .superRefine((b, ctx) => {
        for (const [path, problem] of ipBlockProblems(b))
          ctx.addIssue({ code: 'custom', path, message: problem });
      })
      .optional(),
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
