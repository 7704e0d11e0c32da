// Typed views of ospfd's JSON (show ip ospf neighbor / interface / database router), one
// entry per OSPF instance that answered.
import { parseJsonSequence } from './show-json.js';

export interface OspfNeighbor {
  /** the neighbour's router id */
  routerId: string;
  /** Full, 2-Way, Init, ExStart, ... (without the /DR role) */
  state: string;
  /** DR, Backup, DROther, or - on point-to-point links */
  role: string;
  /** its address on the shared subnet */
  address: string;
  /** our interface */
  iface: string;
  instance?: number;
}

interface RawOspfNeighbor {
  nbrState?: string;
  state?: string;
  address?: string;
  ifaceAddress?: string;
  ifaceName?: string;
}

/**
 * The entries under `field` of each OSPF instance's document (one document per instance with
 * multi-instance OSPF, which vtysh prints one after another), with the instance number.
 */
function* perInstance<T>(text: string, field: string): Generator<[string, T, number | undefined]> {
  for (const doc of parseJsonSequence(text) as Record<string, unknown>[]) {
    const instance = typeof doc.ospfInstance === 'number' ? doc.ospfInstance : undefined;
    for (const [key, value] of Object.entries((doc[field] ?? {}) as Record<string, T>))
      yield [key, value, instance];
  }
}

export function parseOspfNeighbors(text: string): OspfNeighbor[] {
  const out: OspfNeighbor[] = [];
  for (const [rid, list, instance] of perInstance<RawOspfNeighbor[] | RawOspfNeighbor>(text, 'neighbors')) {
    for (const n of Array.isArray(list) ? list : [list]) {
      const [state, role = '-'] = (n.nbrState ?? n.state ?? '').split('/');
      out.push({
        routerId: rid,
        state,
        role,
        address: n.ifaceAddress ?? n.address ?? '',
        iface: (n.ifaceName ?? '').split(':')[0],
        instance,
      });
    }
  }
  return out;
}

export interface OspfInterfaceState {
  name: string;
  up: boolean;
  area: string;
  /** POINTOPOINT, BROADCAST, ... */
  networkType: string;
  /** DR, Backup, DROther, Point-To-Point, Waiting, Loopback, Down */
  state: string;
  address?: string;
  prefixLen?: number;
  passive: boolean;
  drAddress?: string;
  bdrAddress?: string;
  instance?: number;
}

interface RawOspfInterface {
  ifUp?: boolean;
  area?: string;
  networkType?: string;
  state?: string;
  ipAddress?: string;
  ipAddressPrefixlen?: number;
  timerPassiveIface?: boolean;
  drAddress?: string;
  bdrAddress?: string;
  ospfEnabled?: boolean;
}

export function parseOspfInterfaces(text: string): OspfInterfaceState[] {
  const out: OspfInterfaceState[] = [];
  for (const [name, i, instance] of perInstance<RawOspfInterface>(text, 'interfaces')) {
    if (i.ospfEnabled === false) continue;
    out.push({
      name,
      up: i.ifUp ?? false,
      area: (i.area ?? '').split(' ')[0],
      networkType: i.networkType ?? '',
      state: i.state ?? '',
      address: i.ipAddress,
      prefixLen: i.ipAddressPrefixlen,
      passive: i.timerPassiveIface ?? false,
      drAddress: i.drAddress,
      bdrAddress: i.bdrAddress,
      instance,
    });
  }
  return out;
}

/** One router-LSA as a router holds it in its database. */
export interface RouterLsa {
  area: string;
  advRouter: string;
  seq: string;
  links: {
    type: string;
    neighborRouterId?: string;
    interfaceAddress?: string;
    network?: string;
    mask?: string;
  }[];
  instance?: number;
}

interface RawRouterLsa {
  advertisingRouter?: string;
  lsaSeqNumber?: string;
  routerLinks?: Record<
    string,
    {
      linkType?: string;
      neighborRouterId?: string;
      routerInterfaceAddress?: string;
      networkAddress?: string;
      networkMask?: string;
    }
  >;
}

/** `show ip ospf database router json`: the router-LSAs of every area, and our router id. */
export function parseRouterLsas(text: string): { routerIds: string[]; lsas: RouterLsa[] } {
  const lsas: RouterLsa[] = [];
  const routerIds: string[] = [];
  for (const doc of parseJsonSequence(text) as Record<string, unknown>[]) {
    const instance = typeof doc.ospfInstance === 'number' ? doc.ospfInstance : undefined;
    if (typeof doc.routerId === 'string') routerIds.push(doc.routerId);
    // FRR 8.4 prints {routerLinkStates: {areas: {area: [lsa]}}}, and for self-originate
    // {"Router Link States": {area: {id: lsa}}}
    const areas = ((doc.routerLinkStates as { areas?: unknown } | undefined)?.areas ??
      doc['Router Link States'] ??
      {}) as Record<string, RawRouterLsa[] | Record<string, RawRouterLsa>>;
    for (const [area, byId] of Object.entries(areas)) {
      for (const l of Array.isArray(byId) ? byId : Object.values(byId)) {
        lsas.push({
          area,
          advRouter: l.advertisingRouter ?? '',
          seq: l.lsaSeqNumber ?? '',
          links: Object.values(l.routerLinks ?? {}).map((k) => ({
            type: k.linkType ?? '',
            neighborRouterId: k.neighborRouterId,
            interfaceAddress: k.routerInterfaceAddress,
            network: k.networkAddress,
            mask: k.networkMask,
          })),
          instance,
        });
      }
    }
  }
  return { routerIds, lsas };
}
