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
import type { IssueSink, Path } from '../errors.js';
import type { IfaceModel, LinkModel, NodeModel, SegmentModel } from '../model.js';
import type { TopologySpec } from '../spec.js';
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

/** Explicit IPv6 addresses inside their segment's subnet and unique; the others allocated in order. */
export function assignAddresses6(
  segments: SegmentModel[],
  nodes: Map<string, NodeModel>,
  links: LinkModel[],
  addressing: Addressing,
  sink: IssueSink,
): void {
  const taken = new Map<bigint, string>();
  for (const seg of segments) {
    for (const i of seg.ifaces) {
      if (!i.addr6 || !seg.subnet6) continue;
      const where = pathOfAddress6(i, nodes, links);
      const { first, last } = hostRange6(seg.subnet6);
      if (!contains6(seg.subnet6, i.addr6.ip) || i.addr6.prefix !== seg.subnet6.prefix) {
        sink.add(
          where,
          `address ${formatIp6(i.addr6.ip)}/${i.addr6.prefix} is not in this segment's subnet ${formatCidr6(seg.subnet6)}`,
        );
      } else if (i.addr6.ip < first || i.addr6.ip > last) {
        sink.add(
          where,
          `address ${formatIp6(i.addr6.ip)} is the subnet-router anycast address of ${formatCidr6(seg.subnet6)}: use one from ${formatIp6(first)}`,
        );
      } else if (taken.has(i.addr6.ip)) {
        sink.add(where, `address ${formatIp6(i.addr6.ip)} is already used by ${taken.get(i.addr6.ip)}`);
      } else {
        taken.set(i.addr6.ip, `${i.node}:${i.name}`);
      }
    }
  }
  sink.throwIfAny();
  if (addressing?.automatic === false) return;
  for (const seg of segments) {
    if (seg.ifaces.length === 0 || !seg.subnet6) continue;
    const { first, last } = hostRange6(seg.subnet6);
    let next = first;
    for (const i of seg.ifaces) {
      if (i.addr6) continue;
      while (next <= last && taken.has(next)) next++;
      if (next > last) {
        sink.add(
          pathOfAddress6(i, nodes, links),
          `subnet ${formatCidr6(seg.subnet6)} has no free address left for ${i.node}:${i.name}`,
        );
        break;
      }
      i.addr6 = { ip: next, prefix: seg.subnet6.prefix };
      taken.set(next, `${i.node}:${i.name}`);
    }
  }
  sink.throwIfAny();
}

function pathOfAddress6(i: IfaceModel, nodes: Map<string, NodeModel>, links: LinkModel[]): Path {
  const l = links[i.link];
  const side = l.ends[0].node === i.node && l.ends[0].name === i.name ? 0 : 1;
  if (l.spec.ipv6?.[side]) return ['links', i.link, 'ipv6', side];
  const node = nodes.get(i.node)!;
  if (typeof node.spec.ip6 === 'string' && node.ifaces[0] === i) return ['nodes', i.node, 'ip6'];
  return ['links', i.link, 'endpoints', side];
}
