// The topology spec as users write it (YAML or the TypeScript builder produce the same
// shape). Node fields beyond the common ones belong to the node's kind.
import { z } from 'zod';
import { formatCidr, networkOf, parseCidr, parseIp } from '../util/ipv4.js';
import { formatCidr6, networkOf6, parseCidr6, parseIp6 } from '../util/ipv6.js';

export const SIM_NAME_RE = /^[a-z0-9][a-z0-9_]{0,23}$/i;
export const NODE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/;
export const IFNAME_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,14}$/;
/**
 * A sysctl as sysctl(8) names it (net.ipv4.ip_forward, or net/ipv6/conf/eth0.5/accept_dad):
 * it becomes a path under /proc/sys, so no `..`, no empty part, nothing a shell would read.
 */
export const SYSCTL_KEY_RE = /^[a-z][a-z0-9_]*(?:[./][A-Za-z0-9_-][A-Za-z0-9_.-]*)*$/;
const SYSCTL_KEY_MSG = 'a sysctl name like net.ipv4.ip_forward (letters, digits, _ . - and /)';
/** a host name prefix in /etc/hosts (containerlab's clab-<lab>) */
export const HOSTNAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

const CIDR_MSG = 'not an IPv4 CIDR like 10.0.0.1/24';
export const cidr = z
  .string({ error: CIDR_MSG })
  .refine((s) => parseCidr(s) !== undefined, { message: CIDR_MSG });
export const ipv4 = z
  .string({ error: 'not an IPv4 address' })
  .refine((s) => parseIp(s) !== undefined, { message: 'not an IPv4 address' });

const CIDR6_MSG = 'not an IPv6 CIDR like fd00:1::2/64';
export const cidr6 = z
  .string({ error: CIDR6_MSG })
  .refine((s) => parseCidr6(s) !== undefined, { message: CIDR6_MSG });
export const ipv6 = z
  .string({ error: 'not an IPv6 address' })
  .refine((s) => parseIp6(s) !== undefined, { message: 'not an IPv6 address like fd00:1::1' });

/** A network: a CIDR whose host part is zero (`ip route` refuses 10.0.0.5/24). */
function checkNetwork(s: string, ctx: z.RefinementCtx, notCidr: string): void {
  const c = parseCidr(s);
  if (!c) ctx.addIssue({ code: 'custom', message: notCidr });
  else if (networkOf(c.ip, c.prefix).net !== c.ip)
    ctx.addIssue({
      code: 'custom',
      message: `${s} has host bits set: the network is ${formatCidr(networkOf(c.ip, c.prefix))}`,
    });
}
export const network = z
  .string({ error: 'not an IPv4 network like 10.1.0.0/16' })
  .superRefine((s, ctx) => checkNetwork(s, ctx, 'not an IPv4 network like 10.1.0.0/16'));
function checkNetwork6(s: string, ctx: z.RefinementCtx, notCidr: string): void {
  const c = parseCidr6(s);
  if (!c) ctx.addIssue({ code: 'custom', message: notCidr });
  else if (networkOf6(c.ip, c.prefix).net !== c.ip)
    ctx.addIssue({
      code: 'custom',
      message: `${s} has host bits set: the network is ${formatCidr6(networkOf6(c.ip, c.prefix))}`,
    });
}
export const network6 = z
  .string({ error: 'not an IPv6 network like fd00:10::/64' })
  .superRefine((s, ctx) => checkNetwork6(s, ctx, 'not an IPv6 network like fd00:10::/64'));
const DST_MSG = '"default", a network like 10.1.0.0/16 or an IPv6 one like fd00:1::/64 (::/0: IPv6 default)';
const routeDst = z
  .string({ error: DST_MSG })
  .superRefine((s, ctx) =>
    s === 'default'
      ? undefined
      : s.includes(':')
        ? checkNetwork6(s, ctx, DST_MSG)
        : checkNetwork(s, ctx, DST_MSG),
  );

const RATE_MSG = 'rate like 10mbit, 1gbit, 500kbit';
/** "10mbit", "1gbit", "500kbit", "1000000" (bit/s) */
export const rate = z
  .string({ error: RATE_MSG })
  .regex(/^\d+(\.\d+)?\s*([kmg]?bit|[kmg]?bps)?$/i, { message: RATE_MSG, abort: true })
  .refine((s) => Number.parseFloat(s) > 0, 'rate must be more than 0');
