// A router: an L3 node that forwards. Static routes come from the topology; dynamic routing
// (FRR) plugs in here as well.
import { z } from 'zod';
import { cidr, commonNodeFields, routeSpec } from '../model/spec.js';
import type { NodeKind } from './kind.js';
import { planL3, validateRoutes } from './l3.js';

export const routerKind: NodeKind = {
  name: 'router',
  description: 'IP router (forwarding on; static routes)',
  bridging: false,
  pingable: true,
  forwards: true,
  schema: z.strictObject({
    ...commonNodeFields,
    kind: z.literal('router'),
    ip: cidr.optional(),
    routes: z.array(routeSpec).optional(),
  }),
  validate: (node, model, sink) => validateRoutes(model, node, sink),
  plan(node, model, plan) {
    planL3(node, model, plan, { autoGateway: false });
    const s = plan.script(node.ns).sysctls;
    s['net.ipv4.ip_forward'] = '1';
    // asymmetric paths are normal in routed topologies: don't let rp_filter drop them
    s['net.ipv4.conf.all.rp_filter'] = '0';
    s['net.ipv4.conf.default.rp_filter'] = '0';
  },
};
