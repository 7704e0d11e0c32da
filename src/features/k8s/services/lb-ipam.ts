// LoadBalancer addresses, as MetalLB's controller hands them out: the cluster's pool (one range
// of the underlay subnet, written to etcd when the cluster starts) and one key per address taken,
// created in a transaction so two services never get the same one.
import type { Etcd3 } from 'etcd3';
import { formatIp, parseIp } from '../../../util/ipv4.js';
import { listPrefix } from '../etcd-list.js';
import { LB_IPAM_PREFIX, LB_POOL_KEY, lbIpKey } from './objects.js';

export interface LbPool {
  first: number;
  last: number;
}

export const formatPool = (p: LbPool) => `${formatIp(p.first)}-${formatIp(p.last)}`;

export function parsePool(s: string): LbPool | undefined {
  const [a, b] = s.split('-').map((x) => parseIp(x.trim()));
  return a !== undefined && b !== undefined && a <= b ? { first: a, last: b } : undefined;
}

/** Takes the lowest free address of the pool for `owner` (`<ns>/<name>`). */
export async function allocateLbIp(etcd: Etcd3, owner: string): Promise<string> {
  const raw = await etcd.get(LB_POOL_KEY).string();
  const pool = raw ? parsePool(raw) : undefined;
  if (!pool) throw new Error(`service "${owner}": type LoadBalancer needs the cluster's address pool`);
  for (let attempt = 0; attempt < 10; attempt++) {
    const { kvs } = await listPrefix(etcd, LB_IPAM_PREFIX);
    const taken = new Set(kvs.map((kv) => kv.key.toString().slice(LB_IPAM_PREFIX.length)));
    let ip: string | undefined;
    for (let n = pool.first; n <= pool.last && !ip; n++) if (!taken.has(formatIp(n))) ip = formatIp(n);
    if (!ip) throw new Error(`service "${owner}": the LoadBalancer pool ${formatPool(pool)} is used up`);
    const res = await etcd
      .if(lbIpKey(ip), 'Create', '==', 0)
      .then(etcd.put(lbIpKey(ip)).value(owner))
      .commit();
    if (res.succeeded) return ip;
  }
  throw new Error(`service "${owner}": could not take a LoadBalancer address (too many concurrent changes)`);
}
