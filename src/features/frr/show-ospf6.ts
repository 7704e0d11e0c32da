// Typed views of ospf6d's JSON (FRR 8.4: show ipv6 ospf6 / neighbor / interface / database
// router detail). OSPFv3 neighbours are known by router id (they speak from link-local
// addresses), so these views carry router ids where show-ospf.ts carries addresses.
import { formatIp } from '../../util/ipv4.js';
import { parseJsonSequence } from './show-json.js';

export interface Ospf6Neighbor {
  /** the neighbour's router id */
  routerId: string;
  /** Full, 2-Way, Init, ExStart, ... (ospf6d's Twoway written as OSPFv2's 2-Way) */
  state: string;
  /** the neighbour's role on the link: DR, BDR, DROther, PointToPoint */
  role: string;
  /** our interface */
  iface: string;
}

interface RawOspf6Neighbor {
  neighborId?: string;
  state?: string;
  ifState?: string;
  interfaceName?: string;
}

const STATE: Record<string, string> = { Twoway: '2-Way', TwoWay: '2-Way' };

/** An area as ospf6d prints it where the config gave a number (`area 0`): dotted, as elsewhere. */
function dotted(area: string | undefined): string {
  return area !== undefined && /^\d+$/.test(area) ? formatIp(Number(area) >>> 0) : (area ?? '');
}

/** `show ipv6 ospf6 neighbor json`. */
export function parseOspf6Neighbors(text: string): Ospf6Neighbor[] {
  const doc = (parseJsonSequence(text)[0] ?? {}) as { neighbors?: RawOspf6Neighbor[] };
  return (doc.neighbors ?? []).map((n) => ({
    routerId: n.neighborId ?? '',
    state: STATE[n.state ?? ''] ?? n.state ?? '',
    role: n.ifState ?? '',
    iface: n.interfaceName ?? '',
  }));
}

export interface Ospf6InterfaceState {
  name: string;
  up: boolean;
  area: string;
  /** POINTOPOINT, BROADCAST, ... (as it operates) */
  networkType: string;
  /** DR, BDR, DROther, PointToPoint, Waiting, Loopback, Down */
  state: string;
  /** router ids of the DR and BDR (0.0.0.0: none) */
  dr?: string;
  bdr?: string;
  /** its global IPv6 addresses (with prefix length) */
  addresses: string[];
}

interface RawOspf6Interface {
  status?: string;
  type?: string;
  operatingAsType?: string;
  attachedToArea?: boolean;
  areaId?: string;
  ospf6InterfaceState?: string;
  dr?: string;
  bdr?: string;
  internetAddress?: { type?: string; address?: string }[];
}

/** `show ipv6 ospf6 interface json`: the interfaces OSPFv3 runs on. */
export function parseOspf6Interfaces(text: string): Ospf6InterfaceState[] {
  const doc = (parseJsonSequence(text)[0] ?? {}) as Record<string, RawOspf6Interface>;
  const out: Ospf6InterfaceState[] = [];
  for (const [name, i] of Object.entries(doc)) {
    if (!i || typeof i !== 'object' || i.attachedToArea !== true) continue;
    out.push({
      name,
      up: i.status === 'up',
      area: dotted(i.areaId),
      networkType: i.operatingAsType ?? i.type ?? '',
      state: i.ospf6InterfaceState ?? '',
      dr: i.dr,
      bdr: i.bdr,
      addresses: (i.internetAddress ?? [])
        .filter((a) => a.type === 'inet6' && a.address && !a.address.startsWith('fe80:'))
        .map((a) => a.address!),
    });
  }
  return out;
}

/** `show ipv6 ospf6 json`: the router id ospf6d runs with. */
export function parseOspf6RouterId(text: string): string | undefined {
  const doc = (parseJsonSequence(text)[0] ?? {}) as { routerId?: string };
  return doc.routerId;
}

/** One router-LSA (OSPFv3: links only, prefixes travel in other LSAs). */
export interface Router6Lsa {
  area: string;
  advRouter: string;
  /** advRouter, link state id and sequence number: equal keys are the same LSA instance */
  key: string;
  links: { type: string; neighborRouterId?: string }[];
}

interface RawRouter6Lsa {
  advertisingRouter?: string;
  linkStateId?: string;
  lsSequenceNumber?: number | string;
  lsaDescription?: { type?: string; neighborRouterId?: string }[];
}

/** `show ipv6 ospf6 database router detail json`: the router-LSAs of every area. */
export function parseOspf6RouterLsas(text: string): Router6Lsa[] {
  const doc = (parseJsonSequence(text)[0] ?? {}) as {
    areaScopedLinkStateDb?: { areaId?: string; lsa?: RawRouter6Lsa[] }[];
  };
  const out: Router6Lsa[] = [];
  for (const a of doc.areaScopedLinkStateDb ?? [])
    for (const l of a.lsa ?? []) {
      const adv = l.advertisingRouter ?? '';
      out.push({
        area: dotted(a.areaId),
        advRouter: adv,
        key: `${adv}/${l.linkStateId ?? ''}#${l.lsSequenceNumber ?? ''}`,
        links: (l.lsaDescription ?? []).map((d) => ({
          type: d.type ?? '',
          neighborRouterId: d.neighborRouterId,
        })),
      });
    }
  return out;
}

/**
 * The interfaces a frr.conf makes passive for OSPFv3 (`ipv6 ospf6 passive` in an interface
 * block): ospf6d's JSON does not say, and no adjacency is expected there.
 */
export function ospf6PassiveInConfig(config: string): Set<string> {
  const out = new Set<string>();
  let iface: string | undefined;
  for (const line of config.split('\n')) {
    const m = /^interface (\S+)/.exec(line);
    if (m) iface = m[1];
    else if (/^\S/.test(line)) iface = undefined;
    else if (iface && /^\s+ipv6 ospf6 passive\s*$/.test(line)) out.add(iface);
  }
  return out;
}
