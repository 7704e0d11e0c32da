// L2 segments: switches joined by links form one segment with every interface attached to
// them; a link between two non-bridging nodes is a segment of its own. Subnets and addresses
// the topology gives are collected per segment here, and must agree within a segment.
import { type Cidr, formatCidr, formatIp, networkOf, parseCidr } from '../../util/ipv4.js';
import { formatPath, type IssueSink, type Path, type SourceLocator } from '../errors.js';
import { kindOf } from '../kinds/registry.js';
import type { Addr, LinkModel, NodeModel, SegmentModel } from '../model.js';

/** Where a segment's subnet was given: a subnet field, or the prefix of an address. */
export interface ExplicitSubnet {
  cidr: Cidr;
  path: Path;
}

export interface Segments {
  segments: SegmentModel[];
  /** segment id -> the subnet the topology gives it (the others are allocated) */
  explicit: Map<number, ExplicitSubnet>;
}

/**
 * Every interface assigned to its segment (with its link's MTU and any address given), and
 * each segment's explicit subnet. Conflicts are reported to `sink` (the caller throws).
 */
export function buildSegments(
  nodes: Map<string, NodeModel>,
  links: LinkModel[],
  source: SourceLocator,
  sink: IssueSink,
): Segments {
  const bridging = (n: string) => kindOf(nodes.get(n)!.kind).bridging;
  const rootOf = bridgeDomains(nodes, links, bridging);
  const segments: SegmentModel[] = [];
  const explicit = new Map<number, ExplicitSubnet>();
  const newSegment = (): SegmentModel => {
    const seg: SegmentModel = {
      id: segments.length,
      subnet: { net: 0, prefix: 32 },
      switches: [],
      ifaces: [],
    };
    segments.push(seg);
    return seg;
  };
  const segOfSwitchRoot = new Map<string, SegmentModel>();
  for (const n of nodes.values()) {
    if (!bridging(n.name)) continue;
    const root = rootOf(n.name);
    let seg = segOfSwitchRoot.get(root);
    if (!seg) {
      seg = newSegment();
      segOfSwitchRoot.set(root, seg);
    }
    seg.switches.push(n.name);
  }
  const segmentOfSwitch = (name: string) => segOfSwitchRoot.get(rootOf(name))!;
  const setExplicit = (seg: SegmentModel, c: Cidr, path: Path, address?: Addr) => {
    const prev = explicit.get(seg.id);
    if (prev && (prev.cidr.net !== c.net || prev.cidr.prefix !== c.prefix)) {
      sink.add(path, subnetConflict(prev, c, source, address));
      return;
    }
    explicit.set(seg.id, { cidr: c, path });
  };

  for (const n of nodes.values()) {
    const sub = n.spec.subnet;
    if (bridging(n.name) && typeof sub === 'string') {
      const c = parseCidr(sub)!;
      setExplicit(segmentOfSwitch(n.name), networkOf(c.ip, c.prefix), ['nodes', n.name, 'subnet']);
    }
  }
  const ifaceOf = (node: string, name: string) => nodes.get(node)!.ifaces.find((i) => i.name === name)!;
  for (const l of links) {
    const [a, b] = l.ends;
    let seg: SegmentModel;
    if (bridging(a.node)) seg = segmentOfSwitch(a.node);
    else if (bridging(b.node)) seg = segmentOfSwitch(b.node);
    else seg = newSegment();
    for (const end of l.ends) {
      const iface = ifaceOf(end.node, end.name);
      iface.segment = seg.id;
      iface.mtu = l.spec.mtu;
      if (!bridging(end.node)) seg.ifaces.push(iface);
    }
    if (l.spec.subnet) {
      const c = parseCidr(l.spec.subnet)!;
      setExplicit(seg, networkOf(c.ip, c.prefix), ['links', l.index, 'subnet']);
    }
    l.spec.ipv4?.forEach((addr, side) => {
      if (addr === null) return;
      const end = l.ends[side];
      const path: Path = ['links', l.index, 'ipv4', side];
      if (bridging(end.node)) {
        sink.add(
          path,
          `"${end.node}" is a ${nodes.get(end.node)!.kind}: its ports carry no address (use null)`,
        );
        return;
      }
      const c = parseCidr(addr)!;
      ifaceOf(end.node, end.name).addr = { ip: c.ip, prefix: c.prefix };
      setExplicit(seg, networkOf(c.ip, c.prefix), path, c);
    });
  }
  // node-level `ip:` shorthand: the address of the node's first interface
  for (const n of nodes.values()) {
    const ip = n.spec.ip;
    if (typeof ip !== 'string') continue;
    const path: Path = ['nodes', n.name, 'ip'];
    const first = n.ifaces[0];
    if (!first) {
      sink.add(path, `node "${n.name}" has an ip but no link`);
      continue;
    }
    if (first.addr) {
      sink.add(path, `${n.name}:${first.name} already has an address from its link's ipv4`);
      continue;
    }
    const c = parseCidr(ip)!;
    first.addr = { ip: c.ip, prefix: c.prefix };
    setExplicit(segments[first.segment], networkOf(c.ip, c.prefix), path, c);
  }
  return { segments, explicit };
}

/**
 * Bridging nodes joined by links, as a union-find: each bridging node -> the root of its
 * domain (one root per future segment).
 */
function bridgeDomains(
  nodes: Map<string, NodeModel>,
  links: LinkModel[],
  bridging: (node: string) => boolean,
): (node: string) => string {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(x, r);
    return r;
  };
  for (const n of nodes.values()) if (bridging(n.name)) parent.set(n.name, n.name);
  for (const l of links) {
    const [a, b] = l.ends;
    if (bridging(a.node) && bridging(b.node)) parent.set(find(a.node), find(b.node));
  }
  return find;
}

/** A second subnet (or an address outside the first) given for one segment. */
function subnetConflict(prev: ExplicitSubnet, c: Cidr, source: SourceLocator, address?: Addr): string {
  const prevLine = source.locate(prev.path).line;
  const origin = `set by ${formatPath(prev.path)}${prevLine ? ` at line ${prevLine}` : ''}`;
  return address
    ? `address ${formatIp(address.ip)}/${address.prefix} is not in subnet ${formatCidr(prev.cidr)} of its L2 segment (${origin})`
    : `subnet ${formatCidr(c)} conflicts with subnet ${formatCidr(prev.cidr)} of the same L2 segment (${origin})`;
}
