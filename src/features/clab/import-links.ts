// containerlab links -> netsim links, and the addresses placed on their ends. containerlab
// gives an end its addresses per link (`ipv4: [a, b]`, `ipv6: [a, b]`: one or two entries, ""
// for an end without one) or per endpoint object (`{node, interface, ipv4, ipv6}`); netsim
// keeps one entry per end (null: none). Each field remembers the clab path it came from.
import type { IssueSink, Path, SourcePos } from '../../model/errors.js';
import type { TopologySpec } from '../../model/spec.js';
import type { ClabLab } from './file.js';

/** containerlab's default link MTU */
export const CLAB_MTU = 9500;

export const HOST_PSEUDO = new Set(['host', 'mgmt-net', 'macvlan']);

/** Where each generated field came from: a clab path, or a line of another file. */
export type Origin = { path: Path } | { pos: SourcePos };

export type LinkOut = NonNullable<TopologySpec['links']>[number];
/** the address fields of a link, one per family */
export type AddrField = 'ipv4' | 'ipv6';
export const ADDR_FIELDS: AddrField[] = ['ipv4', 'ipv6'];

export interface LinkEnd {
  node: string;
  iface: string;
  linkIndex: number;
  side: number;
}

type Pair = [string | null, string | null];

/** containerlab's per-link list (1 or 2 entries, "" for none) as netsim's pair, or undefined for none. */
export function addressPair(list: (string | null)[] | undefined): Pair | undefined {
  if (!list) return undefined;
  if (list.length > 2) return list as Pair; // netsim's validation names the entry too many
  const pair: Pair = [list[0] || null, list[1] || null];
  return pair[0] || pair[1] ? pair : undefined;
}

/** The veth links of the lab as netsim links, and the ends they name. */
export function convertLinks(
  lab: ClabLab,
  sink: IssueSink,
  origin: (path: Path, o: Origin) => void,
): { links: LinkOut[]; ends: LinkEnd[] } {
  const links: LinkOut[] = [];
  const ends: LinkEnd[] = [];
  const rawNodes = lab.raw.topology.nodes;
  (lab.raw.topology.links ?? []).forEach((l, index) => {
    const path: Path = ['topology', 'links', index];
    const type = l.type ?? 'veth';
    if (HOST_PSEUDO.has(type)) {
      sink.add(
        [...path, 'type'],
        `link type "${type}" connects to the host's network: a simulation never touches the host's interfaces (use a link between two nodes)`,
      );
      return;
    }
    if (type !== 'veth') {
      const why =
        type === 'dummy'
          ? 'a dummy interface inside one node'
          : type.startsWith('vxlan')
            ? 'a tunnel to another machine'
            : 'not a containerlab link type netsim knows';
      sink.add(
        [...path, 'type'],
        `unsupported link type "${type}" (${why}): netsim links are veth pairs between two nodes`,
      );
      return;
    }
    if (l.endpoints?.length !== 2) {
      sink.add(
        [...path, 'endpoints'],
        `a veth link has exactly 2 endpoints, got ${l.endpoints?.length ?? 0}`,
      );
      return;
    }
    const parsed = l.endpoints.map((ep, side) => {
      const epPath: Path = [...path, 'endpoints', side];
      let node: string;
      let iface: string | undefined;
      const addr: Partial<Record<AddrField, string>> = {};
      if (typeof ep === 'string') {
        const parts = ep.split(':');
        if (parts.length !== 2 || !parts[0] || !parts[1]) {
          sink.add(epPath, `endpoint "${ep}" must be "node:interface"`);
          return undefined;
        }
        [node, iface] = parts;
      } else {
        node = ep.node;
        iface = ep.interface;
        for (const f of ADDR_FIELDS) if (ep[f]) addr[f] = ep[f];
        if (!iface) {
          sink.add(epPath, `endpoint of ${node} has no interface`);
          return undefined;
        }
      }
      if (HOST_PSEUDO.has(node)) {
        sink.add(
          epPath,
          `endpoint "${node}:${iface}" is on the host's network: a simulation never touches the host's interfaces`,
        );
        return undefined;
      }
      if (!(node in rawNodes)) {
        sink.add(epPath, `unknown node "${node}" (not in topology.nodes)`);
        return undefined;
      }
      return { node, iface, addr, path: epPath };
    });
    if (!parsed[0] || !parsed[1]) return;
    const [a, b] = parsed;
    const i = links.length;
    const link: LinkOut = {
      endpoints: [`${a.node}:${a.iface}`, `${b.node}:${b.iface}`],
      mtu: l.mtu ?? CLAB_MTU,
    };
    origin(['links', i], { path });
    origin(['links', i, 'endpoints', 0], { path: a.path });
    origin(['links', i, 'endpoints', 1], { path: b.path });
    if (l.mtu !== undefined) origin(['links', i, 'mtu'], { path: [...path, 'mtu'] });
    for (const f of ADDR_FIELDS) {
      const given = addressPair(l[f]);
      if (given) {
        link[f] = given;
        origin(['links', i, f], { path: [...path, f] });
      } else if (a.addr[f] || b.addr[f]) {
        link[f] = [a.addr[f] ?? null, b.addr[f] ?? null];
        if (a.addr[f]) origin(['links', i, f, 0], { path: [...a.path, f] });
        if (b.addr[f]) origin(['links', i, f, 1], { path: [...b.path, f] });
      }
    }
    links.push(link);
    ends.push({ node: a.node, iface: a.iface!, linkIndex: i, side: 0 });
    ends.push({ node: b.node, iface: b.iface!, linkIndex: i, side: 1 });
  });
  return { links, ends };
}

/** Sets the address of node:iface on its link (the family's field) unless the lab gave one already. */
export function addressSetter(
  links: LinkOut[],
  ends: LinkEnd[],
  origin: (path: Path, o: Origin) => void,
): (field: AddrField, node: string, iface: string, cidr: string, o: Origin) => 'set' | 'given' | 'no-link' {
  return (field, node, iface, cidr, o) => {
    const end = ends.find((e) => e.node === node && e.iface === iface);
    if (!end) return 'no-link';
    const link = links[end.linkIndex];
    const pair = (link[field] ?? [null, null]) as Pair;
    if (pair[end.side]) return 'given';
    pair[end.side] = cidr;
    link[field] = pair;
    origin(['links', end.linkIndex, field, end.side], o);
    return 'set';
  };
}
