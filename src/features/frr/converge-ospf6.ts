// waitConverged's OSPFv3 part: what ospf6d shows (neighbours by router id, interfaces, the
// router-LSAs), and what is still missing — every pair of ospf6d on a link Full (2-Way
// between two DROthers), a stopped neighbour noticed gone, each router's own router-LSA
// listing its point-to-point neighbours, and the routers of an area holding the same LSAs.
import { hasFamily, type Model, type NodeModel } from '../../model/model.js';
import type { Simulation } from '../../runtime/simulation.js';
import { daemonUp, linkUp, runsDaemon } from './converge-util.js';
import { RouterNode } from './node.js';
import { routerIdOf } from './render.js';
import { ospfInterfaces } from './render-ospf.js';
import {
  type Ospf6InterfaceState,
  type Ospf6Neighbor,
  ospf6PassiveInConfig,
  parseOspf6Interfaces,
  parseOspf6Neighbors,
  parseOspf6RouterId,
  parseOspf6RouterLsas,
  type Router6Lsa,
} from './show-ospf6.js';
import type { FrrRouterSpec } from './spec.js';

export const OSPF6_COMMANDS = {
  self: 'show ipv6 ospf6 json',
  ifaces: 'show ipv6 ospf6 interface json',
  neighbors: 'show ipv6 ospf6 neighbor json',
  lsdb: 'show ipv6 ospf6 database router detail json',
};

export interface Ospf6View {
  routerId?: string;
  ifaces: Ospf6InterfaceState[];
  neighbors: Ospf6Neighbor[];
  lsas: Router6Lsa[];
}

export function parseOspf6View(out: Map<string, string>): Ospf6View {
  return {
    routerId: parseOspf6RouterId(out.get(OSPF6_COMMANDS.self) ?? ''),
    ifaces: parseOspf6Interfaces(out.get(OSPF6_COMMANDS.ifaces) ?? ''),
    neighbors: parseOspf6Neighbors(out.get(OSPF6_COMMANDS.neighbors) ?? ''),
    lsas: parseOspf6RouterLsas(out.get(OSPF6_COMMANDS.lsdb) ?? ''),
  };
}

/** A router as waitConverged polled it (the fields this part reads). */
export interface Polled {
  node: RouterNode;
  ospf6?: Ospf6View;
  error?: string;
}

/** The router id a router's ospf6d says hello with: rendered, or its own frr.conf's. */
function configuredRouterId(n: NodeModel, model: Model, config: string): string | undefined {
  if ((n.spec as FrrRouterSpec).ospf) return routerIdOf(n, model);
  return /^\s*ospf6 router-id (\S+)/m.exec(config)?.[1];
}

/** Is OSPFv3 meant to form adjacencies on this interface (rendered intent, or the user's frr.conf)? */
function passive6(r: RouterNode, model: Model, iface: string): { passive: boolean; intended: boolean } {
  const spec = r.model.spec as FrrRouterSpec;
  if (spec.ospf) {
    const i = hasFamily(model, 6)
      ? ospfInterfaces(r.model, model, () => {}, 6).find((x) => x.name === iface)
      : undefined;
    return { passive: i?.passive ?? false, intended: i !== undefined };
  }
  return { passive: ospf6PassiveInConfig(r.frr?.setup.config ?? '').has(iface), intended: false };
}

