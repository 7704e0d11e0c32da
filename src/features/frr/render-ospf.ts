// OSPF intent -> frr.conf: which interfaces take part (all, or those listed), in which area,
// passive where no other OSPF speaker listens, point-to-point where two routers are alone
// on a subnet; and the `router ospf` section with fast timers.
import type { z } from 'zod';
import type { Path } from '../../model/errors.js';
import { kindOf } from '../../model/kinds/registry.js';
import type { Family, IfaceModel, Model, NodeModel } from '../../model/model.js';
import { formatIp } from '../../util/ipv4.js';
import { frrSpecOf, type Report } from './render-common.js';
import { OSPF_DEFAULT_TIMERS, type ospfInterfaceSpec } from './spec.js';

type OspfInterfaceSpec = z.infer<typeof ospfInterfaceSpec>;

export interface OspfInterface {
  name: string;
  area: string;
  cost?: number;
  passive: boolean;
  network?: 'point-to-point' | 'broadcast';
}

/** Dotted form of an area (0 -> 0.0.0.0), the form FRR prints. */
export function areaId(a: number | string): string {
  return typeof a === 'number' ? formatIp(a >>> 0) : a;
}

/** Does this node run OSPF (intent, or a user's frr.conf that may)? For OSPFv3: with IPv6 on `iface`. */
function speaksOspf(n: NodeModel, family: Family, iface: IfaceModel): boolean {
  const s = frrSpecOf(n);
  if (n.kind !== 'router' || (s.ospf === undefined && s.frr === undefined)) return false;
  return family === 4 || iface.addr6 !== undefined || s.frr !== undefined;
}

/**
 * The interfaces OSPF runs on, with their settings. `family` 6: OSPFv3's (ospf6d) — those with
 * an IPv6 address, and lo with a loopback6 (reports are the same as OSPFv2's, made once).
 */
export function ospfInterfaces(
  node: NodeModel,
  model: Model,
  report: Report,
  family: Family = 4,
): OspfInterface[] {
  const s = frrSpecOf(node);
  const ospf = s.ospf;
  if (!ospf) return [];
  const base: Path = ['nodes', node.name, 'ospf', 'interfaces'];
  const names = node.ifaces.map((i) => i.name);
  const known = (name: string) => name === 'lo' || names.includes(name);
  const wanted: { name: string; path: Path; opts: OspfInterfaceSpec }[] = [];
  if (ospf.interfaces === undefined) {
    for (const n of names) wanted.push({ name: n, path: base, opts: {} });
    if (family === 4 ? s.loopback : s.loopback6) wanted.push({ name: 'lo', path: base, opts: {} });
  } else if (Array.isArray(ospf.interfaces)) {
    ospf.interfaces.forEach((n, idx) => {
      wanted.push({ name: n, path: [...base, idx], opts: {} });
    });
  } else {
    for (const [n, opts] of Object.entries(ospf.interfaces))
      wanted.push({ name: n, path: [...base, n], opts: opts ?? {} });
  }
  const out: OspfInterface[] = [];
  for (const w of wanted) {
    if (!known(w.name)) {
      report(
        w.path,
        `${node.name} has no interface ${w.name} (its interfaces: ${names.length ? names.join(', ') : 'none'}${names.length ? ', lo' : ''})`,
      );
      continue;
    }
    if (out.some((o) => o.name === w.name)) {
      report(w.path, `interface ${w.name} is listed twice`);
      continue;
    }
    const opts = w.opts;
    const iface = node.ifaces.find((i) => i.name === w.name);
    if (family === 6 && (iface ? !iface.addr6 : !s.loopback6)) continue;
    let passive = opts.passive;
    let network = opts.network;
    if (!iface) {
      passive = true; // lo: its address is announced, nothing to talk to
    } else {
      const seg = model.segments[iface.segment];
      const others = seg.ifaces.filter((i) => i.node !== node.name);
      passive ??= !others.some((i) => speaksOspf(model.nodes.get(i.node)!, family, i));
      // two routers alone on a subnet: no DR election (which waits a whole dead interval)
      network ??=
        seg.ifaces.length === 2 && others.every((i) => kindOf(model.nodes.get(i.node)!.kind).forwards)
          ? 'point-to-point'
          : undefined;
    }
    out.push({
      name: w.name,
      area: areaId(opts.area ?? ospf.area ?? 0),
      cost: opts.cost ?? ospf.cost,
      passive,
      network,
    });
  }
  return out;
}

