// flannel's subnet leases as the main process reads them from a cluster's etcd: each key's
// subnets (IPv4, and IPv6 in a dual-stack cluster), the worker holding it, its attributes.
import type { Etcd3 } from 'etcd3';
import { formatLeaseSubnets, type LeaseAttrs, parseLease, parseSubnetKey } from './flannel.js';

export interface LeaseInfo {
  subnet: string;
  /** dual stack: the part of the key after & */
  subnet6?: string;
  worker?: string;
  attrs: LeaseAttrs;
  /** the raw value, as flanneld would read it */
  value: string;
  lease: string;
}

/** Subnet leases under `<prefix>/subnets/`, with the worker (by public IP) that holds each. */
export async function listLeases(
  etcd: Etcd3,
  prefix: string,
  workers: { name: string; ip?: string }[],
): Promise<LeaseInfo[]> {
  const res = await etcd.getAll().prefix(`${prefix}/subnets/`).exec();
  const out: LeaseInfo[] = [];
  for (const kv of res.kvs) {
    const subnets = parseSubnetKey(prefix, kv.key.toString());
    const value = kv.value.toString();
    const attrs = parseLease(value);
    if (!subnets || !attrs) continue;
    out.push({
      ...formatLeaseSubnets(subnets),
      worker: workers.find((w) => w.ip === attrs.PublicIP)?.name,
      attrs,
      value,
      lease: kv.lease,
    });
  }
  return out;
}
