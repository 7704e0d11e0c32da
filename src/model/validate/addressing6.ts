// IPv6 subnets and addresses (addressing.ts's IPv6 side): the topology's own must not overlap
// or collide; every other segment gets the next free /64 from addressing.pool6 (LANs) or
// addressing.p2p6 (links between two nodes, /64 or /127 by addressing.p2pPrefix6), and every
// interface the next free address of its segment.
import {
  contains6,
  formatCidr6,
  formatIp6,
  hostRange6,
  networkOf6,
  overlaps6,
  parseCidr6,
  SubnetPool6,
} from '../../util/ipv6.js';
import type { IssueSink } from '../errors.js';
import type { LinkModel, NodeModel, SegmentModel } from '../model.js';
import type { TopologySpec } from '../spec.js';
import { type AddrFamily, assignFamilyAddresses } from './assign-addrs.js';
import type { ExplicitSubnet6 } from './segments6.js';

export const DEFAULT_POOL6 = 'fd00::/48';
export const DEFAULT_P2P6 = 'fd00:0:ff::/48';
/** An automatic LAN subnet: SLAAC's and every IPv6 LAN's size. */
const LAN_PREFIX6 = 64;

type Addressing = TopologySpec['addressing'];

export function assignSubnets6(
  segments: SegmentModel[],
  explicit: Map<number, ExplicitSubnet6>,
  addressing: Addressing,
  sink: IssueSink,
): void {
  const pool = parseCidr6(addressing?.pool6 ?? DEFAULT_POOL6)!;
  const p2p = parseCidr6(addressing?.p2p6 ?? DEFAULT_P2P6)!;
  const lanPool = new SubnetPool6(networkOf6(pool.ip, pool.prefix));
  const p2pPool = new SubnetPool6(networkOf6(p2p.ip, p2p.prefix));
  const list = [...explicit.entries()];
  list.forEach(([segId, { cidr, path }], i) => {
    for (const [, other] of list.slice(0, i))
      if (overlaps6(cidr, other.cidr))
        sink.add(path, `subnet ${formatCidr6(cidr)} overlaps ${formatCidr6(other.cidr)} of another segment`);
    if (cidr.prefix > 127 && segments[segId].ifaces.length > 1)
      sink.add(
        path,
        `subnet ${formatCidr6(cidr)} has room for one address, but ${segments[segId].ifaces.length} interfaces attach to its L2 segment`,
      );
    lanPool.reserve(cidr);
    p2pPool.reserve(cidr);
    segments[segId].subnet6 = cidr;
  });
  sink.throwIfAny();
  if (addressing?.automatic === false) return;
  const p2pPrefix = addressing?.p2pPrefix6 ?? 64;
  for (const seg of segments) {
    if (explicit.has(seg.id) || seg.ifaces.length === 0) continue;
    const isP2p = seg.switches.length === 0;
    const from = isP2p ? p2pPool : lanPool;
    const prefix = isP2p ? p2pPrefix : LAN_PREFIX6;
    const got = from.allocate(prefix);
    if (!got) {
      const where = seg.switches[0] ? ['nodes', seg.switches[0]] : ['links', seg.ifaces[0].link];
      sink.add(
        where,
        `address pool addressing.${isP2p ? 'p2p6' : 'pool6'} (${formatCidr6(from.pool)}) is exhausted: no free /${prefix} left for this segment`,
      );
      continue;
    }
    (isP2p ? lanPool : p2pPool).reserve(got);
    seg.subnet6 = got;
  }
  sink.throwIfAny();
}

/** Explicit IPv6 addresses inside their subnet and unique; the others allocated in order. */
export function assignAddresses6(
  segments: SegmentModel[],
  nodes: Map<string, NodeModel>,
  links: LinkModel[],
  addressing: Addressing,
  sink: IssueSink,
): void {
  assignFamilyAddresses(IPV6, segments, nodes, links, addressing?.automatic !== false, sink);
}

const IPV6: AddrFamily<bigint> = {
  get: (i) => i.addr6,
  set: (i, a) => {
    i.addr6 = a;
  },
  subnet: (seg) => seg.subnet6,
  contains: contains6,
  hostRange: hostRange6,
  next: (ip) => ip + 1n,
  formatIp: formatIp6,
  formatCidr: formatCidr6,
  reserved: (_ip, c, { first }) =>
    `the subnet-router anycast address of ${formatCidr6(c)}: use one from ${formatIp6(first)}`,
  linkField: 'ipv6',
  nodeField: 'ip6',
};
