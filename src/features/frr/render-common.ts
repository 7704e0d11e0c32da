// What the parts of a rendered frr.conf share: how problems are reported (at the topology
// field that caused them), the router's FRR fields, and staticd's routes.
import type { Path } from '../../model/errors.js';
import { resolveNextHop, resolveNextHop6, routeIs6 } from '../../model/kinds/l3.js';
import type { Model, NodeModel } from '../../model/model.js';
import { formatIp, parseIp } from '../../util/ipv4.js';
import { formatIp6 } from '../../util/ipv6.js';
import type { FrrRouterSpec } from './spec.js';

export type Report = (path: Path, message: string) => void;

export function frrSpecOf(node: NodeModel): FrrRouterSpec {
  return node.spec as FrrRouterSpec;
}

/**
 * The topology's static routes as staticd lines (`ip route DST [NEXTHOP] [DEV] [DISTANCE]`,
 * `ipv6 route` for an IPv6 destination).
 */
export function staticRouteLines(node: NodeModel, model: Model): string[] {
  const L: string[] = [];
  for (const r of frrSpecOf(node).routes ?? []) {
    const six = routeIs6(r.dst);
    const dst = r.dst === 'default' ? '0.0.0.0/0' : r.dst;
    const parts = [`${six ? 'ipv6' : 'ip'} route ${dst}`];
    if (r.via && six) {
      const hop = resolveNextHop6(model, node, r.via);
      if (typeof hop === 'bigint') parts.push(formatIp6(hop));
    } else if (r.via) {
      const ip = parseIp(r.via);
      const hop = ip !== undefined ? ip : resolveNextHop(model, node, r.via);
      if (typeof hop === 'number') parts.push(formatIp(hop));
    }
    if (r.dev) parts.push(r.dev);
    // FRR's distance field is 1..255 where the kernel's metric is not bounded
    if (r.metric !== undefined) parts.push(String(Math.min(255, Math.max(1, r.metric))));
    L.push(parts.join(' '));
  }
  return L;
}
