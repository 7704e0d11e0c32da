// net.waitConverged(): polls every FRR router until the adjacencies and sessions that are
// configured (in the topology's intent, and as the daemons report their own configuration)
// are up — OSPF neighbours Full (2-Way between two DROthers on a LAN), BGP peers
// Established —, every routing daemon is a client of zebra and every route zebra selected is
// in the kernel, and every router's routing table has stopped changing. On timeout it says
// what is still missing.

import { pool } from '../../kernel/run.js';
import { hasFamily } from '../../model/model.js';
import type { Simulation } from '../../runtime/simulation.js';
import { formatIp, networkOf, parseIp } from '../../util/ipv4.js';
import { bgpMissing } from './converge-bgp.js';
import { OSPF6_COMMANDS, type Ospf6View, ospf6Missing, parseOspf6View } from './converge-ospf6.js';
import { daemonUp, linkUp, runsDaemon } from './converge-util.js';
import { parseZebraClients, ZEBRA_CLIENTS, zebraMissing } from './converge-zebra.js';
import { RouterNode } from './node.js';
import { ospfInterfaces } from './render-ospf.js';
import { type BgpNeighborState, parseBgpNeighbors, pendingBgpUpdates } from './show-bgp.js';
import {
  type OspfInterfaceState,
  type OspfNeighbor,
  parseOspfInterfaces,
  parseOspfNeighbors,
  parseRouterLsas,
  type RouterLsa,
} from './show-ospf.js';
import { parseRoutes, type Route } from './show-route.js';
import type { FrrRouterSpec } from './spec.js';
import { vtyshSections } from './vtysh.js';

export interface ConvergeOptions {
  /** give up after this many ms (default 60000) */
  timeout?: number;
  /** poll period in ms (default 200) */
  interval?: number;
  /** the state must hold, and routing tables stay unchanged, this long (default 600 ms) */
  stable?: number;
  signal?: AbortSignal;
  /** called after every poll (progress display, debugging) */
  onPoll?: (poll: { elapsedMs: number; missing: string[]; tables: Record<string, string> }) => void;
}

export interface ConvergeReport {
  /** from the call until the state that held to the end was first seen */
  ms: number;
  /** adjacencies Full/2-Way as expected, by router */
  ospfAdjacencies: number;
  /** OSPFv3 adjacencies (ospf6d) Full/2-Way as expected */
  ospf6Adjacencies: number;
  bgpSessions: number;
  routers: number;
}

export class ConvergenceError extends Error {
  constructor(
    readonly missing: string[],
    readonly timeoutMs: number,
  ) {
    const shown = missing.slice(0, 25);
    super(
      `not converged after ${(timeoutMs / 1000).toFixed(1)} s; missing:\n${shown.map((m) => `  ${m}`).join('\n')}${
        missing.length > shown.length ? `\n  ... and ${missing.length - shown.length} more` : ''
      }`,
    );
    this.name = 'ConvergenceError';
  }
}

interface View {
  node: RouterNode;
  ospf: boolean;
  bgp: boolean;
  ifaces: OspfInterfaceState[];
  neighbors: OspfNeighbor[];
  lsdb?: { routerIds: string[]; lsas: RouterLsa[] };
  ospf6?: Ospf6View;
  peers?: BgpNeighborState[];
  pendingUpdates?: string[];
  rib: string;
  /** zebra's clients, and its routes (for those not in the kernel yet) */
  zebraClients?: string[];
  routes?: Route[];
  error?: string;
}

const OSPF_IF = 'show ip ospf interface json';
const OSPF_NBR = 'show ip ospf neighbor json';
const OSPF_LSDB = 'show ip ospf database router json';
const BGP_NBR = 'show bgp neighbors json';
const BGP_UPDATES = 'show bgp ipv4 unicast update-groups';
const BGP_UPDATES6 = 'show bgp ipv6 unicast update-groups';
const RIB = 'show ip route json';
const RIB6 = 'show ipv6 route json';

