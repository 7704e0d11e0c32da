// Helpers shared by the kinds that have addresses and routes (host, router, ...).

import { contains, formatIp, parseIp } from '../../util/ipv4.js';
import { contains6, formatIp6, parseIp6 } from '../../util/ipv6.js';
import type { IssueSink, Path } from '../errors.js';
import type { IfaceModel, Model, NodeModel, SegmentModel } from '../model.js';
import type { RouteSpec } from '../spec.js';
import type { PlanSink } from './kind.js';
import { kindOf } from './registry.js';

export interface L3Spec {
  ip?: string;
  gateway?: string;
  ip6?: string;
  gateway6?: string;
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

/** resolveNextHop for IPv6: an IPv6 address on one of the node's subnets, or a node's IPv6 address. */
export function resolveNextHop6(model: Model, node: NodeModel, via: string): bigint | string {
  const ip = parseIp6(via);
  if (ip !== undefined) {
    const onLink = node.ifaces.some((i) => {
      const sub = model.segments[i.segment]?.subnet6;
      return sub !== undefined && contains6(sub, ip);
    });
    return onLink ? ip : `next hop ${via} is not on any IPv6 subnet of ${node.name}`;
  }
  const target = model.nodes.get(via);
  if (!target) return `unknown node "${via}" (give an IPv6 address or a node name)`;
  for (const mine of node.ifaces) {
    const theirs = target.ifaces.find((t) => t.segment === mine.segment && t.addr6);
    if (theirs?.addr6) return theirs.addr6.ip;
  }
  return `node "${via}" shares no IPv6 subnet with ${node.name}`;
}

/** A route's family: by its destination (an IPv6 network has a colon). */
export function routeIs6(dst: string): boolean {
  return dst.includes(':');
}

/**
 * The gateway a host uses when it has none: a forwarding node on its first subnet. Never on a
 * topology with addressing.automatic false (a containerlab import): it adds no route.
 */
export function autoGateway(model: Model, node: NodeModel): number | undefined {
  for (const mine of node.ifaces) {
    const seg = model.segments[mine.segment];
    const gw = seg && forwardersOn(model, seg).find((i) => i.node !== node.name);
    if (gw?.addr) return gw.addr.ip;
  }
  return undefined;
}

/** autoGateway's IPv6 side: the forwarder's IPv6 address on the node's first IPv6 segment. */
export function autoGateway6(model: Model, node: NodeModel): bigint | undefined {
  for (const mine of node.ifaces) {
    const seg = model.segments[mine.segment];
    const gw = seg && forwardersOn(model, seg).find((i) => i.node !== node.name && i.addr6);
    if (gw?.addr6) return gw.addr6.ip;
  }
  return undefined;
}

/**
 * A segment's interfaces on forwarding nodes, in the segment's order: found once per segment
 * rather than once per host (a tree of 5,000 hosts is one segment of 10,000 interfaces: 50
 * million looks, 3 s of planning). Derived from the validated model; made again if the segment
 * has grown since.
 */
const forwarders = new WeakMap<SegmentModel, { size: number; ifaces: IfaceModel[] }>();

function forwardersOn(model: Model, seg: SegmentModel): IfaceModel[] {
  let f = forwarders.get(seg);
  if (f?.size !== seg.ifaces.length) {
    f = { size: seg.ifaces.length, ifaces: seg.ifaces.filter((i) => isForwarder(model, i.node)) };
    forwarders.set(seg, f);
  }
  return f.ifaces;
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
      const hop = routeIs6(r.dst) ? resolveNextHop6(model, node, r.via) : resolveNextHop(model, node, r.via);
      if (typeof hop === 'string') sink.add([...path, 'via'], hop);
    }
    if (r.dev && !node.ifaces.some((i) => i.name === r.dev))
      sink.add([...path, 'dev'], `${node.name} has no interface ${r.dev}`);
  });
  if (spec.gateway) {
    const hop = resolveNextHop(model, node, spec.gateway);
    if (typeof hop === 'string') sink.add(['nodes', node.name, 'gateway'], hop);
  }
  if (spec.gateway6) {
    const hop = resolveNextHop6(model, node, spec.gateway6);
    if (typeof hop === 'string') sink.add(['nodes', node.name, 'gateway6'], hop);
  }
}

/** ip lines for an L3 node: its interfaces, routes and default gateway. */
export function planL3(node: NodeModel, model: Model, plan: PlanSink, opts: { autoGateway: boolean }): void {
  const spec = node.spec as L3Spec;
  const script = plan.script(node.ns);
  const six = model.families.includes(6);
  // IPv6 addresses usable at once and no addresses or routes from stray router advertisements:
  // before any interface comes up (its link-local address is made then, DAD included)
  if (six) Object.assign(script.sysctls, ipv6NodeSysctls(node));
  for (const iface of node.ifaces) script.ip.push(...ifaceLines(model, iface));
  let hasDefault = false;
  let hasDefault6 = false;
  for (const r of spec.routes ?? []) {
    const is6 = routeIs6(r.dst);
    const parts = [`route replace ${r.dst}`];
    if (r.via)
      parts.push(
        `via ${is6 ? formatIp6(resolveNextHop6(model, node, r.via) as bigint) : formatIp(resolveNextHop(model, node, r.via) as number)}`,
      );
    if (r.dev) parts.push(`dev ${r.dev}`);
    if (r.metric !== undefined) parts.push(`metric ${r.metric}`);
    script.ip.push(parts.join(' '));
    if (r.dst === 'default' || r.dst === '0.0.0.0/0') hasDefault = true;
    if (r.dst === '::/0') hasDefault6 = true;
  }
  if (six && !hasDefault6) {
    const gw = spec.gateway6
      ? (resolveNextHop6(model, node, spec.gateway6) as bigint)
      : opts.autoGateway && model.automatic !== false
        ? autoGateway6(model, node)
        : undefined;
    if (gw !== undefined) script.ip.push(`route replace ::/0 via ${formatIp6(gw)}`);
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
  // nodad: usable at once (the namespace has DAD off too; this also covers a link-local made early)
  if (iface.addr6)
    lines.push(`addr add ${formatIp6(iface.addr6.ip)}/${iface.addr6.prefix} dev ${iface.name} nodad`);
  if (model.links[iface.link].spec.state !== 'down') lines.push(`link set ${iface.name} up`);
  return lines;
}

/**
 * Sysctls of an L3 node in a topology with IPv6: no duplicate address detection (addresses are
 * unique by construction, and DAD would hold each one tentative for a second or two) and no
 * router advertisements taken (addresses and routes are the topology's). Per interface too:
 * an interface keeps the `default` value it was created with, and DAD runs if either says so.
 * The `/` form: interface names may hold dots.
 */
export function ipv6NodeSysctls(node: NodeModel): Record<string, string> {
  const out: Record<string, string> = {};
  for (const scope of ['all', 'default', ...node.ifaces.map((i) => i.name)]) {
    out[`net/ipv6/conf/${scope}/accept_dad`] = '0';
    out[`net/ipv6/conf/${scope}/accept_ra`] = '0';
  }
  return out;
}
