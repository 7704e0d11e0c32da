// Services from the API and the REPL: `C0.addService('web', {selector: {app: 'web'}, ports:
// [{port: 80, targetPort: 8000}]})`, knetsim's `C0.kp_vip_add(vip, [pods])`, `C0.services()`.
// A service is validated, gets its ClusterIP (and node ports) in one etcd transaction, and
// the endpoints controller and every kube-proxy take it from there.

import { randomUUID } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import { formatPath } from '../../../model/errors.js';
import { type Cidr, formatIp, hostRange } from '../../../util/ipv4.js';
import { type Cidr6, formatIp6, hostRange6 } from '../../../util/ipv6.js';
import { listPrefix } from '../etcd-list.js';
import { allocateLbIp } from './lb-ipam.js';
import {
  ANNOTATION_PING,
  ANNOTATION_PODS,
  ENDPOINTS_PREFIX,
  type EndpointsObject,
  endpointsKey,
  FAMILY_NAME,
  type Family,
  HEADLESS,
  lbIpKey,
  loadBalancerIps,
  NODEPORT_MAX,
  NODEPORT_MIN,
  SERVICE_IPAM_PREFIX,
  type ServiceObject,
  SPECS_PREFIX,
  serviceIpKey,
  specKey,
} from './objects.js';
import {
  checkService,
  resolveFamilies,
  type ServiceRanges,
  type ServiceSpec,
  serviceSpecSchema,
} from './schema.js';

/** The ClusterIP of the cluster DNS service: the 10th address of the service CIDR (kubeadm's). */
export const dnsServiceIp = (cidr: Cidr) => formatIp(cidr.net + 10);
/** The same in the IPv6 service CIDR (kept free for a dual-stack kube-dns). */
export const dnsServiceIp6 = (cidr: Cidr6) => formatIp6(cidr.net + 10n);

/** The first addresses of a family's service range that no service holds, in order. */
function* freeIps(ranges: ServiceRanges, family: Family, taken: Record<string, string>): Generator<string> {
  if (family === 4) {
    const { first, last } = hostRange(ranges.v4);
    const dns = dnsServiceIp(ranges.v4);
    for (let n = first; n <= last; n++) {
      const ip = formatIp(n);
      if (ip !== dns && !taken[serviceIpKey(ip)]) yield ip;
    }
    return;
  }
  if (!ranges.v6) return;
  const { first, last } = hostRange6(ranges.v6);
  const dns = dnsServiceIp6(ranges.v6);
  for (let n = first; n <= last; n++) {
    const ip = formatIp6(n);
    if (ip !== dns && !taken[serviceIpKey(ip)]) yield ip;
  }
}

export class ServiceError extends Error {}

/** key -> value of a prefix, read in pages. */
async function strings(etcd: Etcd3, prefix: string): Promise<Record<string, string>> {
  const { kvs } = await listPrefix(etcd, prefix);
  return Object.fromEntries(kvs.map((kv) => [kv.key.toString(), kv.value.toString()]));
}

/** Parses and checks a service as given to the API; throws one message naming the fields. */
export function parseServiceSpec(name: string, raw: unknown, ranges: ServiceRanges): ServiceSpec {
  const res = serviceSpecSchema.safeParse(raw);
  const problems: string[] = [];
  if (!res.success)
    for (const i of res.error.issues)
      problems.push(`${formatPath(i.path as (string | number)[]) || '(spec)'}: ${i.message}`);
  else checkService(name, res.data, ranges, (f, m) => problems.push(`${formatPath(f) || name}: ${m}`));
  if (problems.length) throw new ServiceError(`service "${name}": ${problems.join('; ')}`);
  return res.data!;
}

export interface ServiceView {
  name: string;
  namespace: string;
  type: string;
  clusterIP: string;
  /** one per family, primary first */
  clusterIPs: string[];
  ports: string;
  endpoints: string[];
}

