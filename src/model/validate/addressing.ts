// Subnets and addresses: the topology's own must not overlap or collide; every segment and
// interface without one gets the next free one from the pools (addressing.pool for LANs,
// addressing.p2p for links between two nodes).
import {
  contains,
  formatCidr,
  formatIp,
  hostRange,
  networkOf,
  overlaps,
  parseCidr,
  prefixFor,
  SubnetPool,
} from '../../util/ipv4.js';
import type { IssueSink } from '../errors.js';
import type { LinkModel, NodeModel, SegmentModel } from '../model.js';
import type { TopologySpec } from '../spec.js';
import { type AddrFamily, assignFamilyAddresses } from './assign-addrs.js';
import type { Segments } from './segments.js';

const DEFAULT_POOL = '10.0.0.0/9';
const DEFAULT_P2P = '10.255.0.0/16';

type Addressing = TopologySpec['addressing'];

/** Every segment's subnet: explicit ones checked and reserved, the rest allocated. Throws on issues. */
export function assignSubnets(
  { segments, explicit }: Segments,
  addressing: Addressing,
  sink: IssueSink,
): void {
  const pool = parseCidr(addressing?.pool ?? DEFAULT_POOL)!;
  const p2p = parseCidr(addressing?.p2p ?? DEFAULT_P2P)!;
  const lanPool = new SubnetPool(networkOf(pool.ip, pool.prefix));
  const p2pPool = new SubnetPool(networkOf(p2p.ip, p2p.prefix));
  const explicitList = [...explicit.entries()];
  explicitList.forEach(([segId, { cidr, path }], i) => {
    for (const [, other] of explicitList.slice(0, i)) {
      if (overlaps(cidr, other.cidr)) {
        sink.add(path, `subnet ${formatCidr(cidr)} overlaps ${formatCidr(other.cidr)} of another segment`);
      }
    }
    lanPool.reserve(cidr);
    p2pPool.reserve(cidr);
    segments[segId].subnet = cidr;
    const { first, last } = hostRange(cidr);
    const attached = segments[segId].ifaces.length;
    if (attached > last - first + 1) {
      sink.add(
        path,
        `subnet ${formatCidr(cidr)} has room for ${plural(last - first + 1, 'address')}, but ${attached} interfaces attach to its L2 segment`,
      );
    }
  });
  sink.throwIfAny();
  const lanPrefix = addressing?.lanPrefix ?? 24;
  if (addressing?.automatic === false) return;
  for (const seg of segments) {
    if (explicit.has(seg.id)) continue;
    if (seg.ifaces.length === 0) continue; // switches with no hosts: nothing to address
    const isP2p = seg.switches.length === 0;
    const prefix = isP2p ? 30 : Math.min(lanPrefix, prefixFor(seg.ifaces.length + 1));
    const from = isP2p ? p2pPool : lanPool;
    const got = from.allocate(prefix);
    if (!got) {
      const where = seg.switches[0] ? ['nodes', seg.switches[0]] : ['links', seg.ifaces[0].link];
      sink.add(
        where,
        `address pool addressing.${isP2p ? 'p2p' : 'pool'} (${formatCidr(from.pool)}) is exhausted: no free /${prefix} left for this segment${
          !isP2p && prefix === lanPrefix
            ? ` (LAN subnets are /${lanPrefix} or larger: see addressing.lanPrefix)`
            : ''
        }`,
      );
      continue;
    }
    // the two pools may overlap (a user's pool can contain the default p2p range)
    (isP2p ? lanPool : p2pPool).reserve(got);
    seg.subnet = got;
  }
  sink.throwIfAny();
}

/**
 * Every interface's IPv4 address: explicit ones inside their segment's subnet, not its network
 * or broadcast address, and unique; the others the next free ones in order. Throws on issues.
 */
export function assignAddresses(
  segments: SegmentModel[],
  nodes: Map<string, NodeModel>,
  links: LinkModel[],
  addressing: Addressing,
  sink: IssueSink,
): void {
  assignFamilyAddresses(IPV4, segments, nodes, links, addressing?.automatic !== false, sink);
}

const IPV4: AddrFamily<number> = {
  get: (i) => i.addr,
  set: (i, a) => {
    i.addr = a;
  },
  subnet: (seg) => seg.subnet,
  contains,
  hostRange,
  next: (ip) => ip + 1,
  formatIp,
  formatCidr,
  reserved: (ip, c, { first, last }) =>
    `the ${ip === c.net ? 'network' : 'broadcast'} address of ${formatCidr(c)}: use one from ${formatIp(first)} to ${formatIp(last)}`,
  linkField: 'ipv4',
  nodeField: 'ip',
};

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : word.endsWith('s') ? 'es' : 's'}`;
}
