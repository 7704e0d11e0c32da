// vtysh against one router's daemons, and typed views of FRR's JSON output
// (show ip ospf neighbor / interface, show bgp summary, show ip route, show bgp ipv4).
import { run } from '../../kernel/run.js';

export class VtyshError extends Error {
  constructor(
    readonly router: string,
    readonly command: string,
    readonly output: string,
  ) {
    super(`${router}: vtysh -c "${command}": ${output.trim() || 'failed'}`);
    this.name = 'VtyshError';
  }
}

/** Runs vtysh commands (each a -c) against the daemons whose sockets are in `dir`. */
export async function vtysh(ns: string, dir: string, router: string, commands: string[]): Promise<string> {
  const args = ['--vty_socket', dir, '--config_dir', dir];
  for (const c of commands) args.push('-c', c);
  const res = await run('vtysh', args, { ns, check: false, timeoutMs: 15000 });
  const out = res.stdout + res.stderr;
  if (res.exitCode !== 0) throw new VtyshError(router, commands.join('" -c "'), out);
  return res.stdout;
}

/**
 * vtysh prints one JSON document per daemon that answered (e.g. one per ospfd instance):
 * split the concatenation into values.
 */
export function parseJsonSequence(text: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0 && start >= 0) {
        out.push(JSON.parse(text.slice(start, i + 1)));
        start = -1;
      }
    }
  }
  return out;
}

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