export async function createService(
  etcd: Etcd3,
  name: string,
  spec: ServiceSpec,
  ranges: ServiceRanges,
  opts: { annotations?: Record<string, string> } = {},
): Promise<ServiceObject> {
  const ns = spec.namespace ?? 'default';
  const { policy, families, ips: givenIps } = resolveFamilies(spec, ranges);
  const existing = await strings(etcd, SPECS_PREFIX);
  const services = Object.values(existing).map((v) => JSON.parse(v) as ServiceObject);
  if (existing[specKey(ns, name)]) throw new ServiceError(`service "${ns}/${name}" already exists`);
  // node ports: given ones must be free; others are the lowest free from 30000
  const usedPorts = new Set(services.flatMap((s) => s.spec.ports.map((p) => p.nodePort).filter(Boolean)));
  const type = spec.type ?? 'ClusterIP';
  const ports = spec.ports.map((p) => ({
    ...(p.name ? { name: p.name } : {}),
    protocol: p.protocol ?? 'TCP',
    port: p.port,
    targetPort: p.targetPort,
    ...(p.nodePort ? { nodePort: p.nodePort } : {}),
  }));
  for (const p of ports) {
    if (type === 'ClusterIP') continue;
    if (p.nodePort) {
      if (usedPorts.has(p.nodePort))
        throw new ServiceError(
          `service "${name}": nodePort ${p.nodePort} is already used by another service`,
        );
    } else {
      let n = NODEPORT_MIN;
      while (usedPorts.has(n) && n <= NODEPORT_MAX) n++;
      if (n > NODEPORT_MAX) throw new ServiceError('no free node port left');
      p.nodePort = n;
    }
    usedPorts.add(p.nodePort);
  }
  const annotations: Record<string, string> = { ...opts.annotations };
  if (spec.pods) annotations[ANNOTATION_PODS] = spec.pods.join(',');
  if (spec.answerPing) annotations[ANNOTATION_PING] = 'true';
  const headless = spec.clusterIP === HEADLESS || spec.clusterIPs?.[0] === HEADLESS;
  const lbIp =
    type === 'LoadBalancer'
      ? await allocateLbIp(etcd, `${ns}/${name}`).catch((e: Error) => {
          throw new ServiceError(e.message);
        })
      : undefined;
  try {
    return await put();
  } catch (err) {
    if (lbIp) await etcd.delete().key(lbIpKey(lbIp));
    throw err;
  }

  async function put(): Promise<ServiceObject> {
    const ipsTaken = headless ? {} : await strings(etcd, SERVICE_IPAM_PREFIX);
    for (let attempt = 0; attempt < 10; attempt++) {
      const ips: string[] = [];
      for (const [i, family] of families.entries()) {
        if (headless) break;
        const ip = givenIps[i];
        if (ip) {
          const owner = ipsTaken[serviceIpKey(ip)];
          if (owner)
            throw new ServiceError(`service "${name}": clusterIP ${ip} is already taken by ${owner}`);
          ips.push(ip);
          continue;
        }
        const free = freeIps(ranges, family, ipsTaken).next();
        if (free.done) throw new ServiceError(`the ${FAMILY_NAME[family]} service CIDR is full`);
        ips.push(free.value);
      }
      const obj: ServiceObject = {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {
          name,
          namespace: ns,
          uid: randomUUID(),
          creationTimestamp: new Date().toISOString(),
          ...(Object.keys(annotations).length ? { annotations } : {}),
        },
        spec: {
          type,
          clusterIP: headless ? HEADLESS : ips[0],
          clusterIPs: headless ? [HEADLESS] : ips,
          ipFamilies: families.map((f) => FAMILY_NAME[f]),
          ipFamilyPolicy: policy,
          ...(spec.selector ? { selector: spec.selector } : {}),
          ports,
          sessionAffinity: spec.sessionAffinity ?? 'None',
          ...(spec.sessionAffinity === 'ClientIP'
            ? {
                sessionAffinityConfig: { clientIP: { timeoutSeconds: spec.affinityTimeoutSeconds ?? 10800 } },
              }
            : {}),
          ...(type !== 'ClusterIP' ? { externalTrafficPolicy: spec.externalTrafficPolicy ?? 'Cluster' } : {}),
          ...(spec.internalTrafficPolicy ? { internalTrafficPolicy: spec.internalTrafficPolicy } : {}),
        },
        ...(lbIp ? { status: { loadBalancer: { ingress: [{ ip: lbIp }] } } } : {}),
      };
      const put = etcd.put(specKey(ns, name)).value(JSON.stringify(obj));
      let txn = etcd.if(specKey(ns, name), 'Create', '==', 0);
      for (const ip of ips) txn = txn.and(serviceIpKey(ip), 'Create', '==', 0);
      const res = await txn
        .then(...ips.map((ip) => etcd.put(serviceIpKey(ip)).value(`${ns}/${name}`)), put)
        .commit();
      if (res.succeeded) return obj;
      if (await etcd.get(specKey(ns, name)).string())
        throw new ServiceError(`service "${ns}/${name}" already exists`);
      for (const ip of givenIps) {
        const owner = ip ? await etcd.get(serviceIpKey(ip)).string() : null;
        if (owner) throw new ServiceError(`service "${name}": clusterIP ${ip} is already taken by ${owner}`);
      }
      Object.assign(ipsTaken, await strings(etcd, SERVICE_IPAM_PREFIX));
    }
    throw new ServiceError('could not allocate a ClusterIP: too many concurrent changes');
  }
}

export async function deleteService(etcd: Etcd3, name: string, ns = 'default'): Promise<void> {
  const v = await etcd.get(specKey(ns, name)).string();
  if (!v) throw new ServiceError(`no service "${ns}/${name}"`);
  const svc = JSON.parse(v) as ServiceObject;
  await etcd
    .if(specKey(ns, name), 'Create', '>', 0)
    .then(
      etcd.delete().key(specKey(ns, name)),
      ...(svc.spec.clusterIP === HEADLESS
        ? []
        : (svc.spec.clusterIPs ?? [svc.spec.clusterIP]).map((ip) => etcd.delete().key(serviceIpKey(ip)))),
      ...loadBalancerIps(svc).map((ip) => etcd.delete().key(lbIpKey(ip))),
      etcd.delete().key(endpointsKey(ns, name)),
    )
    .commit();
}

export async function listServices(etcd: Etcd3): Promise<ServiceView[]> {
  const [specs, eps] = await Promise.all([strings(etcd, SPECS_PREFIX), strings(etcd, ENDPOINTS_PREFIX)]);
  return Object.values(specs)
    .map((v) => JSON.parse(v) as ServiceObject)
    .map((s) => {
      const e = eps[endpointsKey(s.metadata.namespace, s.metadata.name)];
      const ep = e ? (JSON.parse(e) as EndpointsObject) : undefined;
      return {
        name: s.metadata.name,
        namespace: s.metadata.namespace,
        type: s.spec.type,
        clusterIP: s.spec.clusterIP,
        clusterIPs: s.spec.clusterIPs ?? [s.spec.clusterIP],
        ports: s.spec.ports
          .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol}→${p.targetPort}`)
          .join(','),
        endpoints: (ep?.subsets ?? []).flatMap((x) =>
          x.addresses.map((a) => `${a.ip}${a.targetRef ? ` (${a.targetRef.name})` : ''}`),
        ),
      };
    })
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}