async function look(node: RouterNode): Promise<View | undefined> {
  const frr = node.frr!;
  if (!frr.isRunning('zebra')) return undefined;
  const view: View = {
    node,
    ospf: daemonUp(node, 'ospfd'),
    bgp: daemonUp(node, 'bgpd'),
    ifaces: [],
    neighbors: [],
    rib: '',
  };
  // IPv6 tables in a topology with IPv6, or where a user's frr.conf runs ospf6d
  const ospf6 = daemonUp(node, 'ospf6d');
  const six = ospf6 || hasFamily(node.sim.model, 6);
  const cmds = six ? [RIB, RIB6, ZEBRA_CLIENTS] : [RIB, ZEBRA_CLIENTS];
  if (view.ospf) cmds.push(OSPF_IF, OSPF_NBR, OSPF_LSDB);
  if (ospf6) cmds.push(...Object.values(OSPF6_COMMANDS));
  if (view.bgp) cmds.push(BGP_NBR, BGP_UPDATES);
  if (view.bgp && six) cmds.push(BGP_UPDATES6);
  try {
    const out = await vtyshSections(frr, cmds);
    view.routes = [...parseRoutes(out.get(RIB) ?? ''), ...parseRoutes(out.get(RIB6) ?? '')];
    view.zebraClients = parseZebraClients(out.get(ZEBRA_CLIENTS) ?? '');
    const routes = view.routes
      .filter((r) => r.selected)
      .map(
        (r) =>
          `${r.prefix} ${r.protocol} ${r.nexthops
            .filter((n) => n.active)
            .map((n) => n.ip ?? n.iface)
            .sort()
            .join(',')}`,
      )
      .sort();
    view.rib = routes.join(';');
    if (view.ospf) {
      view.ifaces = parseOspfInterfaces(out.get(OSPF_IF) ?? '');
      view.neighbors = parseOspfNeighbors(out.get(OSPF_NBR) ?? '');
      view.lsdb = parseRouterLsas(out.get(OSPF_LSDB) ?? '');
    }
    if (ospf6) view.ospf6 = parseOspf6View(out);
    if (view.bgp) {
      view.peers = parseBgpNeighbors(out.get(BGP_NBR) ?? '');
      view.pendingUpdates = [
        ...pendingBgpUpdates(out.get(BGP_UPDATES) ?? ''),
        ...pendingBgpUpdates(out.get(BGP_UPDATES6) ?? '').map((p) => `IPv6 ${p}`),
      ];
    }
  } catch (err) {
    view.error = (err as Error).message.split('\n')[0];
  }
  return view;
}

