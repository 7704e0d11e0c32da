// The topology spec as users write it (YAML or the TypeScript builder produce the same
// shape). Node fields beyond the common ones belong to the node's kind.
import { z } from 'zod';
import { parseCidr, parseIp } from '../util/ipv4.js';

export const SIM_NAME_RE = /^[a-z0-9][a-z0-9_]{0,23}$/i;
export const NODE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.]{0,39}$/;
export const IFNAME_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,14}$/;

export const cidr = z.string().refine((s) => parseCidr(s) !== undefined, {
  message: 'not an IPv4 CIDR like 10.0.0.1/24',
});
export const ipv4 = z.string().refine((s) => parseIp(s) !== undefined, { message: 'not an IPv4 address' });

/** "10mbit", "1gbit", "500kbit", "1000000" (bit/s) */
export const rate = z
  .string()
  .regex(/^\d+(\.\d+)?\s*([kmg]?bit|[kmg]?bps)?$/i, 'rate like 10mbit, 1gbit, 500kbit');
export const duration = z.string().regex(/^\d+(\.\d+)?(us|ms|s)$/, 'duration like 10ms, 1s, 200us');
export const percent = z.string().regex(/^\d+(\.\d+)?%$/, 'percentage like 1% or 0.5%');

export const routeSpec = z.strictObject({
  dst: z.union([cidr, z.literal('default')]),
  via: z.string().optional(),
  dev: z.string().regex(IFNAME_RE).optional(),
  metric: z.number().int().min(0).optional(),
});
export type RouteSpec = z.infer<typeof routeSpec>;

/** Fields every node kind accepts. */
export const commonNodeFields = {
  kind: z.string(),
  labels: z.record(z.string(), z.string()).optional(),
  sysctls: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  /** shell lines run inside the node after the network is up */
  exec: z.array(z.string()).optional(),
};

export const linkSpec = z.strictObject({
  endpoints: z.tuple([z.string(), z.string()]),
  ipv4: z.tuple([cidr.nullable(), cidr.nullable()]).optional(),
  subnet: cidr.optional(),
  mtu: z.number().int().min(68).max(65535).optional(),
  rate: rate.optional(),
  delay: duration.optional(),
  jitter: duration.optional(),
  loss: percent.optional(),
  state: z.enum(['up', 'down']).optional(),
});
export type LinkSpec = z.infer<typeof linkSpec>;

export const topologySpec = z.strictObject({
  name: z.string().regex(SIM_NAME_RE, 'letters, digits and _ (at most 24), starting with a letter or digit'),
  addressing: z
    .strictObject({
      /** where LAN (switch) subnets come from */
      pool: cidr.optional(),
      /** where point-to-point link subnets come from */
      p2p: cidr.optional(),
      /** smallest LAN prefix (default 24) */
      lanPrefix: z.number().int().min(8).max(30).optional(),
    })
    .optional(),
  nodes: z.record(z.string(), z.record(z.string(), z.unknown())),
  links: z.array(linkSpec).optional(),
  expect: z.array(z.string()).optional(),
});
export type TopologySpec = z.infer<typeof topologySpec>;
export type NodeSpec = Record<string, unknown> & { kind: string };
