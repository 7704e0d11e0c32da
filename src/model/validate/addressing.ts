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
import type { IssueSink, Path } from '../errors.js';
import type { IfaceModel, LinkModel, NodeModel, SegmentModel } from '../model.js';
import type { TopologySpec } from '../spec.js';
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
 * Every interface's address: explicit ones inside their segment's subnet, not its network
 * or broadcast address, and unique; the others the next free ones in order. Throws on issues.
 */
export function assignAddresses(
  segments: SegmentModel[],
  nodes: Map<string, NodeModel>,
  links: LinkModel[],
  addressing: Addressing,
  sink: IssueSink,
): void {
  const taken = new Map<number, string>();
  const addrPath = (i: IfaceModel) => pathOfAddress(i, nodes, links);
  for (const seg of segments) {
    for (const i of seg.ifaces) {
      if (!i.addr) continue;
      const { first, last } = hostRange(seg.subnet);
      if (!contains(seg.subnet, i.addr.ip) || i.addr.prefix !== seg.subnet.prefix) {
        sink.add(
          addrPath(i),
          `address ${formatIp(i.addr.ip)}/${i.addr.prefix} is not in this segment's subnet ${formatCidr(seg.subnet)}`,
        );
      } else if (i.addr.ip < first || i.addr.ip > last) {
        const which = i.addr.ip === seg.subnet.net ? 'network' : 'broadcast';
        sink.add(
          addrPath(i),
          `address ${formatIp(i.addr.ip)} is the ${which} address of ${formatCidr(seg.subnet)}: use one from ${formatIp(first)} to ${formatIp(last)}`,
        );
      } else if (taken.has(i.addr.ip)) {
        sink.add(addrPath(i), `address ${formatIp(i.addr.ip)} is already used by ${taken.get(i.addr.ip)}`);
      } else {
        taken.set(i.addr.ip, `${i.node}:${i.name}`);
      }
    }
  }
  sink.throwIfAny();
  if (addressing?.automatic === false) return;
  for (const seg of segments) {
    if (seg.ifaces.length === 0) continue;
    const { first, last } = hostRange(seg.subnet);
    let next = first;
    for (const i of seg.ifaces) {
      if (i.addr) continue;
      while (next <= last && taken.has(next)) next++;
      if (next > last) {
        sink.add(
          addrPath(i),
          `subnet ${formatCidr(seg.subnet)} has no free address left for ${i.node}:${i.name}`,
        );
        break;
      }
      i.addr = { ip: next, prefix: seg.subnet.prefix };
      taken.set(next, `${i.node}:${i.name}`);
    }
  }
  sink.throwIfAny();
}

/** The field an interface's address comes from (or would): its link's ipv4, the node's ip, the endpoint. */
function pathOfAddress(i: IfaceModel, nodes: Map<string, NodeModel>, links: LinkModel[]): Path {
  const l = links[i.link];
  const side = l.ends[0].node === i.node && l.ends[0].name === i.name ? 0 : 1;
  if (l.spec.ipv4?.[side]) return ['links', i.link, 'ipv4', side];
  const node = nodes.get(i.node)!;
  if (typeof node.spec.ip === 'string' && node.ifaces[0] === i) return ['nodes', i.node, 'ip'];
  return ['links', i.link, 'endpoints', side];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : word.endsWith('s') ? 'es' : 's'}`;
}