/** What is still missing (empty: converged), and how many adjacencies/sessions are up. */
export function missingFrom(
  sim: Simulation,
  views: View[],
): { missing: string[]; ospf: number; ospf6: number; bgp: number } {
  const model = sim.model;
  const missing: string[] = [];
  let ospfUp = 0;
  const byName = new Map(views.map((v) => [v.node.name, v]));
  const quiet = () => {};
  for (const v of views) if (v.error) missing.push(`${v.node.name}: ${v.error}`);
  for (const v of views) missing.push(...zebraMissing(v.node, v.zebraClients, v.routes ?? []));

  // OSPF: every pair of running ospfd on one subnet, same area, neither passive; and a
  // neighbour whose ospfd was stopped must have been noticed gone
  type End = { v: View; iface: OspfInterfaceState | undefined; name: string; addr?: string };
  for (const seg of model.segments) {
    const ends: End[] = [];
    const gone: { node: string; addr: string }[] = [];
    for (const i of seg.ifaces) {
      if (!linkUp(sim, model.nodes.get(i.node)!, i.name)) continue;
      const rn = sim.nodes.get(i.node);
      if (!(rn instanceof RouterNode) || !rn.frr) continue;
      if (runsDaemon(rn, 'ospfd') && !daemonUp(rn, 'ospfd')) {
        if (i.addr) gone.push({ node: i.node, addr: formatIp(i.addr.ip) });
        continue;
      }
      const v = byName.get(i.node);
      if (!v?.ospf) continue;
      const live = v.ifaces.find((x) => x.name === i.name);
      const spec = v.node.model.spec as FrrRouterSpec;
      const intended = spec.ospf
        ? ospfInterfaces(v.node.model, model, quiet).find((x) => x.name === i.name)
        : undefined;
      if (!live && !intended) continue; // no OSPF on this interface
      if ((intended?.passive ?? false) || live?.passive) continue;
      if (!live?.up || !live.area) {
        missing.push(`${v.node.name}: OSPF is not up on ${i.name} yet`);
        continue;
      }
      ends.push({ v, iface: live, name: i.name, addr: live.address });
    }
    for (const a of ends) {
      for (const b of gone) {
        const nbr = a.v.neighbors.find((n) => n.iface === a.name && n.address === b.addr);
        if (nbr && nbr.state !== 'Down')
          missing.push(
            `${a.v.node.name}: still ${nbr.state} with ${b.node} (${b.addr} on ${a.name}), whose ospfd is stopped (waiting for the dead interval)`,
          );
      }
      if (a.iface?.state === 'Waiting') {
        missing.push(`${a.v.node.name}: ${a.name} is still waiting for the DR election`);
        continue;
      }
      // a neighbour entry no live router accounts for (an old router-id, a restarted
      // daemon) stays until its dead interval: not settled yet
      const known = new Set(ends.filter((b) => b !== a).map((b) => b.addr));
      const here = a.v.neighbors.filter((n) => n.iface === a.name);
      const twice = (addr: string) => here.filter((n) => n.address === addr).length > 1;
      for (const nbr of here)
        if (nbr.state !== 'Full' && nbr.state !== '2-Way' && (!known.has(nbr.address) || twice(nbr.address)))
          missing.push(
            `${a.v.node.name}: stale OSPF neighbour ${nbr.routerId ?? '?'} (${nbr.address} on ${a.name}) in ${nbr.state}`,
          );
      for (const b of ends) {
        if (a === b || a.iface?.area !== b.iface?.area || a.iface?.instance !== b.iface?.instance) continue;
        const nbr = a.v.neighbors.find((n) => n.iface === a.name && n.address === b.addr);
        const p2p = a.iface?.networkType === 'POINTOPOINT';
        const dr = [a.iface?.drAddress, a.iface?.bdrAddress];
        const needFull = p2p || dr.includes(a.addr) || dr.includes(b.addr);
        const ok = nbr && (nbr.state === 'Full' || (!needFull && nbr.state === '2-Way'));
        if (ok) ospfUp++;
        else
          missing.push(
            `${a.v.node.name}: OSPF neighbour ${b.v.node.name} (${b.addr} on ${a.name}) is ${nbr ? nbr.state : 'not seen'}, expected ${needFull ? 'Full' : '2-Way or Full'}`,
          );
      }
    }
  }

  lsdbProblems(views, missing);
  const ospf6Up = ospf6Missing(sim, views, missing);

  const bgpUp = bgpMissing(sim, views, missing);
  return { missing, ospf: ospfUp, ospf6: ospf6Up, bgp: bgpUp };
}

/**
 * Adjacencies can be Full before the link-state databases say so (FRR rate-limits LSA
 * origination): each router's own router-LSA must list its Full point-to-point neighbours
 * and every OSPF interface's subnet, and the routers of an area must hold the same
 * router-LSAs (those joined by Full adjacencies: a partitioned area has two views of it).
 */