/**
 * The `router ospf` section (with `v4`, OSPFv2's interfaces), the `router ospf6` section (with
 * `v6`, OSPFv3's) and the OSPF lines of each interface, both families in one block; [] without
 * OSPF intent.
 */
export function ospfLines(
  node: NodeModel,
  v4: OspfInterface[] | undefined,
  rid: string | undefined,
  report: Report,
  v6?: OspfInterface[],
): string[] {
  const ospf = frrSpecOf(node).ospf;
  if (!ospf) return [];
  const L: string[] = [];
  const t = { ...OSPF_DEFAULT_TIMERS, ...ospf.timers };
  if (t.dead <= t.hello)
    report(
      ['nodes', node.name, 'ospf', 'timers', 'dead'],
      `the dead interval (${t.dead}) must be longer than the hello interval (${t.hello})`,
    );
  // router ospf (with its router-id) comes first: an `ip ospf area` line creates the
  // instance, and one created with zebra's router-id would say hello under that id first,
  // leaving a stale neighbour in Init on the other side until its dead interval (the same
  // holds for `ipv6 ospf6 area` and router ospf6)
  const blocks = new Map<string, string[]>();
  const block = (name: string) => blocks.get(name) ?? blocks.set(name, []).get(name)!;
  for (const i of v4 ?? []) {
    const b = block(i.name);
    b.push(` ip ospf area ${i.area}`);
    if (i.name !== 'lo') {
      if (i.network) b.push(` ip ospf network ${i.network}`);
      b.push(` ip ospf hello-interval ${t.hello}`, ` ip ospf dead-interval ${t.dead}`);
      if (ospf.bfd && !i.passive) b.push(' ip ospf bfd');
    }
    if (i.cost !== undefined) b.push(` ip ospf cost ${i.cost}`);
  }
  // ospf6d (FRR 8.4) has no passive-interface under router ospf6: it is an interface setting
  for (const i of v6 ?? []) {
    const b = block(i.name);
    b.push(` ipv6 ospf6 area ${i.area}`);
    if (i.name !== 'lo') {
      if (i.network) b.push(` ipv6 ospf6 network ${i.network}`);
      b.push(` ipv6 ospf6 hello-interval ${t.hello}`, ` ipv6 ospf6 dead-interval ${t.dead}`);
      if (i.passive) b.push(' ipv6 ospf6 passive');
      else if (ospf.bfd) b.push(' ipv6 ospf6 bfd');
    }
    if (i.cost !== undefined) b.push(` ipv6 ospf6 cost ${i.cost}`);
  }
  if (v4) {
    L.push('router ospf');
    if (rid) L.push(` ospf router-id ${rid}`);
    // FRR rate-limits LSA origination to one per 5 s and SPF runs: fine for a WAN, slow for
    // a simulation that is torn down and rebuilt in seconds
    L.push(' timers throttle spf 0 50 500', ' timers throttle lsa all 0', ' timers lsa min-arrival 0');
    for (const i of v4) if (i.passive && i.name !== 'lo') L.push(` passive-interface ${i.name}`);
    for (const r of ospf.redistribute ?? []) L.push(` redistribute ${r}`);
    L.push('exit', '!');
  }
  if (v6) {
    // ospf6d (FRR 8.4) has no `timers throttle lsa`
    L.push('router ospf6');
    if (rid) L.push(` ospf6 router-id ${rid}`);
    L.push(' timers throttle spf 0 50 500', ' timers lsa min-arrival 0');
    for (const r of ospf.redistribute ?? []) L.push(` redistribute ${r}`);
    L.push('exit', '!');
  }
  for (const [name, lines] of blocks) L.push(`interface ${name}`, ...lines, 'exit', '!');
  return L;
}