/** Appends what OSPFv3 still misses; returns the adjacencies that are up. */
export function ospf6Missing(sim: Simulation, views: Polled[], missing: string[]): number {
  const model = sim.model;
  const byName = new Map(views.map((v) => [v.node.name, v]));
  let up = 0;
  type End = { v: Polled; o: Ospf6View; iface: Ospf6InterfaceState; rid: string };
  for (const seg of model.segments) {
    const ends: End[] = [];
    const gone: { node: string; rid: string }[] = [];
    for (const i of seg.ifaces) {
      if (!linkUp(sim, model.nodes.get(i.node)!, i.name)) continue;
      const rn = sim.nodes.get(i.node);
      if (!(rn instanceof RouterNode) || !rn.frr) continue;
      if (runsDaemon(rn, 'ospf6d') && !daemonUp(rn, 'ospf6d')) {
        const rid = configuredRouterId(rn.model, model, rn.frr.setup.config);
        if (rid) gone.push({ node: i.node, rid });
        continue;
      }
      const v = byName.get(i.node);
      if (!v?.ospf6 || v.error) continue;
      const live = v.ospf6.ifaces.find((x) => x.name === i.name);
      const { passive, intended } = passive6(rn, model, i.name);
      if ((!live && !intended) || passive) continue;
      if (!live?.up || !live.area || !v.ospf6.routerId) {
        missing.push(`${v.node.name}: OSPFv3 is not up on ${i.name} yet`);
        continue;
      }
      ends.push({ v, o: v.ospf6, iface: live, rid: v.ospf6.routerId });
    }
    for (const a of ends) {
      const here = a.o.neighbors.filter((n) => n.iface === a.iface.name);
      for (const b of gone) {
        const nbr = here.find((n) => n.routerId === b.rid);
        if (nbr)
          missing.push(
            `${a.v.node.name}: OSPFv3 still ${nbr.state} with ${b.node} (${b.rid} on ${a.iface.name}), whose ospf6d is stopped (waiting for the dead interval)`,
          );
      }
      if (a.iface.state === 'Waiting') {
        missing.push(`${a.v.node.name}: ${a.iface.name} is still waiting for the OSPFv3 DR election`);
        continue;
      }
      const known = new Set(ends.filter((b) => b !== a).map((b) => b.rid));
      for (const nbr of here)
        if (nbr.state !== 'Full' && nbr.state !== '2-Way' && !known.has(nbr.routerId))
          missing.push(
            `${a.v.node.name}: stale OSPFv3 neighbour ${nbr.routerId} on ${a.iface.name} in ${nbr.state}`,
          );
      for (const b of ends) {
        if (a === b || a.iface.area !== b.iface.area) continue;
        const nbr = here.find((n) => n.routerId === b.rid);
        const p2p = a.iface.networkType === 'POINTOPOINT';
        const dr = [a.iface.dr, a.iface.bdr];
        const needFull = p2p || dr.includes(a.rid) || dr.includes(b.rid);
        if (nbr && (nbr.state === 'Full' || (!needFull && nbr.state === '2-Way'))) up++;
        else
          missing.push(
            `${a.v.node.name}: OSPFv3 neighbour ${b.v.node.name} (${b.rid} on ${a.iface.name}) is ${nbr ? nbr.state : 'not seen'}, expected ${needFull ? 'Full' : '2-Way or Full'}`,
          );
      }
    }
  }
  lsdb6Problems(views, missing);
  return up;
}

/**
 * Adjacencies can be Full before the databases say so: each router's own router-LSA must list
 * its Full point-to-point neighbours, and the routers of an area joined by Full adjacencies
 * must hold the same router-LSAs.
 */
function lsdb6Problems(views: Polled[], missing: string[]): void {
  const live = views.filter((v): v is Polled & { ospf6: Ospf6View } => v.ospf6 !== undefined && !v.error);
  const part = new Map<string, string>(live.map((v) => [v.node.name, v.node.name]));
  const find = (x: string): string => {
    let r = x;
    while (part.get(r) !== r) r = part.get(r)!;
    return r;
  };
  for (const v of live)
    for (const n of v.ospf6.neighbors) {
      const w = live.find((x) => x.ospf6.routerId === n.routerId);
      if (n.state === 'Full' && w) part.set(find(v.node.name), find(w.node.name));
    }
  const byArea = new Map<string, { name: string; keys: string }[]>();
  for (const v of live) {
    const rid = v.ospf6.routerId;
    for (const i of v.ospf6.ifaces) {
      if (!i.up || i.networkType !== 'POINTOPOINT') continue;
      const own = v.ospf6.lsas.filter((l) => l.advRouter === rid && l.area === i.area);
      for (const n of v.ospf6.neighbors) {
        if (n.iface !== i.name || n.state !== 'Full') continue;
        if (!own.some((l) => l.links.some((k) => k.neighborRouterId === n.routerId)))
          missing.push(
            `${v.node.name}: its OSPFv3 router-LSA does not list neighbour ${n.routerId} on ${i.name} yet`,
          );
      }
    }
    for (const area of new Set(v.ospf6.lsas.map((l) => l.area))) {
      const key = `${find(v.node.name)}/${area}`;
      const keys = [...new Set(v.ospf6.lsas.filter((l) => l.area === area).map((l) => l.key))]
        .sort()
        .join(',');
      byArea.set(key, [...(byArea.get(key) ?? []), { name: v.node.name, keys }]);
    }
  }
  for (const [key, holders] of byArea) {
    const differ = holders.filter((h) => h.keys !== holders[0].keys).map((h) => h.name);
    if (differ.length)
      missing.push(
        `OSPFv3 area ${key.split('/')[1]}: ${[holders[0].name, ...differ].join(', ')} hold different router-LSAs (databases still synchronising)`,
      );
  }
}
