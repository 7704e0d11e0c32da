// Helpers shared by the kinds that have addresses and routes (host, router, ...).

import { contains, formatIp, parseIp } from '../../util/ipv4.js';
import type { IssueSink, Path } from '../errors.js';
import type { IfaceModel, Model, NodeModel } from '../model.js';
import type { RouteSpec } from '../spec.js';
import type { PlanSink } from './kind.js';
import { kindOf } from './registry.js';

export interface L3Spec {
  ip?: string;
  gateway?: string;
  routes?: RouteSpec[];
  sysctls?: Record<string, string | number>;
}

/** A next hop given as an IP, or as a node name meaning its address on a shared segment. */
export function resolveNextHop(model: Model, node: NodeModel, via: string): number | string {
  const ip = parseIp(via);
  const onLink = (addr: number) =>
    node.ifaces.some((i) => model.segments[i.segment] && contains(model.segments[i.segment].subnet, addr));
  if (ip !== undefined) {
    return onLink(ip) ? ip : `next hop ${via} is not on any subnet of ${node.name}`;
  }
  const target = model.nodes.get(via);
  if (!target) return `unknown node "${via}" (give an IPv4 address or a node name)`;
  for (const mine of node.ifaces) {
    const theirs = target.ifaces.find((t) => t.segment === mine.segment && t.addr);
    if (theirs?.addr) return theirs.addr.ip;
  }
  return `node "${via}" shares no subnet with ${node.name}`;
}

/**
 * The gateway a host uses when it has none: a forwarding node on its first subnet. Never on a
 * topology with addressing.automatic false (a containerlab import): it adds no route.
 */
export function autoGateway(model: Model, node: NodeModel): number | undefined {
  for (const mine of node.ifaces) {
    const seg = model.segments[mine.segment];
    const gw = seg?.ifaces.find((i) => i.node !== node.name && isForwarder(model, i.node));
    if (gw?.addr) return gw.addr.ip;
  }
  return undefined;
}

function isForwarder(model: Model, name: string): boolean {
  const n = model.nodes.get(name)!;
  return kindOf(n.kind).forwards === true;
}

export function validateRoutes(model: Model, node: NodeModel, sink: IssueSink): void {
  const spec = node.spec as L3Spec;
  spec.routes?.forEach((r, idx) => {
    const path: Path = ['nodes', node.name, 'routes', idx];
    if (!r.via && !r.dev) sink.add(path, 'a route needs "via" or "dev"');
    if (r.via) {
      const hop = resolveNextHop(model, node, r.via);
      if (typeof hop === 'string') sink.add([...path, 'via'], hop);
    }
    if (r.dev && !node.ifaces.some((i) => i.name === r.dev))
      sink.add([...path, 'dev'], `${node.name} has no interface ${r.dev}`);
  });
  if (spec.gateway) {
    const hop = resolveNextHop(model, node, spec.gateway);
    if (typeof hop === 'string') sink.add(['nodes', node.name, 'gateway'], hop);
  }
}

/** ip lines for an L3 node: its interfaces, routes and default gateway. */
export function planL3(node: NodeModel, model: Model, plan: PlanSink, opts: { autoGateway: boolean }): void {
  const spec = node.spec as L3Spec;
  const script = plan.script(node.ns);
  for (const iface of node.ifaces) script.ip.push(...ifaceLines(model, iface));
  let hasDefault = false;
  for (const r of spec.routes ?? []) {
    const parts = [`route replace ${r.dst === 'default' ? 'default' : r.dst}`];
    if (r.via) parts.push(`via ${formatIp(resolveNextHop(model, node, r.via) as number)}`);
    if (r.dev) parts.push(`dev ${r.dev}`);
    if (r.metric !== undefined) parts.push(`metric ${r.metric}`);
    script.ip.push(parts.join(' '));
    if (r.dst === 'default' || r.dst === '0.0.0.0/0') hasDefault = true;
  }
  if (!hasDefault) {
    const gw = spec.gateway
      ? (resolveNextHop(model, node, spec.gateway) as number)
      : opts.autoGateway && model.automatic !== false
        ? autoGateway(model, node)
        : undefined;
    if (gw !== undefined) script.ip.push(`route replace default via ${formatIp(gw)}`);
  }
  for (const [k, v] of Object.entries(spec.sysctls ?? {})) script.sysctls[k] = String(v);
}

/** Address and up/down lines for an interface of an L3 node. */
export function ifaceLines(model: Model, iface: IfaceModel): string[] {
  const lines: string[] = [];
  if (iface.addr) lines.push(`addr add ${formatIp(iface.addr.ip)}/${iface.addr.prefix} dev ${iface.name}`);
  if (model.links[iface.link].spec.state !== 'down') lines.push(`link set ${iface.name} up`);
  return lines;
}
