// A router (its static description: schema, validation, plan): an L3 node that forwards. Static routes come from the topology; with ospf/bgp
// intent or its own frr.conf it runs real FRR daemons in its namespace (src/features/frr).
import { z } from 'zod';
import type { IssueSink, Path } from '../../model/errors.js';
import type { NodeKind } from '../../model/kinds/kind.js';
import { planL3, validateRoutes } from '../../model/kinds/l3.js';
import type { Model, NodeModel } from '../../model/model.js';
import { cidr, cidr6, commonNodeFields, routeSpec } from '../../model/spec.js';
import { contains, parseIp } from '../../util/ipv4.js';
import { contains6, formatIp6, parseIp6 } from '../../util/ipv6.js';
import { routerIdOf } from './render.js';
import { checkFrr, frrSetupOf, hasFrr } from './setup.js';
import { type FrrRouterSpec, frrRouterFields } from './spec.js';

export const routerKind: NodeKind = {
  name: 'router',
  description: 'IP router (forwarding on; static routes, or FRR: ospf/bgp intent or your own frr.conf)',
  bridging: false,
  pingable: true,
  forwards: true,
  schema: z.strictObject({
    ...commonNodeFields,
    kind: z.literal('router'),
    ip: cidr.optional(),
    ip6: cidr6.optional(),
    routes: z.array(routeSpec).optional(),
    ...frrRouterFields,
  }),
  validate(node, model, sink) {
    validateRoutes(model, node, sink);
    const s = node.spec as FrrRouterSpec;
    if (s.loopback) {
      const ip = parseIp(s.loopback)!;
      for (const other of model.nodes.values()) {
        const clash = other.ifaces.find((i) => i.addr?.ip === ip);
        const otherLo = other !== node && (other.spec as FrrRouterSpec).loopback === s.loopback;
        if (clash || otherLo)
          sink.add(
            ['nodes', node.name, 'loopback'],
            `address ${s.loopback} is already used by ${clash ? `${clash.node}:${clash.name}` : `the loopback of ${other.name}`}`,
          );
      }
      const seg = model.segments.find((g) => g.ifaces.length && contains(g.subnet, ip));
      if (seg)
        sink.add(
          ['nodes', node.name, 'loopback'],
          `${s.loopback} is inside a link subnet: a loopback needs an address of its own`,
        );
    }
    if (s.loopback6) validateLoopback6(node, model, s.loopback6, sink);
    if (s.routerId && hasFrr(node)) {
      for (const other of model.nodes.values())
        if (
          other !== node &&
          other.kind === 'router' &&
          hasFrr(other) &&
          routerIdOf(other, model) === s.routerId
        )
          sink.add(
            ['nodes', node.name, 'routerId'],
            `router id ${s.routerId} is also the router id of ${other.name}`,
          );
    }
    checkFrr(node, model, sink);
  },
  plan(node, model, plan) {
    const s = node.spec as FrrRouterSpec;
    // with FRR the static routes are staticd's (rendered into frr.conf), so FRR can
    // redistribute them; a user's own frr.conf leaves `routes` to the kernel
    const routesInFrr = (s.ospf || s.bgp) && s.routes?.length;
    planL3(routesInFrr ? { ...node, spec: { ...node.spec, routes: undefined } } : node, model, plan, {
      autoGateway: false,
    });
    const script = plan.script(node.ns);
    if (s.loopback) script.ip.push(`addr add ${s.loopback}/32 dev lo`);
    if (s.loopback6) script.ip.push(`addr add ${formatIp6(parseIp6(s.loopback6)!)}/128 dev lo`);
    const sysctls = script.sysctls;
    sysctls['net.ipv4.ip_forward'] = '1';
    // asymmetric paths are normal in routed topologies: don't let rp_filter drop them
    sysctls['net.ipv4.conf.all.rp_filter'] = '0';
    sysctls['net.ipv4.conf.default.rp_filter'] = '0';
    // a user's frr.conf may give IPv6 addresses in a topology without IPv6: zebra adds them,
    // the kernel must forward
    if (model.families.includes(6) || (s.frr && mentionsIpv6(frrSetupOf(node, model)?.config ?? '')))
      sysctls['net.ipv6.conf.all.forwarding'] = '1';
  },
};

/** A loopback6: its own address, outside every IPv6 link subnet. */
function validateLoopback6(node: NodeModel, model: Model, lo: string, sink: IssueSink): void {
  const ip = parseIp6(lo)!;
  const path: Path = ['nodes', node.name, 'loopback6'];
  for (const other of model.nodes.values()) {
    const clash = other.ifaces.find((i) => i.addr6?.ip === ip);
    const otherLo = other !== node && parseIp6((other.spec as FrrRouterSpec).loopback6 ?? '') === ip;
    if (clash || otherLo)
      sink.add(
        path,
        `address ${lo} is already used by ${clash ? `${clash.node}:${clash.name}` : `the loopback6 of ${other.name}`}`,
      );
  }
  if (model.segments.some((g) => g.ifaces.length && g.subnet6 && contains6(g.subnet6, ip)))
    sink.add(path, `${lo} is inside a link subnet: a loopback needs an address of its own`);
}

/** Does a frr.conf configure anything IPv6 (addresses, OSPFv3, IPv6 routes)? */
function mentionsIpv6(config: string): boolean {
  return /^\s*(ipv6 |router ospf6\b|address-family ipv6\b)/m.test(config);
}
