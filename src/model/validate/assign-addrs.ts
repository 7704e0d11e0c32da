// Interface addresses of one family, the same rules for IPv4 and IPv6: explicit ones inside
// their segment's subnet, not a reserved address of it, and unique; the others the next free
// ones in segment order. The family's arithmetic comes in as a few functions (numbers for
// IPv4, bigints for IPv6).
import type { IssueSink, Path } from '../errors.js';
import type { IfaceModel, LinkModel, NodeModel, SegmentModel } from '../model.js';

export interface AddrFamily<A extends number | bigint> {
  /** where the interface keeps its address of this family */
  get(i: IfaceModel): { ip: A; prefix: number } | undefined;
  set(i: IfaceModel, a: { ip: A; prefix: number }): void;
  subnet(seg: SegmentModel): { net: A; prefix: number } | undefined;
  contains(c: { net: A; prefix: number }, ip: A): boolean;
  hostRange(c: { net: A; prefix: number }): { first: A; last: A };
  next(ip: A): A;
  formatIp(ip: A): string;
  formatCidr(c: { net: A; prefix: number }): string;
  /** what a subnet's address outside its host range is, and which to use instead */
  reserved(ip: A, c: { net: A; prefix: number }, range: { first: A; last: A }): string;
  /** the link field (`ipv4`) and node field (`ip`) an address is given in */
  linkField: 'ipv4' | 'ipv6';
  nodeField: 'ip' | 'ip6';
}

export function assignFamilyAddresses<A extends number | bigint>(
  f: AddrFamily<A>,
  segments: SegmentModel[],
  nodes: Map<string, NodeModel>,
  links: LinkModel[],
  automatic: boolean,
  sink: IssueSink,
): void {
  const taken = new Map<A, string>();
  const where = (i: IfaceModel) => pathOfAddress(f, i, nodes, links);
  for (const seg of segments) {
    const subnet = f.subnet(seg);
    if (!subnet) continue;
    for (const i of seg.ifaces) {
      const addr = f.get(i);
      if (!addr) continue;
      const range = f.hostRange(subnet);
      if (!f.contains(subnet, addr.ip) || addr.prefix !== subnet.prefix) {
        sink.add(
          where(i),
          `address ${f.formatIp(addr.ip)}/${addr.prefix} is not in this segment's subnet ${f.formatCidr(subnet)}`,
        );
      } else if (addr.ip < range.first || addr.ip > range.last) {
        sink.add(where(i), `address ${f.formatIp(addr.ip)} is ${f.reserved(addr.ip, subnet, range)}`);
      } else if (taken.has(addr.ip)) {
        sink.add(where(i), `address ${f.formatIp(addr.ip)} is already used by ${taken.get(addr.ip)}`);
      } else {
        taken.set(addr.ip, `${i.node}:${i.name}`);
      }
    }
  }
  sink.throwIfAny();
  if (!automatic) return;
  for (const seg of segments) {
    const subnet = f.subnet(seg);
    if (seg.ifaces.length === 0 || !subnet) continue;
    const { first, last } = f.hostRange(subnet);
    let next = first;
    for (const i of seg.ifaces) {
      if (f.get(i)) continue;
      while (next <= last && taken.has(next)) next = f.next(next);
      if (next > last) {
        sink.add(where(i), `subnet ${f.formatCidr(subnet)} has no free address left for ${i.node}:${i.name}`);
        break;
      }
      f.set(i, { ip: next, prefix: subnet.prefix });
      taken.set(next, `${i.node}:${i.name}`);
    }
  }
  sink.throwIfAny();
}

/** The field an interface's address comes from (or would): its link's ipv4/ipv6, the node's ip/ip6, the endpoint. */
function pathOfAddress<A extends number | bigint>(
  f: AddrFamily<A>,
  i: IfaceModel,
  nodes: Map<string, NodeModel>,
  links: LinkModel[],
): Path {
  const l = links[i.link];
  const side = l.ends[0].node === i.node && l.ends[0].name === i.name ? 0 : 1;
  if (l.spec[f.linkField]?.[side]) return ['links', i.link, f.linkField, side];
  const node = nodes.get(i.node)!;
  if (typeof node.spec[f.nodeField] === 'string' && node.ifaces[0] === i)
    return ['nodes', i.node, f.nodeField];
  return ['links', i.link, 'endpoints', side];
}
