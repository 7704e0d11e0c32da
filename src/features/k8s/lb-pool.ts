// The address pool of a cluster's LoadBalancer services (MetalLB's IPAddressPool for layer-2
// mode): a range of the underlay subnet the workers sit on, so a host on that subnet reaches the
// addresses by ARP. Given as `loadBalancerPool` (a CIDR or `first-last`), or by default the top
// 8 host addresses of that subnet (the next 8 below for the second cluster on it, by name), which
// interface allocation (from the bottom up) reaches last. Checked against every address of the
// segment once addresses are allocated.
import type { Etcd3 } from 'etcd3';
import type { IssueSink } from '../../model/errors.js';
import type { Model, NodeModel, SegmentModel } from '../../model/model.js';
import { contains, formatCidr, formatIp, hostRange, networkOf, parseCidr } from '../../util/ipv4.js';
import { formatPool, type LbPool, parsePool } from './services/lb-ipam.js';
import { LB_POOL_KEY } from './services/objects.js';
import type { ClusterConfig } from './spec.js';

const DEFAULT_SIZE = 8;

const configOf = (n: NodeModel) => (n.spec as { clusterConfig?: ClusterConfig }).clusterConfig;

/** The underlay segment of a cluster's first worker. */
function segmentOf(cfg: ClusterConfig, model: Model): SegmentModel | undefined {
  const w = model.nodes.get(cfg.workers[0]);
  const iface = w?.ifaces[0];
  return iface ? model.segments.find((s) => s.id === iface.segment) : undefined;
}

/** `10.0.0.240/28` or `10.0.0.240-10.0.0.250`; undefined if neither. */
export function parsePoolText(text: string): LbPool | undefined {
  if (text.includes('/')) {
    const c = parseCidr(text);
    if (!c) return undefined;
    const n = networkOf(c.ip, c.prefix);
    return c.prefix >= 31 ? { first: n.net, last: n.net + 2 ** (32 - c.prefix) - 1 } : hostRange(n);
  }
  return parsePool(text);
}

/** The cluster's pool, or why it has none (a message for the `loadBalancerPool` field). */
export function resolveLbPool(cfg: ClusterConfig, model: Model): { pool?: LbPool; problem?: string } {
  const seg = segmentOf(cfg, model);
  if (!seg) return { problem: 'the workers have no underlay subnet' };
  const { first, last } = hostRange(seg.subnet);
  let pool: LbPool;
  if (cfg.loadBalancerPool) {
    const p = parsePoolText(cfg.loadBalancerPool);
    if (!p)
      return { problem: `"${cfg.loadBalancerPool}" is not a CIDR or a range first-last of IPv4 addresses` };
    if (!contains(seg.subnet, p.first) || !contains(seg.subnet, p.last) || p.first < first || p.last > last)
      return {
        problem: `${cfg.loadBalancerPool} is not within the workers' underlay subnet ${formatCidr(seg.subnet)} (hosts ${formatIp(first)}-${formatIp(last)})`,
      };
    pool = p;
  } else {
    // the clusters on this segment, by name: the k-th takes the k-th block of 8 from the top
    const names = [...model.nodes.values()]
      .map(configOf)
      .filter((c): c is ClusterConfig => !!c && !c.loadBalancerPool && segmentOf(c, model)?.id === seg.id)
      .map((c) => c.name);
    const k = [...new Set(names)].sort().indexOf(cfg.name);
    const top = last - DEFAULT_SIZE * Math.max(k, 0);
    pool = { first: Math.max(top - DEFAULT_SIZE + 1, first), last: top };
    if (top < first) return { problem: `no room for a default pool in ${formatCidr(seg.subnet)}` };
  }
  for (const i of seg.ifaces)
    if (i.addr && i.addr.ip >= pool.first && i.addr.ip <= pool.last)
      return {
        problem: `the pool ${formatPool(pool)} holds ${formatIp(i.addr.ip)}, the address of ${i.node}:${i.name}${cfg.loadBalancerPool ? '' : ' (the default pool: set loadBalancerPool)'}`,
      };
  for (const n of model.nodes.values()) {
    const o = configOf(n);
    if (!o || o.name === cfg.name || n.name !== o.workers[0] || !o.loadBalancerPool) continue;
    const p = parsePoolText(o.loadBalancerPool);
    if (p && p.first <= pool.last && pool.first <= p.last)
      return { problem: `the pool ${formatPool(pool)} overlaps cluster ${o.name}'s ${formatPool(p)}` };
  }
  return { pool };
}

/** Validation (on the cluster's first worker): a given pool must be usable. */
export function checkLbPool(node: NodeModel, model: Model, sink: IssueSink): void {
  const cfg = configOf(node);
  if (!cfg?.loadBalancerPool || node.name !== cfg.workers[0]) return;
  const { problem } = resolveLbPool(cfg, model);
  if (problem) sink.add(['nodes', cfg.name, 'loadBalancerPool'], problem);
}

/** Writes the pool where the service API finds it (nothing when the cluster has none). */
export async function publishLbPool(etcd: Etcd3, cfg: ClusterConfig, model: Model): Promise<void> {
  const { pool } = resolveLbPool(cfg, model);
  if (pool) await etcd.put(LB_POOL_KEY).value(formatPool(pool));
}
