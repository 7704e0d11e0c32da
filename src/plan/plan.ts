// Model -> a plan of kernel operations, grouped so they can be applied in a few batches:
// all namespaces in one `ip -batch`, all veths in another, then one script per namespace
// (in waves: bridges after the nodes they connect).

import type { Features } from '../kernel/features.js';
import { emptyScript, type NsScript, type VethSpec } from '../kernel/kernel.js';
import { type Bind, parseBind } from '../kernel/mounts.js';
import { TopologyError } from '../model/errors.js';
import type { PlanSink } from '../model/kinds/kind.js';
import { kindOf } from '../model/kinds/registry.js';
import type { Model } from '../model/model.js';

export class Plan implements PlanSink {
  readonly namespaces: string[] = [];
  /** each node's hostname, by namespace (its own UTS namespace) */
  readonly hostnames = new Map<string, string>();
  /** binds of the nodes that have them, by namespace (their own mount namespace) */
  readonly binds = new Map<string, Bind[]>();
  readonly veths: VethSpec[] = [];
  readonly scripts = new Map<string, NsScript>();

  constructor(readonly features: Features | undefined) {}

  script(ns: string): NsScript {
    let s = this.scripts.get(ns);
    if (!s) {
      s = emptyScript();
      this.scripts.set(ns, s);
    }
    return s;
  }

  get operationCount(): number {
    let n = this.namespaces.length + this.veths.length;
    for (const s of this.scripts.values())
      n += s.ip.length + s.tc.length + (s.nft?.length ?? 0) + Object.keys(s.sysctls).length;
    return n;
  }
}

export function buildPlan(model: Model, features?: Features): Plan {
  const plan = new Plan(features);
  for (const node of model.nodes.values()) {
    plan.namespaces.push(node.ns);
    plan.hostnames.set(node.ns, node.name);
    const binds = node.spec.binds as string[] | undefined;
    if (binds?.length) plan.binds.set(node.ns, binds.map(parseBind));
    // loopback first: many daemons bind to it
    plan.script(node.ns).ip.push('link set lo up');
  }
  const waves = configurationWaves(model);
  for (const link of model.links) {
    let [a, b] = link.ends;
    // the end configured later is created up (only one end can be): when the other end's
    // script sets it up the carrier comes on, and the later script finds its port ready
    const [wa, wb] = [waves.get(a.node)!, waves.get(b.node)!];
    if (wb > wa) [a, b] = [b, a];
    plan.veths.push({
      a: { ns: model.nodes.get(a.node)!.ns, ifname: a.name },
      b: { ns: model.nodes.get(b.node)!.ns, ifname: b.name },
      mtu: link.spec.mtu,
      aUp: wa !== wb && link.spec.state !== 'down',
    });
  }
  for (const node of model.nodes.values()) kindOf(node.kind).plan(node, model, plan);
  for (const link of model.links) addShaping(model, link.index, plan);
  for (const node of model.nodes.values()) {
    const script = plan.script(node.ns);
    script.wave = waves.get(node.name);
    if (!kindOf(node.kind).bridging) continue;
    // bridges report their ports as they finish, which usually spares the carrier wait a round
    script.report = true;
    // ports not created up come up first thing, so the kernel's link watcher has the rest of
    // the script to mark them operational before the report
    const createdUp = new Set(plan.veths.filter((v) => v.aUp && v.a.ns === node.ns).map((v) => v.a.ifname));
    const early = node.ifaces
      .filter((i) => model.links[i.link].spec.state !== 'down' && !createdUp.has(i.name))
      .map((i) => `link set ${i.name} up`);
    script.ip.splice(1, 0, ...early);
  }
  return plan;
}

/** More waves than this are merged into the last one (their links then wait a round). */
const MAX_WAVES = 4;

/**
 * The order in which namespaces are configured: everything that is not a bridge first (wave
 * 0), then the bridges, coloured so that two bridges linked to each other are in different
 * waves. A bridge then finds every port's peer already up when it brings the port up, so its
 * ports are forwarding by the time its script ends.
 */
