// Follows the probe from its source, node by node, asking each node's kernel where it goes
// next (bridge ports, routes, neighbours, VXLAN devices) and matching what the nft trace
// recorded there; the explainers in explain/ turn each answer into steps.
import { fdbChoice, ownAddress, receivedStep, unknownMac } from './explain/bridge.js';
import type { ConntrackEntry } from './explain/nat.js';
import { deliverStep, neighbourStep, noRouteReason, routeStep, routeTypeReason } from './explain/route.js';
import { explainRules, seenStep } from './explain/rules.js';
import { explainDecap, explainEncap, isVxlan, type VxlanHeader } from './explain/vxlan.js';
import { ipFlag } from './family.js';
import { inNs, jsonIn, type ToolRunner, type TraceNet } from './net.js';
import type {
  FdbJson,
  Hop,
  LinkJson,
  NeighJson,
  Next,
  Pass,
  Pkt,
  PortCounters,
  RouteGet,
  TraceResult,
} from './types.js';

/** What the probe's recording gives the walk. */
export interface WalkInput {
  passes: Map<string, Pass[]>;
  counters: Map<string, PortCounters>;
  countersAfter: Map<string, PortCounters>;
  conntrack: Map<string, ConntrackEntry>;
  watched: Set<string>;
}

export class PathWalker {
  readonly hops: Hop[] = [];
  readonly vxlan: VxlanHeader[] = [];
  drop?: TraceResult['drop'];
  dnat?: TraceResult['dnat'];
  delivered?: { node: string; ip: string };

  constructor(
    private readonly net: TraceNet,
    private readonly kernel: ToolRunner,
    private readonly rec: WalkInput,
  ) {}

  private json<T>(ns: string, cmd: 'ip' | 'bridge', args: string[]): Promise<T[]> {
    return jsonIn<T>(ns, cmd, args, this.kernel);
  }

  private hop(node: string, inIf?: string): Hop {
    const n = this.net.node(node)!;
    const h: Hop = { node, kind: n.kind, in: inIf, steps: [] };
    this.hops.push(h);
    return h;
  }

  /** Follows the probe from the source, asking each node's kernel where it goes next. */
  async walk(src: string, pkt: Pkt): Promise<void> {
    let next: Next | undefined = { node: src, layer: 'inner', pkt };
    let cur: Hop | undefined;
    for (let guard = 0; next && guard < 40; guard++) {
      const at: Next = next;
      next = undefined;
      const node = this.net.node(at.node);
      if (!node) break;
      if (cur?.node !== at.node || (at.iface && !at.l3iif)) cur = this.hop(at.node, at.iface);
      const hop = cur;
      // L2: a switch, or a bridge port of this node (cni0)
      let l3If = at.l3iif ?? at.iface;
      if (at.iface && !at.l3iif) {
        const bridge = this.net.isSwitch(node)
          ? this.net.switchBridge()
          : (await this.json<LinkJson>(node.ns, 'ip', ['link', 'show', 'dev', at.iface]))[0]?.master;
        if (bridge) {
          const l2 = await this.bridgeDecision(node.name, node.ns, bridge, at.mac, at.iface, hop);
          if (l2.port) {
            hop.out = l2.port;
            // bridged inside a node with an IP stack (a worker's cni0): br_netfilter still runs
            // its forward rules (NetworkPolicy between pods of one worker)
            if (!this.net.isSwitch(node)) {
              const after = this.nftSteps(node.name, node.ns, at.layer, at.pkt, hop);
              if (!after) break;
            }
            const peer = this.net.peer(node.name, l2.port);
            if (!peer) {
              hop.steps.push({
                kind: 'note',
                text: `port ${l2.port} leads outside the simulation's records`,
              });
              break;
            }
            next = { ...at, node: peer.node, iface: peer.iface };
            continue;
          }
          if (!l2.local) {
            // flooded: the FDB does not know the MAC; follow the owner of the next hop's address
            const owner = at.nh ? this.net.owner(at.nh) : undefined;
            if (!owner) break;
            hop.steps.push({ kind: 'note', text: `followed to ${owner.node}, which has ${at.nh}` });
            next = { ...at, node: owner.node, iface: owner.iface, mac: undefined };
            continue;
          }
          l3If = bridge;
        }
      }
      if (this.net.isSwitch(node)) break;
      next = await this.l3(node.name, node.ns, l3If, at.layer, at.pkt, hop, at.inner);
    }
  }

  /** The bridge's choice for a destination MAC: its own address (up to the IP stack) or a port. */
  private async bridgeDecision(
    node: string,
    ns: string,
    bridge: string,
    mac: string | undefined,
    inIf: string,
    hop: Hop,
  ): Promise<{ local?: boolean; port?: string }> {
    const before = this.rec.counters.get(node);
    const after = this.rec.countersAfter.get(node);
    const rx = receivedStep(inIf, before?.get(inIf), after?.get(inIf));
    if (rx) {
      hop.seen = rx.seen;
      hop.steps.push(rx.step);
    }
    let choice = mac ? undefined : unknownMac(bridge);
    if (mac) {
      const [br] = await this.json<LinkJson>(ns, 'ip', ['link', 'show', 'dev', bridge]);
      if (br?.address === mac) choice = ownAddress(node, bridge, mac);
      else {
        const fdb = await this.json<FdbJson>(ns, 'bridge', ['fdb', 'show', 'br', bridge]);
        choice = fdbChoice(
          node,
          bridge,
          mac,
          fdb,
          (port) => this.net.peer(node, port),
          (port) => {
            const a = after?.get(port);
            const b = before?.get(port);
            return a && b ? a.tx - b.tx : undefined;
          },
        );
      }
    }
    hop.steps.push(choice!.step);
    return { local: choice!.local, port: choice!.port };
  }

