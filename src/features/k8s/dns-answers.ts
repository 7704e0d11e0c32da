// Whether the cluster DNS answers services' names yet. The DNS process follows etcd on its own
// watch, apart from every kube-proxy: a client that resolves a service by name right after it
// was made (an `expect:` entry, a demo's wget) needs that watch to have seen it too.
import { formatIp } from '../../util/ipv4.js';
import type { ClusterCore } from './cluster-core.js';
import { HEADLESS } from './services/objects.js';

export interface NamedService {
  name: string;
  namespace: string;
  clusterIP: string;
}

const qname = (s: NamedService) => `${s.name}.${s.namespace}.svc.cluster.local`;

/**
 * Those of `svcs` whose `<name>.<namespace>.svc.cluster.local` the cluster DNS does not answer
 * with their ClusterIP yet (AAAA for an IPv6 one), all asked by one dig in batch mode from the
 * first worker. None when the cluster has no DNS; headless services are not asked (their names
 * answer with endpoints).
 */
export async function unansweredNames(c: ClusterCore, svcs: NamedService[]): Promise<NamedService[]> {
  const w = c.workers[0];
  const asked = svcs.filter((s) => s.clusterIP && s.clusterIP !== HEADLESS);
  if (!c.config.dns || !w || asked.length === 0) return [];
  const server = formatIp((await w.waitReady()).subnet.ip);
  const input = `${asked.map((s) => `${qname(s)} ${s.clusterIP.includes(':') ? 'AAAA' : 'A'}`).join('\n')}\n`;
  const r = await c.sim.kernel.tool(
    w.ns,
    'dig',
    [`@${server}`, '+noall', '+answer', '+time=1', '+tries=1', '-f', '-'],
    { check: false, input },
  );
  // answer lines: NAME. TTL IN TYPE ADDRESS
  const answered = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 5 && (f[3] === 'A' || f[3] === 'AAAA'))
      answered.add(`${f[0].replace(/\.$/, '')} ${f[4]}`);
  }
  return asked.filter((s) => !answered.has(`${qname(s)} ${s.clusterIP}`));
}