export function configurationWaves(model: Model): Map<string, number> {
  const waves = new Map<string, number>();
  const bridging = (name: string) => kindOf(model.nodes.get(name)!.kind).bridging === true;
  const neighbours = new Map<string, string[]>();
  for (const link of model.links) {
    const [a, b] = link.ends.map((e) => e.node);
    if (a === b || !bridging(a) || !bridging(b)) continue;
    neighbours.set(a, [...(neighbours.get(a) ?? []), b]);
    neighbours.set(b, [...(neighbours.get(b) ?? []), a]);
  }
  for (const node of model.nodes.values()) if (!bridging(node.name)) waves.set(node.name, 0);
  // breadth first from each uncoloured bridge: chains and trees get two colours
  for (const start of model.nodes.keys()) {
    if (waves.has(start)) continue;
    const queue = [start];
    for (let i = 0; i < queue.length; i++) {
      const name = queue[i];
      if (waves.has(name)) continue;
      const taken = new Set((neighbours.get(name) ?? []).map((n) => waves.get(n)));
      let wave = 1;
      while (taken.has(wave) && wave < MAX_WAVES) wave++;
      waves.set(name, wave);
      for (const n of neighbours.get(name) ?? []) if (!waves.has(n)) queue.push(n);
    }
  }
  return waves;
}

/** tc for a link: netem (delay/jitter/loss) where the kernel has it, tbf for rate; both directions. */
function addShaping(model: Model, index: number, plan: Plan): void {
  const link = model.links[index];
  const { rate, delay, jitter, loss } = link.spec;
  if (!rate && !delay && !loss && !jitter) return;
  const needsNetem = Boolean(delay || loss || jitter);
  if (needsNetem && plan.features && !plan.features.netem) {
    throw new TopologyError([
      {
        path: ['links', index],
        message: 'delay/jitter/loss need the netem qdisc (sch_netem), which this kernel does not have',
        pos: model.source.locate(['links', index, delay ? 'delay' : loss ? 'loss' : 'jitter']),
      },
    ]);
  }
  for (const end of link.ends) {
    const ns = model.nodes.get(end.node)!.ns;
    const tc = plan.script(ns).tc;
    let parent = 'root';
    if (needsNetem) {
      const parts = ['netem'];
      if (delay) parts.push(`delay ${delay}${jitter ? ` ${jitter}` : ''}`);
      if (loss) parts.push(`loss ${loss}`);
      if (rate) parts.push('limit 10000');
      tc.push(`qdisc add dev ${end.name} root handle 1: ${parts.join(' ')}`);
      parent = 'parent 1:';
    }
    if (rate) tc.push(tbfQdisc(end.name, parent, rateToBits(rate), link.spec.mtu));
  }
}

/**
 * The tbf that shapes a link end to `bps` (the topology's `rate`, the REPL's `netem --rate`).
 * burst: at least one full-size frame and about 10 ms of traffic, or tbf stalls. The queue
 * holds 50 ms at the rate but never less than three 64 KiB GSO packets: a veth hands tbf whole
 * TSO segments, and a queue smaller than a couple of them drops TCP's bursts at low rates
 * (10mbit measured 8.7-8.9 Mbit/s with a 62 KB queue, 9.6 with this one).
 */
export function tbfQdisc(dev: string, parent: string, bps: number, mtu = 1500): string {
  const burst = Math.max(Math.ceil(bps / 8 / 100), mtu + 100, 5000);
  const limit = Math.max(Math.ceil((bps / 8) * 0.05), 3 * 65536);
  return `qdisc add dev ${dev} ${parent} handle 10: tbf rate ${bps}bit burst ${burst} limit ${limit}`;
}

export function rateToBits(rate: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)(bit|bps)?$/i.exec(rate.trim());
  if (!m) throw new Error(`bad rate ${rate}`);
  const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  const bytes = m[3]?.toLowerCase() === 'bps';
  return Math.round(Number(m[1]) * mult * (bytes ? 8 : 1));
}