function lsdbProblems(views: View[], missing: string[]): void {
  const byArea = new Map<string, { name: string; keys: string }[]>();
  // connected parts of the Full-adjacency graph
  const part = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (part.get(r) !== undefined && part.get(r) !== r) r = part.get(r)!;
    return r;
  };
  for (const v of views) part.set(v.node.name, v.node.name);
  for (const v of views)
    for (const n of v.neighbors) {
      if (n.state !== 'Full') continue;
      const w = views.find((x) => x.lsdb?.routerIds.includes(n.routerId));
      if (w) part.set(find(v.node.name), find(w.node.name));
    }
  for (const v of views) {
    if (!v.ospf || v.error || !v.lsdb) continue;
    const own = v.lsdb.lsas.filter((l) => v.lsdb!.routerIds.includes(l.advRouter));
    for (const i of v.ifaces) {
      if (!i.up || !i.area || i.state === 'Down' || !i.address || i.prefixLen === undefined) continue;
      const lsa = own.find((l) => l.area === i.area && l.instance === i.instance);
      if (!lsa) {
        missing.push(`${v.node.name}: no router-LSA of its own in area ${i.area} yet`);
        continue;
      }
      const ip = parseIp(i.address)!;
      const net = formatIp(networkOf(ip, i.prefixLen).net);
      const covered = lsa.links.some((k) => k.network === net || k.interfaceAddress === i.address);
      if (!covered)
        missing.push(`${v.node.name}: its router-LSA does not list ${i.name} (${net}/${i.prefixLen}) yet`);
      if (i.networkType !== 'POINTOPOINT') continue;
      for (const n of v.neighbors) {
        if (n.iface !== i.name || n.state !== 'Full') continue;
        if (!lsa.links.some((k) => k.neighborRouterId === n.routerId))
          missing.push(
            `${v.node.name}: its router-LSA does not list neighbour ${n.routerId} on ${i.name} yet`,
          );
      }
    }
    const areas = new Set(v.lsdb.lsas.map((l) => `${find(v.node.name)}/${l.instance ?? ''}/${l.area}`));
    for (const area of areas) {
      const keys = v.lsdb.lsas
        .filter((l) => `${find(v.node.name)}/${l.instance ?? ''}/${l.area}` === area)
        .map((l) => `${l.advRouter}#${l.seq}`)
        .sort()
        .join(',');
      byArea.set(area, [...(byArea.get(area) ?? []), { name: v.node.name, keys }]);
    }
  }
  for (const [area, holders] of byArea) {
    const first = holders[0];
    const differ = holders.filter((h) => h.keys !== first.keys).map((h) => h.name);
    if (differ.length)
      missing.push(
        `area ${area.split('/')[2]}: ${[first.name, ...differ].join(', ')} hold different router-LSAs (databases still synchronising)`,
      );
  }
}

export async function waitConverged(sim: Simulation, opts: ConvergeOptions = {}): Promise<ConvergeReport> {
  const timeout = opts.timeout ?? 60000;
  const interval = opts.interval ?? 200;
  const stable = opts.stable ?? 600;
  const t0 = performance.now();
  const routers = [...sim.nodes.values()].filter(
    (n): n is RouterNode => n instanceof RouterNode && n.frr !== undefined,
  );
  let since: number | undefined;
  let lastRibs = '';
  let last: string[] = [];
  for (;;) {
    if (opts.signal?.aborted) throw new Error('interrupted');
    const pollStart = performance.now();
    const views: View[] = [];
    await pool(routers, 4, async (r) => {
      const v = await look(r);
      if (v) views.push(v);
    });
    views.sort((a, b) => a.node.name.localeCompare(b.node.name));
    const { missing, ospf, ospf6, bgp } = missingFrom(sim, views);
    const ribs = views.map((v) => `${v.node.name}=${v.rib}`).join('|');
    opts.onPoll?.({
      elapsedMs: performance.now() - t0,
      missing,
      tables: Object.fromEntries(views.map((v) => [v.node.name, v.rib])),
    });
    if (missing.length === 0) {
      if (since === undefined || ribs !== lastRibs) since = pollStart;
      if (performance.now() - since >= stable)
        return {
          ms: since - t0,
          ospfAdjacencies: ospf,
          ospf6Adjacencies: ospf6,
          bgpSessions: bgp,
          routers: views.length,
        };
    } else since = undefined;
    lastRibs = ribs;
    last = missing;
    if (performance.now() - t0 > timeout)
      throw new ConvergenceError(last.length ? last : ['routing tables still changing'], timeout);
    const wait = interval - (performance.now() - pollStart);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}
