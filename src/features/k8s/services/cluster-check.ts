// The checks of a topology's cluster about its Services: the service ranges against the pod
// networks, and each configured service (fields, families, ClusterIPs and node ports taken
// twice, pods it names). Errors are located relative to the cluster node.
import { networkOf, overlaps, parseCidr } from '../../../util/ipv4.js';
import { dnsServiceIp } from './api.js';
import { HEADLESS, parseServiceCidr } from './objects.js';
import { checkService, type ServiceSpec, serviceCidr6Problem, serviceRangesOf } from './schema.js';

/** The parts of a cluster's configuration these checks read. */
export interface ServicesOfCluster {
  name: string;
  podCidr: string;
  podCidr6?: string;
  serviceCidr: string;
  /** in effect (given or the default of a cluster with podCidr6) */
  serviceCidr6?: string;
  services: Record<string, ServiceSpec>;
  pods: Record<string, unknown>;
}

/** `serviceCidr6` as written: given without podCidr6 it is an error (IPv6 services need IPv6 pods). */
export function checkClusterServices(
  cfg: ServicesOfCluster,
  serviceCidr6AsWritten: string | undefined,
  issue: (path: (string | number)[], message: string) => void,
): void {
  const svcCidr = parseServiceCidr(cfg.serviceCidr);
  const podNet = parseCidr(cfg.podCidr);
  if (podNet && overlaps(svcCidr, networkOf(podNet.ip, podNet.prefix)))
    issue(['serviceCidr'], `serviceCidr ${cfg.serviceCidr} overlaps the pod network ${cfg.podCidr}`);
  const problem6 =
    serviceCidr6AsWritten && !cfg.podCidr6
      ? 'serviceCidr6 needs podCidr6: IPv6 Services need pods with IPv6 addresses'
      : serviceCidr6Problem(cfg.serviceCidr6, cfg.podCidr6);
  if (problem6) issue(['serviceCidr6'], problem6);
  const ranges = problem6 ? { v4: svcCidr } : serviceRangesOf(cfg);
  const ips = new Map<string, string>([[dnsServiceIp(svcCidr), 'kube-dns']]);
  const nodePorts = new Map<number, string>();
  for (const [svc, s] of Object.entries(cfg.services)) {
    checkService(svc, s, ranges, (f, m) => issue(['services', svc, ...f], m));
    const given = s.clusterIPs ?? (s.clusterIP ? [s.clusterIP] : []);
    given.forEach((ip, i) => {
      if (ip === HEADLESS) return;
      const other = ips.get(ip);
      const field = s.clusterIPs ? ['clusterIPs', i] : ['clusterIP'];
      if (other) issue(['services', svc, ...field], `clusterIP ${ip} is already taken by ${other}`);
      ips.set(ip, svc);
    });
    s.ports.forEach((p, i) => {
      if (!p.nodePort) return;
      const other = nodePorts.get(p.nodePort);
      if (other)
        issue(
          ['services', svc, 'ports', i, 'nodePort'],
          `nodePort ${p.nodePort} is already used by ${other}`,
        );
      nodePorts.set(p.nodePort, svc);
    });
    for (const [i, pod] of (s.pods ?? []).entries())
      if (!cfg.pods[pod])
        issue(
          ['services', svc, 'pods', i],
          `unknown pod "${pod}" (pods of ${cfg.name}: ${Object.keys(cfg.pods).join(', ') || 'none'})`,
        );
  }
}
