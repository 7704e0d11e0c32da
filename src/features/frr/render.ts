// High-level routing intent (ospf/bgp/static routes in the topology) -> frr.conf text.
// Names are resolved against the model (interfaces, peers, subnets); every problem is
// reported at the field that caused it. Rendered configs use point-to-point OSPF on links
// with two routers and short timers so simulations converge in seconds. The sections are
// rendered by render-common.ts (static routes), render-ospf.ts and render-bgp.ts.
import { hasFamily, type Model, type NodeModel } from '../../model/model.js';
import { formatIp } from '../../util/ipv4.js';
import { bgpLines } from './render-bgp.js';
import { frrSpecOf, type Report, staticRouteLines } from './render-common.js';
import { ospfInterfaces, ospfLines } from './render-ospf.js';

/**
 * The router id a rendered config uses: explicit, the loopback, or the first IPv4 address.
 * With the model, a router that has only IPv6 (OSPFv3 and BGP still need a 32-bit id) gets
 * 0.0.0.N, N its position among the routers, skipping ids other routers use.
 */
export function routerIdOf(node: NodeModel, model?: Model): string | undefined {
  const s = frrSpecOf(node);
  if (s.routerId) return s.routerId;
  if (s.loopback) return s.loopback;
  const a = node.ifaces.find((i) => i.addr)?.addr;
  if (a) return formatIp(a.ip);
  if (!model || !(s.loopback6 || node.ifaces.some((i) => i.addr6))) return undefined;
  const routers = [...model.nodes.values()].filter((n) => n.kind === 'router');
  const taken = new Set(routers.filter((n) => n !== node).map((n) => routerIdOf(n)));
  let id = routers.indexOf(node) + 1;
  while (taken.has(formatIp(id))) id++;
  return formatIp(id);
}

/** Renders the frr.conf of a router from its intent; undefined when it has none. */
export function renderConfig(node: NodeModel, model: Model, report: Report): string | undefined {
  const s = frrSpecOf(node);
  if (!s.ospf && !s.bgp) return undefined;
  const rid = routerIdOf(node, model);
  const L: string[] = [
    `! rendered by netsim from the topology (${node.name}); edit the topology, not this file`,
    'frr defaults traditional',
    `hostname ${node.name}`,
    'service integrated-vtysh-config',
    '!',
  ];
  const routes = staticRouteLines(node, model);
  if (routes.length) L.push(...routes, '!');
  // OSPFv2 for IPv4, OSPFv3 for IPv6 (its interface problems were reported for OSPFv2's)
  const v4 = ospfInterfaces(node, model, report);
  const v6 = hasFamily(model, 6) ? ospfInterfaces(node, model, () => {}, 6) : undefined;
  L.push(...ospfLines(node, hasFamily(model, 4) ? v4 : undefined, rid, report, v6));
  L.push(...bgpLines(node, model, rid, report));
  L.push('end');
  return `${L.join('\n')}\n`;
}

/** Whether the rendered config needs ospf6d: OSPF intent in a topology with IPv6. */
export function needsOspf6(node: NodeModel, model: Model): boolean {
  return frrSpecOf(node).ospf !== undefined && hasFamily(model, 6);
}

/** Whether the rendered config needs bfdd. */
export function needsBfd(node: NodeModel): boolean {
  const s = frrSpecOf(node);
  return Boolean(s.ospf?.bfd || s.bgp?.neighbors?.some((n) => typeof n !== 'string' && n.bfd));
}
