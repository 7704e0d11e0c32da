// Typed views of bgpd's output: show bgp summary / neighbors / ipv4 unicast (JSON) and the
// update groups (text).
import { parseJsonSequence } from './show-json.js';

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