  /**
   * The nftables verdicts of the next pass of this layer through the node: steps for the rules
   * the probe met; the packet as it leaves them (after a DNAT), or undefined when one dropped it.
   */
  private nftSteps(node: string, ns: string, layer: 'inner' | 'outer', pkt: Pkt, hop: Hop): Pkt | undefined {
    // nftables: the first pass of this layer not yet explained
    const queue = this.rec.passes.get(node) ?? [];
    const i = queue.findIndex((p) => p.layer === layer);
    const pass = i >= 0 ? queue.splice(i, 1)[0] : undefined;
    if (this.rec.watched.has(node)) {
      if (pass) {
        hop.seen = true;
        hop.steps.push(seenStep(pass, layer));
      } else if (hop.seen === undefined) {
        hop.seen = false;
        hop.steps.push(seenStep(undefined, layer));
      }
    }
    const r = explainRules(pass ? pass.events : [], pkt, this.rec.conntrack.get(ns));
    hop.steps.push(...r.steps);
    if (r.dnat) this.dnat = { node, ...r.dnat };
    if (r.drop) {
      this.drop = { node, ...r.drop };
      return undefined;
    }
    return r.out;
  }

  private stop(node: string, hop: Hop, reason: string): undefined {
    hop.steps.push({ kind: 'drop', text: reason });
    this.drop = { node, reason };
    return undefined;
  }

  /** The IP layer of one node: firewall/NAT verdicts, the route, and the next node. */
  private async l3(
    node: string,
    ns: string,
    iif: string | undefined,
    layer: 'inner' | 'outer',
    pkt: Pkt,
    hop: Hop,
    inner?: Pkt,
  ): Promise<Next | undefined> {
    const out = this.nftSteps(node, ns, layer, pkt, hop);
    if (!out) return undefined;
    // the route, as this node's kernel decides it (`ip -6 route get` for an IPv6 packet)
    const fam = ipFlag(out.daddr);
    const get = [fam, 'route', 'get', out.daddr, 'from', out.saddr];
    if (iif) get.push('iif', iif);
    const rg = await inNs(ns, 'ip', ['-j', ...get], 10000, this.kernel);
    if (rg.code !== 0) return this.stop(node, hop, noRouteReason(out.daddr, rg.stderr));
    const r = (JSON.parse(rg.stdout) as RouteGet[])[0];
    const [fib] = await this.json<RouteGet>(ns, 'ip', [fam, 'route', 'get', 'fibmatch', out.daddr]);
    if (r.type === 'local') {
      if (layer === 'outer' && inner) {
        // VXLAN to this node: the device with this port decapsulates it
        const devs = await this.json<LinkJson>(ns, 'ip', ['-d', 'link', 'show', 'type', 'vxlan']);
        const d = explainDecap(devs, out, inner);
        hop.steps.push(d.step);
        return { node, l3iif: d.device, layer: 'inner', pkt: inner };
      }
      hop.steps.push(deliverStep(node, out, fib));
      this.delivered = { node, ip: out.daddr };
      return undefined;
    }
    const odd = routeTypeReason(r, out.daddr, fib);
    if (odd) return this.stop(node, hop, odd);
    const nh = r.gateway ?? out.daddr;
    const dev = r.dev!;
    hop.out = dev;
    hop.steps.push(
      routeStep(out.daddr, r, fib, r.gateway ? this.net.gatewayNode(node, dev, r.gateway) : undefined),
    );
    const [link] = await this.json<LinkJson>(ns, 'ip', ['-d', 'link', 'show', 'dev', dev]);
    // ARP's entry, or NDP's for an IPv6 next hop
    const [ne] = await this.json<NeighJson>(ns, 'ip', [ipFlag(nh), 'neigh', 'show', nh, 'dev', dev]);
    if (link && isVxlan(link)) {
      const fdb = await this.json<FdbJson>(ns, 'bridge', ['fdb', 'show', 'dev', dev]);
      const e = explainEncap(node, link, nh, ne, fdb, out);
      if ('drop' in e) return this.stop(node, hop, e.drop);
      hop.steps.push(e.step);
      this.vxlan.push(e.header);
      return this.l3(node, ns, undefined, 'outer', e.outer, hop, out);
    }
    hop.steps.push(neighbourStep(nh, dev, ne));
    if (link?.linkinfo?.info_kind === 'bridge' || (await this.isBridge(ns, dev))) {
      // out of a bridge this node holds (a worker's cni0): the bridge picks the port
      const l2 = await this.bridgeDecision(node, ns, dev, ne?.lladdr, dev, hop);
      if (!l2.port) return undefined;
      hop.out = l2.port;
      const peer = this.net.peer(node, l2.port);
      return peer
        ? { node: peer.node, iface: peer.iface, mac: ne?.lladdr, nh, layer, pkt: out, inner }
        : undefined;
    }
    const peer = this.net.peer(node, dev);
    if (!peer) {
      hop.steps.push({ kind: 'note', text: `${dev} leads outside the simulation's records` });
      return undefined;
    }
    return { node: peer.node, iface: peer.iface, mac: ne?.lladdr, nh, layer, pkt: out, inner };
  }

  private async isBridge(ns: string, dev: string): Promise<boolean> {
    const [l] = await this.json<LinkJson>(ns, 'ip', ['-d', 'link', 'show', 'dev', dev]);
    return l?.linkinfo?.info_kind === 'bridge';
  }
}