export function parseOspfNeighbors(text: string): OspfNeighbor[] {
  const out: OspfNeighbor[] = [];
  for (const doc of parseJsonSequence(text) as Record<string, unknown>[]) {
    const instance = typeof doc.ospfInstance === 'number' ? doc.ospfInstance : undefined;
    const neighbors = (doc.neighbors ?? {}) as Record<string, RawOspfNeighbor[] | RawOspfNeighbor>;
    for (const [rid, list] of Object.entries(neighbors)) {
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
  for (const doc of parseJsonSequence(text) as Record<string, unknown>[]) {
    const instance = typeof doc.ospfInstance === 'number' ? doc.ospfInstance : undefined;
    const ifaces = (doc.interfaces ?? {}) as Record<string, RawOspfInterface>;
    for (const [name, i] of Object.entries(ifaces)) {
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

export interface BgpPeer {
  peer: string;
  remoteAs: number;
  /** Established, Active, Connect, OpenSent, Idle, ... */
  state: string;
  /** prefixes received (when Established) */
  pfxRcd: number;
  pfxSnt: number;
  uptimeMs: number;
  description?: string;
}

export interface BgpSummary {
  routerId: string;
  as: number;
  peers: BgpPeer[];
}

interface RawBgpPeer {
  remoteAs?: number;
  state?: string;
  pfxRcd?: number;
  pfxSnt?: number;
  peerUptimeMsec?: number;
  desc?: string;
}

/** `show bgp summary json`: the IPv4 unicast view (peers of other families are merged in). */
export function parseBgpSummary(text: string): BgpSummary {
  const doc = (parseJsonSequence(text)[0] ?? {}) as Record<string, Record<string, unknown>>;
  const families = Object.values(doc).filter((v) => v && typeof v === 'object' && 'peers' in v);
  const main = (doc.ipv4Unicast ?? families[0] ?? {}) as {
    routerId?: string;
    as?: number;
    peers?: Record<string, RawBgpPeer>;
  };
  const peers = new Map<string, BgpPeer>();
  for (const fam of [main, ...families]) {
    for (const [peer, p] of Object.entries((fam as { peers?: Record<string, RawBgpPeer> }).peers ?? {})) {
      if (peers.has(peer)) continue;
      peers.set(peer, {
        peer,
        remoteAs: p.remoteAs ?? 0,
        state: p.state ?? '',
        pfxRcd: p.pfxRcd ?? 0,
        pfxSnt: p.pfxSnt ?? 0,
        uptimeMs: p.peerUptimeMsec ?? 0,
        description: p.desc,
      });
    }
  }
  return { routerId: main.routerId ?? '', as: main.as ?? 0, peers: [...peers.values()] };
}

export interface BgpNeighborState {
  peer: string;
  remoteAs: number;
  state: string;
  /** End-of-RIB received for every address family it has (the initial table transfer is over) */
  initialUpdateDone: boolean;
  description?: string;
}

interface RawBgpNeighbor {
  remoteAs?: number;
  bgpState?: string;
  nbrDesc?: string;
  gracefulRestartInfo?: { endOfRibRecv?: Record<string, boolean> };
}

/** `show bgp neighbors json`: each configured peer, its state and End-of-RIB status. */
export function parseBgpNeighbors(text: string): BgpNeighborState[] {
  const doc = (parseJsonSequence(text)[0] ?? {}) as Record<string, RawBgpNeighbor>;
  return Object.entries(doc)
    .filter(([, n]) => n && typeof n === 'object' && 'bgpState' in n)
    .map(([peer, n]) => {
      const eor = n.gracefulRestartInfo?.endOfRibRecv;
      return {
        peer,
        remoteAs: n.remoteAs ?? 0,
        state: n.bgpState ?? '',
        initialUpdateDone: eor ? Object.values(eor).every(Boolean) : true,
        description: n.nbrDesc,
      };
    });
}

/**
 * `show bgp ipv4 unicast update-groups` (text: FRR 8.4 has no JSON for it): what is still
 * waiting to go out — a coalesce timer running, queued packets, routes to advertise.
 */
export function pendingBgpUpdates(text: string): string[] {
  const pending: string[] = [];
  let group = '';
  for (const line of text.split('\n')) {
    const g = /^\s*Update-(?:sub)?group (\d+):/.exec(line);
    if (g) group = line.trim().replace(/:$/, '');
    if (/Coalesce Time: \d+\s*\(Running\)/.test(line)) pending.push(`${group}: coalesce timer running`);
    const q = /Packet queue length: (\d+)/.exec(line);
    if (q && Number(q[1]) > 0) pending.push(`${group}: ${q[1]} packets queued`);
    const a = /Advertise list: (.*)$/.exec(line);
    if (a && a[1].trim() !== 'empty') pending.push(`${group}: routes waiting to be advertised`);
  }
  return pending;
}

export interface RouteNexthop {
  ip?: string;
  iface?: string;
  active: boolean;
}

export interface Route {
  prefix: string;
  /** connected, kernel, static, ospf, bgp, ... */
  protocol: string;
  selected: boolean;
  installed: boolean;
  distance?: number;
  metric?: number;
  nexthops: RouteNexthop[];
}

interface RawRoute {
  prefix: string;
  protocol: string;
  selected?: boolean;
  installed?: boolean;
  distance?: number;
  metric?: number;
  nexthops?: { ip?: string; interfaceName?: string; active?: boolean }[];
}

/** `show ip route json`: every route zebra knows (selected or not). */
export function parseRoutes(text: string): Route[] {
  const doc = (parseJsonSequence(text)[0] ?? {}) as Record<string, RawRoute[]>;
  const out: Route[] = [];
  for (const entries of Object.values(doc)) {
    for (const r of entries) {
      out.push({
        prefix: r.prefix,
        protocol: r.protocol,
        selected: r.selected ?? false,
        installed: r.installed ?? false,
        distance: r.distance,
        metric: r.metric,
        nexthops: (r.nexthops ?? []).map((n) => ({
          ip: n.ip,
          iface: n.interfaceName,
          active: n.active ?? false,
        })),
      });
    }
  }
  return out;
}

export interface BgpPath {
  prefix: string;
  /** AS numbers as announced (nearest first); empty for a local route */
  asPath: number[];
  nexthop?: string;
  best: boolean;
  valid: boolean;
  /** router id of the originator when a route reflector passed it on */
  originatorId?: string;
  clusterList: string[];
  peer?: string;
}

interface RawBgpPath {
  valid?: boolean;
  bestpath?: boolean | { overall?: boolean };
  path?: string;
  aspath?: { string?: string };
  nexthops?: { ip?: string }[];
  originatorId?: string;
  clusterList?: { list?: string[] };
  peerId?: string;
  peer?: { peerId?: string };
}

/**
 * `show bgp ipv4 unicast json` (every prefix: {routes: {prefix: [path]}}) or
 * `show bgp ipv4 unicast PREFIX json` (one prefix in detail: {prefix, paths: [path]}, with
 * originator id and cluster list when a route reflector passed it on).
 */
export function parseBgpTable(text: string): BgpPath[] {
  const doc = (parseJsonSequence(text)[0] ?? {}) as {
    routes?: Record<string, RawBgpPath[]>;
    prefix?: string;
    paths?: RawBgpPath[];
  };
  const byPrefix: [string, RawBgpPath[]][] =
    doc.paths && doc.prefix ? [[doc.prefix, doc.paths]] : Object.entries(doc.routes ?? {});
  const out: BgpPath[] = [];
  for (const [prefix, paths] of byPrefix) {
    for (const p of paths) {
      const pathText = p.path ?? p.aspath?.string ?? '';
      out.push({
        prefix,
        asPath: pathText
          .split(/\s+/)
          .filter((x) => /^\d+$/.test(x))
          .map(Number),
        nexthop: p.nexthops?.[0]?.ip,
        best: typeof p.bestpath === 'object' ? Boolean(p.bestpath.overall) : Boolean(p.bestpath),
        valid: p.valid ?? false,
        originatorId: p.originatorId,
        clusterList: p.clusterList?.list ?? [],
        peer: p.peerId ?? p.peer?.peerId,
      });
    }
  }
  return out;
}

/**
 * Several show commands in one vtysh run (-E echoes each command before its output), split
 * back into one text per command. vtysh stops at the first command whose daemon is down,
 * so callers only ask daemons that run.
 */
export async function vtyshSections(
  ns: string,
  dir: string,
  router: string,
  commands: string[],
): Promise<Map<string, string>> {
  const args = ['--vty_socket', dir, '--config_dir', dir, '-E'];
  for (const c of commands) args.push('-c', c);
  const res = await run('vtysh', args, { ns, check: false, timeoutMs: 15000 });
  if (res.exitCode !== 0) throw new VtyshError(router, commands.join('" -c "'), res.stdout + res.stderr);
  const out = new Map<string, string>();
  const lines = res.stdout.split('\n');
  let current: string | undefined;
  let buf: string[] = [];
  const flush = () => {
    if (current !== undefined) out.set(current, buf.join('\n'));
  };
  let next = 0;
  for (const line of lines) {
    if (next < commands.length && line.endsWith(`# ${commands[next]}`)) {
      flush();
      current = commands[next++];
      buf = [];
    } else buf.push(line);
  }
  flush();
  return out;
}
