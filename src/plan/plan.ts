// Model -> a plan of kernel operations, grouped so they can be applied in a few batches:
// all namespaces in one `ip -batch`, all veths in another, then one script per namespace.

import type { Features } from '../kernel/features.js';
import { emptyScript, type NsScript, type VethSpec } from '../kernel/kernel.js';
import { kindOf } from '../kinds/registry.js';
import { TopologyError } from '../model/errors.js';
import type { IfaceModel, Model } from '../model/model.js';
import { formatIp } from '../util/ipv4.js';

export class Plan {
  readonly namespaces: string[] = [];
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
    for (const s of this.scripts.values()) n += s.ip.length + s.tc.length + Object.keys(s.sysctls).length;
    return n;
  }
}

export function buildPlan(model: Model, features?: Features): Plan {
  const plan = new Plan(features);
  for (const node of model.nodes.values()) {
    plan.namespaces.push(node.ns);
    // loopback first: many daemons bind to it
    plan.script(node.ns).ip.push('link set lo up');
  }
  for (const link of model.links) {
    const [a, b] = link.ends;
    plan.veths.push({
      a: { ns: model.nodes.get(a.node)!.ns, ifname: a.name },
      b: { ns: model.nodes.get(b.node)!.ns, ifname: b.name },
      mtu: link.spec.mtu,
    });
  }
  for (const node of model.nodes.values()) kindOf(node.kind).plan(node, model, plan);
  for (const link of model.links) addShaping(model, link.index, plan);
  return plan;
}

/** Address and up/down lines for an interface of an L3 node. */
export function ifaceLines(model: Model, iface: IfaceModel): string[] {
  const lines: string[] = [];
  if (iface.addr) lines.push(`addr add ${formatIp(iface.addr.ip)}/${iface.addr.prefix} dev ${iface.name}`);
  if (model.links[iface.link].spec.state !== 'down') lines.push(`link set ${iface.name} up`);
  return lines;
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
    if (rate) {
      const bps = rateToBits(rate);
      // burst: at least one full-size frame and about 10 ms of traffic, or tbf stalls
      const burst = Math.max(Math.ceil(bps / 8 / 100), (link.spec.mtu ?? 1500) + 100, 5000);
      tc.push(
        `qdisc add dev ${end.name} ${parent} handle 10: tbf rate ${bps}bit burst ${burst} latency 50ms`,
      );
    }
  }
}

export function rateToBits(rate: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)(bit|bps)?$/i.exec(rate.trim());
  if (!m) throw new Error(`bad rate ${rate}`);
  const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  const bytes = m[3]?.toLowerCase() === 'bps';
  return Math.round(Number(m[1]) * mult * (bytes ? 8 : 1));
}
