// High-level routing intent (ospf/bgp/static routes in the topology) -> frr.conf text.
// Names are resolved against the model (interfaces, peers, subnets); every problem is
// reported at the field that caused it. Rendered configs use point-to-point OSPF on links
// with two routers and short timers so simulations converge in seconds. The sections are
// rendered by render-common.ts (static routes), render-ospf.ts and render-bgp.ts.
import type { Model, NodeModel } from '../../model/model.js';
import { formatIp } from '../../util/ipv4.js';
import { bgpLines } from './render-bgp.js';
import { frrSpecOf, type Report, staticRouteLines } from './render-common.js';
import { ospfInterfaces, ospfLines } from './render-ospf.js';

/** The router id a rendered config uses: explicit, the loopback, or the first address. */
export function routerIdOf(node: NodeModel): string | undefined {
  const s = frrSpecOf(node);
  if (s.routerId) return s.routerId;
  if (s.loopback) return s.loopback;
  const a = node.ifaces.find((i) => i.addr)?.addr;
  return a ? formatIp(a.ip) : undefined;
}

/** Renders the frr.conf of a router from its intent; undefined when it has none. */
export function renderConfig(node: NodeModel, model: Model, report: Report): string | undefined {
  const s = frrSpecOf(node);
  if (!s.ospf && !s.bgp) return undefined;
  const rid = routerIdOf(node);
  const L: string[] = [
    `! rendered by netsim from the topology (${node.name}); edit the topology, not this file`,
    'frr defaults traditional',
    `hostname ${node.name}`,
    'service integrated-vtysh-config',
    '!',
  ];
  const routes = staticRouteLines(node, model);
  if (routes.length) L.push(...routes, '!');
  L.push(...ospfLines(node, ospfInterfaces(node, model, report), rid, report));
  L.push(...bgpLines(node, model, rid, report));
  L.push('end');
  return `${L.join('\n')}\n`;
}

/** Whether the rendered config needs bfdd. */
export function needsBfd(node: NodeModel): boolean {
  const s = frrSpecOf(node);
  return Boolean(s.ospf?.bfd || s.bgp?.neighbors?.some((n) => typeof n !== 'string' && n.bfd));
}
