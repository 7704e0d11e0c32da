// The router fields that configure FRR: high-level intent (ospf, bgp) rendered to frr.conf,
// or a user's own frr.conf and daemons file.
import { z } from 'zod';
import { ipv4, ipv6 } from '../../model/spec.js';
import { parseIp } from '../../util/ipv4.js';

const IFNAME = /^[A-Za-z][A-Za-z0-9_.-]{0,14}$/;
const ifname = z.string().regex(IFNAME, 'not an interface name');

const AREA_MSG = 'an OSPF area: a number (0 to 4294967295) or dotted like 0.0.0.1';
export const area = z.union(
  [
    z.number().int().min(0).max(4294967295),
    z.string().refine((s) => parseIp(s) !== undefined, { message: AREA_MSG }),
  ],
  { error: AREA_MSG },
);

const ASN_MSG = 'AS number out of range: 1 to 4294967295';
export const asn = z
  .number({ error: 'an AS number (1 to 4294967295)' })
  .int(ASN_MSG)
  .min(1, ASN_MSG)
  .max(4294967295, ASN_MSG);

const seconds = (what: string, max = 65535) =>
  z
    .number({ error: `${what} in seconds` })
    .int()
    .min(1)
    .max(max);

export const ospfInterfaceSpec = z.strictObject({
  area: area.optional(),
  cost: z.number().int().min(1).max(65535).optional(),
  passive: z.boolean().optional(),
  network: z.enum(['point-to-point', 'broadcast']).optional(),
});

export const ospfSpec = z.strictObject({
  /** area of every interface that names none (default 0) */
  area: area.optional(),
  /** interface names, or name -> settings; default: every interface (and lo with a loopback) */
  interfaces: z.union([z.array(ifname), z.record(z.string(), ospfInterfaceSpec.nullable())]).optional(),
  cost: z.number().int().min(1).max(65535).optional(),
  timers: z
    .strictObject({ hello: seconds('hello interval').optional(), dead: seconds('dead interval').optional() })
    .optional(),
  redistribute: z.array(z.enum(['connected', 'static', 'kernel', 'bgp'])).optional(),
  bfd: z.boolean().optional(),
});
export type OspfSpec = z.infer<typeof ospfSpec>;

export const bgpNeighborSpec = z.union([
  z.string(),
  z.strictObject({
    /**
     * a node name (its address on a shared subnet, else its loopback; in a topology with IPv6
     * also its IPv6 address, a second session for IPv6 unicast) or an IPv4 or IPv6 address
     */
    peer: z.string(),
    /** default: the peer node's bgp.asn */
    asn: asn.optional(),
    /**
     * one session over the shared link's IPv6 link-local addresses (FRR's `neighbor IFNAME
     * interface`) instead of a session per family; it carries both families, link-local next hops
     */
    unnumbered: z.boolean().optional(),
    routeReflectorClient: z.boolean().optional(),
    nextHopSelf: z.boolean().optional(),
    bfd: z.boolean().optional(),
  }),
]);
export type BgpNeighborSpec = z.infer<typeof bgpNeighborSpec>;

export const bgpSpec = z.strictObject({
  asn,
  neighbors: z.array(bgpNeighborSpec).optional(),
  /** networks to announce: CIDRs (IPv4 or IPv6), or interface names meaning their subnets */
  networks: z.array(z.string()).optional(),
  redistribute: z.array(z.enum(['connected', 'static', 'kernel', 'ospf'])).optional(),
  timers: z
    .strictObject({
      keepalive: z.number().int().min(0).max(65535).optional(),
      hold: z.number().int().min(0).max(65535).optional(),
      connect: seconds('connect retry').optional(),
    })
    .optional(),
});
export type BgpSpec = z.infer<typeof bgpSpec>;

export const frrFilesSpec = z.strictObject({
  /** the user's frr.conf (path relative to the topology file) */
  config: z.string(),
  /** Debian's daemons file (default: the daemons the config needs) */
  daemons: z.string().optional(),
});
export type FrrFilesSpec = z.infer<typeof frrFilesSpec>;

/** The router fields for FRR (spread into the router kind's schema). */
export const frrRouterFields = {
  /**
   * OSPF/BGP router id (default: the loopback, else the first IPv4 address; a router without
   * IPv4 gets 0.0.0.N, N its position among the topology's routers)
   */
  routerId: ipv4.optional(),
  /** an address on lo (/32), advertised by OSPF and used for BGP sessions between non-neighbours */
  loopback: ipv4.optional(),
  /** an IPv6 address on lo (/128), advertised by OSPFv3 and used for IPv6 BGP sessions between non-neighbours */
  loopback6: ipv6.optional(),
  ospf: ospfSpec.optional(),
  bgp: bgpSpec.optional(),
  frr: frrFilesSpec.optional(),
};

export interface FrrRouterSpec {
  routerId?: string;
  loopback?: string;
  loopback6?: string;
  ospf?: OspfSpec;
  bgp?: BgpSpec;
  frr?: FrrFilesSpec;
  routes?: { dst: string; via?: string; dev?: string; metric?: number }[];
}

/** Fast defaults for rendered configs (documented in the README). */
export const OSPF_DEFAULT_TIMERS = { hello: 1, dead: 4 };
export const BGP_DEFAULT_TIMERS = { keepalive: 1, hold: 3, connect: 1 };
