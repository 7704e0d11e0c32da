// A cluster's Services (kube-proxy's nftables mode in every worker) and its DNS: objects in
// etcd, kept in step with the pods by the endpoints controller of the main process.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { formatIp, parseIp } from '../../util/ipv4.js';
import { formatIp6 } from '../../util/ipv6.js';
import { parseEndpointChain } from './agent/chain-names.js';
import { proxyObjects } from './agent/proxy-tables.js';
import type { ClusterCore } from './cluster-core.js';
import { requireNamespace } from './namespaces.js';
import { createService, dnsServiceIp, dnsServiceIp6, parseServiceSpec } from './services/api.js';
import { ANNOTATION_IPS, type ServiceObject, specKey } from './services/objects.js';
import { type ServiceSpec, serviceRangesOf } from './services/schema.js';
import { AGENT_NODE_FLAGS, DNS_MAIN, type WorkerNode } from './worker.js';

/** Creates a service and waits until the controller has given it its endpoints. */
async function create(
  c: ClusterCore,
  name: string,
  spec: ServiceSpec,
  opts?: Parameters<typeof createService>[4],
): Promise<ServiceObject> {
  await c.ensureNetworkConfig();
  await requireNamespace(c.etcd, spec.namespace ?? 'default');
  const svc = await createService(c.etcd, name, spec, serviceRangesOf(c.config), opts);
  c.endpointsController?.observe(specKey(svc.metadata.namespace, svc.metadata.name), svc);
  await c.endpointsController?.settled();
  return svc;
}

export async function addService(c: ClusterCore, name: string, spec: unknown): Promise<ServiceObject> {
  const parsed = parseServiceSpec(name, spec, serviceRangesOf(c.config));
  for (const p of parsed.pods ?? []) c.pod(p);
  return create(c, name, parsed);
}

/** A ClusterIP service whose endpoints are fixed addresses, not pods (e.g. a Skupper listener). */
export async function addAddressService(
  c: ClusterCore,
  name: string,
  ports: { port: number; targetPort: number }[],
  ips: string[],
): Promise<ServiceObject> {
  return create(c, name, { ports }, { annotations: { [ANNOTATION_IPS]: ips.join(',') } });
}

/** knetsim's `kp_vip_add`: a service on any address to these pods, answering ping. */
export async function addVipService(
  c: ClusterCore,
  vip: string,
  pods: string[],
  opts: { port?: number; targetPort?: number },
): Promise<ServiceObject> {
  if (parseIp(vip) === undefined) throw new Error(`kp_vip_add: "${vip}" is not an IPv4 address`);
  for (const p of pods) c.pod(p);
  const spec: ServiceSpec = {
    clusterIP: vip,
    pods,
    ports: [{ port: opts.port ?? 80, targetPort: opts.targetPort ?? opts.port ?? 80 }],
    answerPing: true,
  };
  return create(c, `vip-${vip.replaceAll('.', '-')}`, spec);
}

/** Packets DNATed to each endpoint (`<ip> <protocol>`) of a service, summed over the workers. */
export async function endpointCounters(
  c: ClusterCore,
  name: string,
  namespace: string,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const families = serviceRangesOf(c.config).v6 ? ['ip', 'ip6'] : ['ip'];
  const tables = c.workers.flatMap((w) => families.map((f) => [w, f] as const));
  await Promise.all(
    tables.map(async ([w, family]) => {
      // kube-proxy's tables: one, or the main one and its shards above a number of services
      const r = await w.exec(`nft -j list ruleset ${family}`);
      if (r.exitCode !== 0) return;
      const doc = JSON.parse(r.stdout) as {
        nftables: { rule?: { chain: string; expr: { counter?: { packets: number } }[] } }[];
      };
      for (const x of proxyObjects(doc.nftables)) {
        const m = x.rule ? parseEndpointChain(x.rule.chain) : undefined;
        if (!m || m.namespace !== namespace || m.service !== name) continue;
        const counter = x.rule!.expr.find((e) => e.counter)?.counter;
        if (!counter) continue;
        const key = `${m.ip} ${m.protocol}`;
        out[key] = (out[key] ?? 0) + counter.packets;
      }
    }),
  );
  return out;
}

/**
 * Cluster DNS: a process in worker `w` serving on its cni0 address, behind the kube-dns
 * service (kube-system, the 10th address of the service CIDR) that every pod's resolv.conf names.
 */
export async function startDns(c: ClusterCore, w: WorkerNode, etcdUrls: string[]): Promise<void> {
  const env = await w.waitReady();
  const listen = formatIp(env.subnet.ip);
  // dual stack: also on cni0's IPv6 address, behind kube-dns's IPv6 ClusterIP
  const ranges = serviceRangesOf(c.config);
  const listen6 = env.subnet6 && ranges.v6 ? formatIp6(env.subnet6.ip) : undefined;
  mkdirSync(w.dir, { recursive: true });
  c.sim.kernel.spawnDaemon({
    ns: w.ns,
    cmd: process.execPath,
    args: [
      ...AGENT_NODE_FLAGS,
      DNS_MAIN,
      `--etcd-endpoints=${etcdUrls.join(',')}`,
      `--listen=${listen}`,
      ...(listen6 ? [`--listen6=${listen6}`] : []),
      `--name=${c.name}-dns`,
    ],
    logFile: join(w.dir, 'dns.log'),
  });
  await c.ensureNetworkConfig();
  const existing = await c.etcd.get(specKey('kube-system', 'kube-dns')).string();
  if (existing) return;
  const svc = await createService(
    c.etcd,
    'kube-dns',
    {
      namespace: 'kube-system',
      ...(listen6 && ranges.v6
        ? {
            clusterIPs: [dnsServiceIp(ranges.v4), dnsServiceIp6(ranges.v6)],
            ipFamilyPolicy: 'PreferDualStack' as const,
          }
        : { clusterIP: dnsServiceIp(c.serviceCidr) }),
      ports: [
        { name: 'dns', protocol: 'UDP', port: 53, targetPort: 53 },
        { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 53 },
      ],
    },
    ranges,
    { annotations: { [ANNOTATION_IPS]: listen6 ? `${listen},${listen6}` : listen } },
  );
  c.endpointsController?.observe(specKey('kube-system', 'kube-dns'), svc);
}