const DURATION_MSG = 'duration like 10ms, 1s, 200us';
export const duration = z.string({ error: DURATION_MSG }).regex(/^\d+(\.\d+)?(us|ms|s)$/, DURATION_MSG);
const PERCENT_MSG = 'percentage like 1% or 0.5% (a string with %)';
export const percent = z
  .string({ error: PERCENT_MSG })
  .regex(/^\d+(\.\d+)?%$/, { message: PERCENT_MSG, abort: true })
  .refine((s) => Number.parseFloat(s) <= 100, 'a percentage is at most 100%');

/** Tuples of one entry per link end: a clear message when the count is wrong. */
function perEnd<T extends z.ZodType>(item: T, what: string) {
  return z.tuple([item, item], {
    error: (iss) =>
      iss.code === 'too_big' || iss.code === 'too_small'
        ? `a link has exactly 2 ${what} (one per end), got ${Array.isArray(iss.input) ? iss.input.length : '?'}`
        : undefined,
  });
}

export const routeSpec = z.strictObject({
  dst: routeDst,
  via: z.string().optional(),
  dev: z.string().regex(IFNAME_RE, 'not an interface name').optional(),
  metric: z.number().int().min(0).optional(),
});
export type RouteSpec = z.infer<typeof routeSpec>;

/** Fields every node kind accepts. */
export const commonNodeFields = {
  kind: z.string(),
  labels: z.record(z.string(), z.string()).optional(),
  sysctls: z
    .record(
      z.string().regex(SYSCTL_KEY_RE, SYSCTL_KEY_MSG),
      z.union([z.string().regex(/^[^\n\r\0]*$/, 'a sysctl value is one line'), z.number()]),
    )
    .optional(),
  /** shell lines run inside the node after the network is up */
  exec: z.array(z.string()).optional(),
  /**
   * `/source:/destination[:ro]`: the source appears at the destination in the node's own
   * mount namespace (containerlab's binds); the rest of the file system is the host's
   */
  binds: z
    .array(z.string().regex(/^\/[^:]*:\/[^:]*(:ro|:rw)?$/, 'not "/source:/destination" or "...:ro"'))
    .optional(),
};

export const linkSpec = z.strictObject({
  endpoints: perEnd(z.string(), 'endpoints'),
  /** one address per end; null for an end without one (a switch port) */
  ipv4: perEnd(cidr.nullable(), 'ipv4 entries').optional(),
  /** one IPv6 address per end, as ipv4 */
  ipv6: perEnd(cidr6.nullable(), 'ipv6 entries').optional(),
  subnet: cidr.optional(),
  subnet6: cidr6.optional(),
  mtu: z.number().int().min(68).max(65535).optional(),
  rate: rate.optional(),
  delay: duration.optional(),
  jitter: duration.optional(),
  loss: percent.optional(),
  state: z.enum(['up', 'down'], { error: 'state is "up" or "down"' }).optional(),
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
      /** the families the topology carries (default: dual when any IPv6 field is given, else ipv4) */
      family: z.enum(['ipv4', 'ipv6', 'dual'], { error: 'family is ipv4, ipv6 or dual' }).optional(),
      /** where IPv6 LAN subnets come from (a /64 each; default fd00::/48) */
      pool6: cidr6.optional(),
      /** where IPv6 point-to-point link subnets come from (default fd00:0:ff::/48) */
      p2p6: cidr6.optional(),
      /** the prefix of an automatic IPv6 point-to-point subnet: 64 (default) or 127 (RFC 6164) */
      p2pPrefix6: z.union([z.literal(64), z.literal(127)], { error: 'p2pPrefix6 is 64 or 127' }).optional(),
      /** false: only the addresses and routes the topology gives, no automatic default gateway (containerlab's way: nothing is added) */
      automatic: z.boolean().optional(),
    })
    .optional(),
  nodes: z.record(z.string(), z.record(z.string(), z.unknown())),
  links: z.array(linkSpec).optional(),
  expect: z.array(z.string()).optional(),
  /**
   * each node's own /etc/hosts lists the topology's nodes by name (containerlab's way, every
   * imported lab has it); `prefix`: each also as `<prefix>-<node>` (`clab-<lab>`)
   */
  hosts: z
    .strictObject({
      prefix: z
        .string()
        .regex(HOSTNAME_RE, 'a host name prefix: letters, digits, _ . and -, starting with a letter or digit')
        .optional(),
    })
    .optional(),
});
export type TopologySpec = z.infer<typeof topologySpec>;
export type NodeSpec = Record<string, unknown> & { kind: string };
