// A plain end host: one namespace, its links, addresses, routes and a default gateway.
import { z } from 'zod';
import { cidr, cidr6, commonNodeFields, routeSpec } from '../spec.js';
import type { NodeKind } from './kind.js';
import { planL3, validateRoutes } from './l3.js';

export const hostKind: NodeKind = {
  name: 'host',
  description: 'end host (its own network namespace)',
  bridging: false,
  pingable: true,
  schema: z.strictObject({
    ...commonNodeFields,
    kind: z.literal('host'),
    ip: cidr.optional(),
    gateway: z.string().optional(),
    /** the IPv6 address of its first interface */
    ip6: cidr6.optional(),
    /** its IPv6 default gateway: an address or a node name (default: the router on its first LAN) */
    gateway6: z.string().optional(),
    routes: z.array(routeSpec).optional(),
  }),
  validate: (node, model, sink) => validateRoutes(model, node, sink),
  plan: (node, model, plan) => planL3(node, model, plan, { autoGateway: true }),
};
