// The IPv6 subnets and addresses a topology gives its segments (segments.ts's IPv6 side, run
// once every interface knows its segment): switches' and links' subnet6, links' ipv6, nodes'
// ip6. Within one L2 segment they must agree, as the IPv4 ones must.
import { type Cidr6, formatCidr6, formatIp6, networkOf6, parseCidr6 } from '../../util/ipv6.js';
import { formatPath, type IssueSink, type Path, type SourceLocator } from '../errors.js';
import { kindOf } from '../kinds/registry.js';
import type { Addr6, LinkModel, NodeModel, SegmentModel } from '../model.js';

export interface ExplicitSubnet6 {
  cidr: Cidr6;
  path: Path;
}

/** segment id -> the IPv6 subnet the topology gives it; addresses set on the interfaces. */
export function collectSubnets6(
  nodes: Map<string, NodeModel>,
  links: LinkModel[],
  segments: SegmentModel[],
  source: SourceLocator,
  sink: IssueSink,
): Map<number, ExplicitSubnet6> {
  const explicit = new Map<number, ExplicitSubnet6>();
  const bridging = (n: string) => kindOf(nodes.get(n)!.kind).bridging;
  const setExplicit = (segId: number, c: Cidr6, path: Path, address?: Addr6) => {
    const prev = explicit.get(segId);
    if (prev && (prev.cidr.net !== c.net || prev.cidr.prefix !== c.prefix)) {
      const line = source.locate(prev.path).line;
      const origin = `set by ${formatPath(prev.path)}${line ? ` at line ${line}` : ''}`;
      sink.add(
        path,
        address
          ? `address ${formatIp6(address.ip)}/${address.prefix} is not in subnet ${formatCidr6(prev.cidr)} of its L2 segment (${origin})`
          : `subnet6 ${formatCidr6(c)} conflicts with subnet6 ${formatCidr6(prev.cidr)} of the same L2 segment (${origin})`,
      );
      return;
    }
    explicit.set(segId, { cidr: c, path });
  };
  const ifaceOf = (node: string, name: string) => nodes.get(node)!.ifaces.find((i) => i.name === name)!;
  for (const n of nodes.values()) {
    const sub = n.spec.subnet6;
    if (!bridging(n.name) || typeof sub !== 'string') continue;
    const seg = segments.find((s) => s.switches.includes(n.name));
    const c = parseCidr6(sub)!;
    if (seg) setExplicit(seg.id, networkOf6(c.ip, c.prefix), ['nodes', n.name, 'subnet6']);
  }
  for (const l of links) {
    const segId = ifaceOf(l.ends[0].node, l.ends[0].name).segment;
    if (l.spec.subnet6) {
      const c = parseCidr6(l.spec.subnet6)!;
      setExplicit(segId, networkOf6(c.ip, c.prefix), ['links', l.index, 'subnet6']);
    }
    l.spec.ipv6?.forEach((addr, side) => {
      if (addr === null) return;
      const end = l.ends[side];
      const path: Path = ['links', l.index, 'ipv6', side];
      if (bridging(end.node)) {
        sink.add(
          path,
          `"${end.node}" is a ${nodes.get(end.node)!.kind}: its ports carry no address (use null)`,
        );
        return;
      }
      const c = parseCidr6(addr)!;
      ifaceOf(end.node, end.name).addr6 = { ip: c.ip, prefix: c.prefix };
      setExplicit(segId, networkOf6(c.ip, c.prefix), path, c);
    });
  }
  // node-level `ip6:`: the IPv6 address of the node's first interface
  for (const n of nodes.values()) {
    const ip = n.spec.ip6;
    if (typeof ip !== 'string') continue;
    const path: Path = ['nodes', n.name, 'ip6'];
    const first = n.ifaces[0];
    if (!first) {
      sink.add(path, `node "${n.name}" has an ip6 but no link`);
      continue;
    }
    if (first.addr6) {
      sink.add(path, `${n.name}:${first.name} already has an IPv6 address from its link's ipv6`);
      continue;
    }
    const c = parseCidr6(ip)!;
    first.addr6 = { ip: c.ip, prefix: c.prefix };
    setExplicit(first.segment, networkOf6(c.ip, c.prefix), path, c);
  }
  return explicit;
}
