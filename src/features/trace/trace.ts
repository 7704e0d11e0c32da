// `trace <src> <dst> [port]`: a real probe (a TCP connection with a chosen source port, or a
// ping with a chosen identifier) from the source's namespace, traced by nftables in every
// namespace, then explained hop by hop from the kernel's own answers: each node's route
// (`ip route get`, and `fibmatch` for the FIB entry and the protocol that installed it), the
// neighbour and bridge FDB entries that picked the next node, kube-proxy's rules and the
// endpoint conntrack recorded for the DNAT, flannel's VXLAN neighbour/FDB entries and the
// outer header, NetworkPolicy verdicts, and where and why the probe was dropped.
import { randomInt } from 'node:crypto';
import { serviceRef } from '../../model/expect.js';
import type { SimState } from '../../runtime/state.js';
import { parseIp } from '../../util/ipv4.js';
import { inNs, jsonIn, TraceNet } from './net.js';
import { type PacketInfo, type ProbeMatch, type TraceEvent, TraceSession } from './nft.js';

export type StepKind =
  | 'route'
  | 'neighbour'
  | 'bridge'
  | 'nat'
  | 'dnat'
  | 'snat'
  | 'filter'
  | 'policy'
  | 'vxlan'
  | 'decap'
  | 'deliver'
  | 'drop'
  | 'seen'
  | 'note';

export interface Step {
  kind: StepKind;
  text: string;
  data?: Record<string, unknown>;
}

export interface Hop {
  node: string;
  kind: string;
  /** interface the probe came in on (undefined at the source) */
  in?: string;
  out?: string;
  /** the probe was seen here (nft trace, or a switch port's counters); undefined: not watched */
  seen?: boolean;
  steps: Step[];
}

export type Outcome = 'delivered' | 'refused' | 'dropped' | 'unknown';

export interface TraceResult {
  sim: string;
  src: string;
  dst: string;
  target: { ip: string; port?: number; service?: string; node?: string };
  proto: 'tcp' | 'icmp';
  probe: {
    command: string;
    result: 'answered' | 'refused' | 'unreachable' | 'timeout';
    detail: string;
    ms: number;
    /** source address and port (TCP) or ICMP id */
    from: string;
  };
  hops: Hop[];
  outcome: Outcome;
  summary: string;
  drop?: { node: string; reason: string; rule?: string };
  dnat?: { node: string; from: string; to: string; rule?: string };
  vxlan?: { node: string; device: string; vni: number; outerSrc: string; outerDst: string; port: number }[];
  ms: number;
}

export class TraceError extends Error {}

export interface TraceOptions {
  port?: number;
  /** how long the probe waits for an answer (default 2000 ms) */
  timeoutMs?: number;
  /** a service name the kernel's tables cannot name (no endpoints): ask the cluster */
  resolveService?: (
    namespace: string,
    name: string,
    port?: number,
  ) => Promise<{ ip: string; port: number } | undefined>;
}

interface Pkt {
  saddr: string;
  daddr: string;
  proto: 'tcp' | 'udp' | 'icmp';
  sport?: number;
  dport?: number;
}

/** Where the probe goes next: a node, the interface it arrives on, the MAC it is sent to. */
interface Next {
  node: string;
  /** arrives on this interface (L2 first: a switch or a bridge port) */
  iface?: string;
  /** stays in the same node, at the IP layer, as if received on this device (after VXLAN decap) */
  l3iif?: string;
  mac?: string;
  /** the next hop's address (to follow a flooded frame) */
  nh?: string;
  layer: 'inner' | 'outer';
  pkt: Pkt;
  /** the inner packet while an outer (VXLAN) one travels */
  inner?: Pkt;
}

interface RouteGet {
  type?: string;
  dst: string;
  gateway?: string;
  dev?: string;
  prefsrc?: string;
  protocol?: string;
  metric?: number;
  flags?: string[];
}

interface LinkJson {
  ifname: string;
  address?: string;
  master?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number } };
}

interface FdbJson {
  mac: string;
  ifname?: string;
  master?: string;
  dst?: string;
  state?: string;
  flags?: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ROUTING_DAEMONS = new Set(['ospf', 'bgp', 'static', 'zebra', 'isis', 'rip', 'eigrp', 'babel']);

/** "10.0.1.0/24 via 10.255.0.2 dev eth2 proto ospf metric 20" from a route entry. */
function routeText(r: RouteGet): string {
  const parts = [r.dst];
  if (r.gateway) parts.push(`via ${r.gateway}`);
  if (r.dev) parts.push(`dev ${r.dev}`);
  parts.push(`proto ${r.protocol ?? 'boot'}`);
  if (r.metric !== undefined) parts.push(`metric ${r.metric}`);
  if (r.flags?.includes('onlink')) parts.push('onlink');
  return parts.join(' ');
}

function installedBy(proto: string | undefined): string {
  const p = proto ?? 'boot';
  if (ROUTING_DAEMONS.has(p))
    return `installed by FRR (zebra) from ${p === 'zebra' ? 'zebra' : p.toUpperCase()}`;
  if (p === 'kernel') return 'connected subnet (the kernel added it with the address)';
  if (p === 'boot') return 'configured with ip route (netsim or the agent)';
  return `protocol ${p}`;
}

/** One pass of the probe through a namespace: the events from its mark to the next mark. */
interface Pass {
  packet: PacketInfo;
  events: TraceEvent[];
  layer: 'inner' | 'outer';
}

function passesOf(events: TraceEvent[], table: string, probeSrc: string): Pass[] {
  const out: Pass[] = [];
  for (const e of events) {
    if (e.type === 'packet' && e.table === table) {
      const p = e.packet ?? {};
      const outer = p.proto === 'udp' && p.saddr !== probeSrc;
      out.push({ packet: p, events: [], layer: outer ? 'outer' : 'inner' });
      continue;
    }
    out[out.length - 1]?.events.push(e);
  }
  return out;
}

/**
 * The rules worth showing: not the trace table's own mark, no base-chain policy accepts, no
 * kube-proxy masquerade check that returns, and jumps only into chains where something shown
 * happened.
 */
function interesting(events: TraceEvent[]): TraceEvent[] {
  const keep = events.map((e) => {
    if (e.type === 'packet' || e.type === 'verdict') return false;
    if (e.table.startsWith('netsim-trace-')) return false;
    if (e.type === 'policy' && e.verdict === 'accept') return false;
    if (e.type === 'rule' && e.verdict === 'return' && /^meta mark & 0x0*4000 == 0x0+ return$/.test(e.text))
      return false;
    return true;
  });
  // from the end: a jump stays when the chain it enters has a kept event before control returns
  const shownIn = new Set<string>();
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e.type === 'rule' && /^(jump|goto) /.test(e.verdict ?? '')) {
      const target = e.verdict!.split(' ')[1];
      keep[i] = shownIn.has(`${e.table} ${target}`);
    }
    if (keep[i]) shownIn.add(`${e.table} ${e.chain}`);
  }
  return events.filter((_, i) => keep[i]);
}

function kindOfTable(table: string): StepKind {
  if (table === 'kube-proxy') return 'nat';
  if (table === 'netsim-policy') return 'policy';
  return 'filter';
}

export class Tracer {
  private readonly hops: Hop[] = [];
  private passes = new Map<string, Pass[]>();
  private drop?: TraceResult['drop'];
  private dnat?: TraceResult['dnat'];
  private readonly vxlan: NonNullable<TraceResult['vxlan']> = [];
  private delivered?: { node: string; ip: string };
  private counters = new Map<string, Map<string, { rx: number; tx: number }>>();
  private countersAfter = new Map<string, Map<string, { rx: number; tx: number }>>();
  private conntrack = new Map<string, { to: string; line: string }>();

  constructor(readonly net: TraceNet) {}

  static fromState(state: SimState): Tracer {
    return new Tracer(new TraceNet(state));
  }

  private nodeList(): string {
    const names = [...this.net.nodes.keys()];
    return `${names.slice(0, 15).join(', ')}${names.length > 15 ? ', ...' : ''}`;
  }

  /** Services kube-proxy programs: `[vip, proto, port, "ns/name"]` from a worker's service-ips map. */
  private async services(
    worker: string,
  ): Promise<{ ip: string; proto: string; port: number; name: string }[]> {
    const ns = this.net.node(worker)?.ns;
    if (!ns) return [];
    const r = await inNs(ns, 'nft', ['-j', 'list', 'map', 'ip', 'kube-proxy', 'service-ips']);
    if (r.code !== 0) return [];
    const out: { ip: string; proto: string; port: number; name: string }[] = [];
    try {
      const j = JSON.parse(r.stdout) as { nftables: { map?: { elem?: unknown[] } }[] };
      for (const o of j.nftables)
        for (const el of o.map?.elem ?? []) {
          const [k, v] = el as [{ concat: [string, string, number] }, { goto?: { target: string } }];
          const m = /^service-[A-Z2-7]{8}-([^/]+\/[^/]+)\//.exec(v.goto?.target ?? '');
          if (k?.concat && m)
            out.push({ ip: k.concat[0], proto: k.concat[1], port: k.concat[2], name: m[1] });
        }
    } catch {
      return [];
    }
    return out;
  }

  private async resolveTarget(src: string, dst: string, opts: TraceOptions): Promise<TraceResult['target']> {
    const n = this.net.node(dst);
    if (n) {
      const ip = this.net.firstIp(n);
      if (!ip) throw new TraceError(`"${dst}" has no address to send to (a ${n.kind})`);
      return { ip, port: opts.port, node: dst };
    }
    if (parseIp(dst) !== undefined && /^\d+\.\d+\.\d+\.\d+$/.test(dst)) {
      const owner = this.net.owner(dst);
      return { ip: dst, port: opts.port, node: owner?.node };
    }
    const ref = serviceRef(dst.replace(/\.svc(\.cluster\.local)?$/, ''));
    if (ref) {
      const srcNode = this.net.node(src);
      const workers = [srcNode?.parent, ...this.net.workers().map((w) => w.name)].filter(
        (w): w is string => !!w,
      );
      const full = `${ref.namespace}/${ref.name}`;
      for (const w of [...new Set(workers)].slice(0, 2)) {
        const svcs = (await this.services(w)).filter((s) => s.name === full);
        if (!svcs.length) continue;
        const pick =
          (opts.port !== undefined ? svcs.find((s) => s.port === opts.port) : undefined) ??
          svcs.find((s) => s.proto === 'tcp');
        if (opts.port !== undefined && !svcs.some((s) => s.port === opts.port))
          throw new TraceError(
            `service ${full} has no port ${opts.port} (ports: ${svcs.map((s) => `${s.port}/${s.proto}`).join(', ')})`,
          );
        if (!pick) throw new TraceError(`service ${full} has no TCP port to trace`);
        return { ip: pick.ip, port: pick.port, service: full };
      }
      const asked = await opts.resolveService?.(ref.namespace, ref.name, opts.port);
      if (asked) return { ip: asked.ip, port: asked.port, service: full };
    }
    throw new TraceError(
      `unknown destination "${dst}": not a node, a service or an IPv4 address (nodes: ${this.nodeList()})`,
    );
  }

  private async prepare(src: string, dst: string, opts: TraceOptions) {
    const srcNode = this.net.node(src);
    if (!srcNode) throw new TraceError(`unknown source "${src}" (nodes: ${this.nodeList()})`);
    if (this.net.isSwitch(srcNode))
      throw new TraceError(`"${src}" is a switch: it sends no packets of its own`);
    const srcIp = this.net.firstIp(srcNode);
    if (!srcIp) throw new TraceError(`"${src}" has no address to send from`);
    if (opts.port !== undefined && !(Number.isInteger(opts.port) && opts.port >= 1 && opts.port <= 65535))
      throw new TraceError(`port ${opts.port} is outside 1..65535`);
    const target = await this.resolveTarget(src, dst, opts);
    const proto: 'tcp' | 'icmp' = target.port !== undefined ? 'tcp' : 'icmp';
    const sport = randomInt(42000, 58000);
    const icmpId = randomInt(1, 65535);
    const match: ProbeMatch =
      proto === 'tcp' ? { proto, saddr: srcIp, sport } : { proto, saddr: srcIp, icmpId };
    return { srcNode, srcIp, target, proto, sport, icmpId, match };
  }

  /** The probe alone, untraced (what `verify` repeats until a reachable expectation holds). */
  async probeOnly(
    src: string,
    dst: string,
    opts: TraceOptions = {},
  ): Promise<{ target: TraceResult['target']; probe: TraceResult['probe'] }> {
    const p = await this.prepare(src, dst, opts);
    return {
      target: p.target,
      probe: await this.probe(p.srcNode.ns, p.target, p.match, opts.timeoutMs ?? 2000),
    };
  }

  async trace(src: string, dst: string, opts: TraceOptions = {}): Promise<TraceResult> {
    const t0 = performance.now();
    const { srcNode, srcIp, target, proto, sport, icmpId, match } = await this.prepare(src, dst, opts);
    // one trace at a time per tracer: forget the previous one
    this.hops.length = 0;
    this.vxlan.length = 0;
    this.passes = new Map();
    this.conntrack = new Map();
    this.drop = undefined;
    this.dnat = undefined;
    this.delivered = undefined;
    const table = `netsim-trace-${proto === 'tcp' ? sport : icmpId}`;

    // every namespace that may see the probe gets a trace table (switches run no nftables)
    let watched = [...this.net.nodes.values()].filter((n) => !this.net.isSwitch(n));
    if (watched.length > 64)
      watched = watched.filter((n) => n.kind !== 'pod' || n.name === src || n.name === target.node);
    const switches = [...this.net.nodes.values()].filter((n) => this.net.isSwitch(n));
    this.counters = await this.readCounters(switches.map((s) => s.name));
    const session = await TraceSession.start(
      watched.map((n) => n.ns),
      match,
      table,
    );
    let probe: TraceResult['probe'];
    let events: Map<string, TraceEvent[]>;
    try {
      probe = await this.probe(srcNode.ns, target, match, opts.timeoutMs ?? 2000);
      // the kernel's record of the connection: which endpoint a DNAT chose
      if (proto === 'tcp') await sleep(20);
    } finally {
      events = await session.stop();
    }
    for (const [ns, evs] of events) {
      if (evs.some((e) => e.type === 'rule' && /\bdnat to\b/.test(e.text)))
        this.conntrack.set(ns, await this.readConntrack(ns, match));
    }
    this.countersAfter = await this.readCounters(switches.map((s) => s.name));
    for (const n of watched) this.passes.set(n.name, passesOf(events.get(n.ns) ?? [], table, srcIp));
    const watchedNames = new Set(watched.map((n) => n.name));

    await this.walk(src, { saddr: srcIp, daddr: target.ip, proto, sport, dport: target.port }, watchedNames);
    const { outcome, summary } = this.conclude(probe, target);
    return {
      sim: this.net.name,
      src,
      dst,
      target,
      proto,
      probe,
      hops: [...this.hops],
      outcome,
      summary,
      drop: this.drop,
      dnat: this.dnat,
      vxlan: this.vxlan.length ? [...this.vxlan] : undefined,
      ms: Math.round(performance.now() - t0),
    };
  }

  private async probe(
    ns: string,
    target: TraceResult['target'],
    m: ProbeMatch,
    timeoutMs: number,
  ): Promise<TraceResult['probe']> {
    const secs = Math.max(1, Math.round(timeoutMs / 1000));
    const t0 = performance.now();
    if (m.proto === 'tcp') {
      const args = [
        '-T1',
        '-',
        `TCP:${target.ip}:${target.port},sourceport=${m.sport},connect-timeout=${secs}`,
      ];
      const r = await inNs(ns, 'socat', args, timeoutMs + 5000);
      const ms = Math.round(performance.now() - t0);
      const err = r.stderr.trim().split('\n').pop() ?? '';
      const result =
        r.code === 0
          ? 'answered'
          : /refused/i.test(err)
            ? 'refused'
            : /no route|unreachable/i.test(err)
              ? 'unreachable'
              : 'timeout';
      const detail =
        result === 'answered'
          ? `connected${r.stdout.trim() ? `, answered "${r.stdout.trim().split('\n').pop()}"` : ''}`
          : err.replace(/^.*?E /, '') || `exit ${r.code}`;
      return { command: `socat ${args.join(' ')}`, result, detail, ms, from: `${m.saddr}:${m.sport}` };
    }
    const args = ['-n', '-c1', '-W', String(secs), '-e', String(m.icmpId), target.ip];
    const r = await inNs(ns, 'ping', args, timeoutMs + 5000);
    const ms = Math.round(performance.now() - t0);
    const text = `${r.stdout}\n${r.stderr}`;
    const result =
      r.code === 0
        ? 'answered'
        : /unreachable/i.test(text)
          ? 'unreachable'
          : /prohibited|filtered/i.test(text)
            ? 'refused'
            : 'timeout';
    const rtt = /time=([\d.]+) ms/.exec(text)?.[1];
    const line = text.split('\n').find((l) => /unreachable|prohibited|filtered/i.test(l));
    const detail =
      result === 'answered' ? `echo reply${rtt ? ` in ${rtt} ms` : ''}` : (line?.trim() ?? 'no reply');
    return {
      command: `ping ${args.join(' ')}`,
      result,
      detail,
      ms,
      from: `${m.saddr} (icmp id ${m.icmpId})`,
    };
  }

  private async readConntrack(ns: string, m: ProbeMatch): Promise<{ to: string; line: string }> {
    const args =
      m.proto === 'tcp'
        ? ['-L', '-p', 'tcp', '--orig-port-src', String(m.sport), '--orig-src', m.saddr]
        : ['-L', '-p', 'icmp', '--icmp-id', String(m.icmpId), '--orig-src', m.saddr];
    const r = await inNs(ns, 'conntrack', args);
    const line = r.stdout.split('\n').find((l) => l.includes(`src=${m.saddr}`)) ?? '';
    // the reply tuple's source is where the connection really goes
    const srcs = [...line.matchAll(/src=(\S+)/g)].map((x) => x[1]);
    const sports = [...line.matchAll(/sport=(\d+)/g)].map((x) => x[1]);
    const to = srcs[1] ? `${srcs[1]}${sports[1] ? `:${sports[1]}` : ''}` : '';
    return { to, line: line.trim() };
  }

  private async readCounters(
    switches: string[],
  ): Promise<Map<string, Map<string, { rx: number; tx: number }>>> {
    const out = new Map<string, Map<string, { rx: number; tx: number }>>();
    await Promise.all(
      switches.map(async (s) => {
        const ns = this.net.node(s)!.ns;
        const links = await jsonIn<{
          ifname: string;
          stats64?: { rx: { packets: number }; tx: { packets: number } };
        }>(ns, 'ip', ['-s', 'link', 'show']);
        const m = new Map<string, { rx: number; tx: number }>();
        for (const l of links)
          if (l.stats64) m.set(l.ifname, { rx: l.stats64.rx.packets, tx: l.stats64.tx.packets });
        out.set(s, m);
      }),
    );
    return out;
  }

  private hop(node: string, inIf?: string): Hop {
    const n = this.net.node(node)!;
    const h: Hop = { node, kind: n.kind, in: inIf, steps: [] };
    this.hops.push(h);
    return h;
  }

  /** Follows the probe from the source, asking each node's kernel where it goes next. */
  private async walk(src: string, pkt: Pkt, watched: Set<string>): Promise<void> {
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
          : (await jsonIn<LinkJson>(node.ns, 'ip', ['link', 'show', 'dev', at.iface]))[0]?.master;
        if (bridge) {
          const l2 = await this.bridgeDecision(node.name, node.ns, bridge, at.mac, at.iface, hop);
          if (l2.port) {
            hop.out = l2.port;
            // bridged inside a node with an IP stack (a worker's cni0): br_netfilter still runs
            // its forward rules (NetworkPolicy between pods of one worker)
            if (!this.net.isSwitch(node)) {
              const after = this.nftSteps(node.name, node.ns, at.layer, at.pkt, hop, watched.has(node.name));
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
      next = await this.l3(node.name, node.ns, l3If, at.layer, at.pkt, hop, watched.has(node.name), at.inner);
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
    const before = this.counters.get(node)?.get(inIf);
    const after = this.countersAfter.get(node)?.get(inIf);
    if (before && after) {
      const rx = after.rx - before.rx;
      hop.seen = rx > 0;
      hop.steps.push({
        kind: 'seen',
        text: `${inIf}: ${rx} packet${rx === 1 ? '' : 's'} received during the probe`,
        data: { iface: inIf, rx },
      });
    }
    if (!mac) {
      hop.steps.push({
        kind: 'bridge',
        text: `bridge ${bridge}: destination MAC unknown (no neighbour entry upstream)`,
      });
      return {};
    }
    const [br] = await jsonIn<LinkJson>(ns, 'ip', ['link', 'show', 'dev', bridge]);
    if (br?.address === mac) {
      hop.steps.push({
        kind: 'bridge',
        text: `bridge ${bridge}: ${mac} is the bridge's own address: up to ${node}'s IP stack`,
        data: { bridge, mac, local: true },
      });
      return { local: true };
    }
    const fdb = await jsonIn<FdbJson>(ns, 'bridge', ['fdb', 'show', 'br', bridge]);
    const e = fdb.find((f) => f.mac === mac && f.master === bridge);
    if (!e?.ifname) {
      hop.steps.push({
        kind: 'bridge',
        text: `bridge ${bridge}: no FDB entry for ${mac}: flooded to every port`,
        data: { bridge, mac },
      });
      return {};
    }
    if (e.state === 'permanent') {
      hop.steps.push({
        kind: 'bridge',
        text: `bridge ${bridge}: ${mac} is a local address (permanent FDB entry on ${e.ifname}): up to ${node}'s IP stack`,
        data: { bridge, mac, local: true },
      });
      return { local: true };
    }
    const port = this.net.peer(node, e.ifname);
    const after2 = this.countersAfter.get(node)?.get(e.ifname);
    const before2 = this.counters.get(node)?.get(e.ifname);
    const tx = after2 && before2 ? after2.tx - before2.tx : undefined;
    hop.steps.push({
      kind: 'bridge',
      text: `bridge ${bridge}: FDB ${mac} on port ${e.ifname}${port ? ` (to ${port.node}:${port.iface})` : ''}${tx !== undefined ? `, ${tx} sent there during the probe` : ''}`,
      data: { bridge, mac, port: e.ifname, to: port },
    });
    return { port: e.ifname };
  }

  /**
   * The nftables verdicts of the next pass of this layer through the node: steps for the rules
   * the probe met; the packet as it leaves them (after a DNAT), or undefined when one dropped it.
   */
  private nftSteps(
    node: string,
    ns: string,
    layer: 'inner' | 'outer',
    pkt: Pkt,
    hop: Hop,
    watched: boolean,
  ): Pkt | undefined {
    // nftables: the first pass of this layer not yet explained
    const queue = this.passes.get(node) ?? [];
    const i = queue.findIndex((p) => p.layer === layer);
    const pass = i >= 0 ? queue.splice(i, 1)[0] : undefined;
    if (watched) {
      if (pass) {
        hop.seen = true;
        const p = pass.packet;
        hop.steps.push({
          kind: 'seen',
          text: `nft trace: ${layer === 'outer' ? 'VXLAN packet' : 'probe'} ${p.saddr ?? '?'} -> ${p.daddr ?? '?'}${p.iif ? ` in ${p.iif}` : ''}${p.oif ? ` out ${p.oif}` : ''}`,
          data: { ...p },
        });
      } else if (hop.seen === undefined) {
        hop.seen = false;
        hop.steps.push({ kind: 'seen', text: 'nft trace: the probe never reached this node' });
      }
    }
    let out = { ...pkt };
    const events = pass ? pass.events : [];
    for (const e of interesting(events)) {
      const kind = kindOfTable(e.table);
      const where = `${e.table} ${e.chain}`;
      const dnat = /\bdnat to (\S+)/.exec(e.text);
      const verdict = e.verdict ?? '';
      const text =
        e.type === 'policy'
          ? `${where}: chain policy ${verdict}`
          : `${where}: ${e.text}${verdict && !/^(accept|continue)$/.test(verdict) && !e.text.endsWith(verdict) ? ` (${verdict})` : ''}`;
      hop.steps.push({ kind, text, data: { table: e.table, chain: e.chain, rule: e.text, verdict } });
      if (dnat) {
        const ct = this.conntrack.get(ns);
        const to = ct?.to || dnat[1];
        const [ip, port] = to.split(':');
        const from = `${pkt.daddr}${pkt.dport ? `:${pkt.dport}` : ''}`;
        hop.steps.push({
          kind: 'dnat',
          text: `DNAT ${from} -> ${to}${ct?.to ? ' (conntrack: the reply comes from there)' : ''}`,
          data: { from, to, conntrack: ct?.line },
        });
        this.dnat = { node, from, to, rule: e.text };
        out = { ...out, daddr: ip, dport: port ? Number(port) : out.dport };
      }
      if (/\bmasquerade\b/.test(e.text) && verdict === 'accept') {
        hop.steps.push({
          kind: 'snat',
          text: "masqueraded: the source becomes this node's address (later hops cannot mark the probe)",
        });
      }
      if (verdict === 'drop' || /\breject\b/.test(e.text)) {
        const why =
          e.table === 'netsim-policy'
            ? `dropped by NetworkPolicy: no policy selecting ${/^(?:ingress|egress)-(.+)$/.exec(e.chain)?.[1] ?? 'the pod'} allows it (${where})`
            : /\breject\b/.test(e.text)
              ? `refused by ${where}: ${e.text}`
              : `dropped by ${where}: ${e.text}`;
        hop.steps.push({ kind: 'drop', text: why, data: { table: e.table, chain: e.chain, rule: e.text } });
        this.drop = { node, reason: why, rule: `${where}: ${e.text}` };
        return undefined;
      }
    }
    return out;
  }

  /** The IP layer of one node: firewall/NAT verdicts, the route, and the next node. */
  private async l3(
    node: string,
    ns: string,
    iif: string | undefined,
    layer: 'inner' | 'outer',
    pkt: Pkt,
    hop: Hop,
    watched: boolean,
    inner?: Pkt,
  ): Promise<Next | undefined> {
    const out = this.nftSteps(node, ns, layer, pkt, hop, watched);
    if (!out) return undefined;
    // the route, as this node's kernel decides it
    const get = ['route', 'get', out.daddr, 'from', out.saddr];
    if (iif) get.push('iif', iif);
    const rg = await inNs(ns, 'ip', ['-j', ...get]);
    if (rg.code !== 0) {
      const msg = rg.stderr.trim().replace(/^RTNETLINK answers: /, '');
      const why = `no route to ${out.daddr}: ${msg}`;
      hop.steps.push({ kind: 'drop', text: why });
      this.drop = { node, reason: why };
      return undefined;
    }
    const r = (JSON.parse(rg.stdout) as RouteGet[])[0];
    const [fib] = await jsonIn<RouteGet>(ns, 'ip', ['route', 'get', 'fibmatch', out.daddr]);
    if (r.type === 'local') {
      if (layer === 'outer' && inner) {
        // VXLAN to this node: the device with this port decapsulates it
        const devs = await jsonIn<LinkJson>(ns, 'ip', ['-d', 'link', 'show', 'type', 'vxlan']);
        const dev = devs.find((d) => d.linkinfo?.info_data?.port === out.dport) ?? devs[0];
        const vni = dev?.linkinfo?.info_data?.id;
        hop.steps.push({
          kind: 'decap',
          text: `${out.daddr} is local: UDP ${out.dport} goes to ${dev?.ifname ?? 'the VXLAN device'} (VNI ${vni}), which decapsulates the inner packet ${inner.saddr} -> ${inner.daddr}`,
          data: { device: dev?.ifname, vni },
        });
        return { node, l3iif: dev?.ifname, layer: 'inner', pkt: inner };
      }
      hop.steps.push({
        kind: 'deliver',
        text: `${out.daddr} is local (${fib ? routeText(fib) : 'local route'}): delivered to ${node}${out.dport ? ` port ${out.dport}` : ''}`,
        data: { route: fib },
      });
      this.delivered = { node, ip: out.daddr };
      return undefined;
    }
    if (r.type && r.type !== 'unicast') {
      const why = `route type ${r.type} for ${out.daddr}${fib ? ` (${routeText(fib)})` : ''}`;
      hop.steps.push({ kind: 'drop', text: why });
      this.drop = { node, reason: why };
      return undefined;
    }
    const nh = r.gateway ?? out.daddr;
    const gwNode = r.gateway ? this.net.owner(r.gateway)?.node : undefined;
    hop.out = r.dev;
    hop.steps.push({
      kind: 'route',
      text: `route to ${out.daddr}: ${r.gateway ? `via ${r.gateway}${gwNode ? ` (${gwNode})` : ''} ` : ''}dev ${r.dev}; FIB entry ${fib ? routeText(fib) : '?'} — ${installedBy(fib?.protocol)}`,
      data: { get: r, fib },
    });
    const [dev] = await jsonIn<LinkJson>(ns, 'ip', ['-d', 'link', 'show', 'dev', r.dev!]);
    const [ne] = await jsonIn<{ dst: string; lladdr?: string; state?: string[] }>(ns, 'ip', [
      'neigh',
      'show',
      nh,
      'dev',
      r.dev!,
    ]);
    if (dev?.linkinfo?.info_kind === 'vxlan') {
      const d = dev.linkinfo.info_data ?? {};
      const fdb = await jsonIn<FdbJson>(ns, 'bridge', ['fdb', 'show', 'dev', r.dev!]);
      const fe = ne?.lladdr ? fdb.find((f) => f.mac === ne.lladdr && f.dst) : undefined;
      if (!ne?.lladdr || !fe?.dst) {
        const why = `VXLAN ${r.dev}: ${!ne?.lladdr ? `no neighbour entry for ${nh}` : `no FDB entry for ${ne.lladdr}`}: the agent has not programmed this remote subnet`;
        hop.steps.push({ kind: 'drop', text: why });
        this.drop = { node, reason: why };
        return undefined;
      }
      const port = d.port ?? 8472;
      hop.steps.push({
        kind: 'vxlan',
        text: `VXLAN ${r.dev} (VNI ${d.id}): neighbour ${nh} is ${ne.lladdr} (${(ne.state ?? []).join(',').toLowerCase()}), FDB ${ne.lladdr} dst ${fe.dst}: encapsulated as ${d.local} -> ${fe.dst} UDP ${port}`,
        data: { device: r.dev, vni: d.id, neighbour: ne, fdb: fe, outerSrc: d.local, outerDst: fe.dst, port },
      });
      this.vxlan.push({
        node,
        device: r.dev!,
        vni: d.id ?? 0,
        outerSrc: d.local ?? '',
        outerDst: fe.dst,
        port,
      });
      const outer: Pkt = { saddr: d.local ?? out.saddr, daddr: fe.dst, proto: 'udp', dport: port };
      return this.l3(node, ns, undefined, 'outer', outer, hop, watched, out);
    }
    if (ne?.lladdr)
      hop.steps.push({
        kind: 'neighbour',
        text: `neighbour ${nh} is ${ne.lladdr} (${(ne.state ?? []).join(',').toLowerCase()}) on ${r.dev}`,
        data: { ...ne },
      });
    else {
      hop.steps.push({ kind: 'neighbour', text: `neighbour ${nh}: no entry on ${r.dev} (no ARP answer)` });
    }
    if (dev?.linkinfo?.info_kind === 'bridge' || (await this.isBridge(ns, r.dev!))) {
      // out of a bridge this node holds (a worker's cni0): the bridge picks the port
      const l2 = await this.bridgeDecision(node, ns, r.dev!, ne?.lladdr, r.dev!, hop);
      if (!l2.port) return undefined;
      hop.out = l2.port;
      const peer = this.net.peer(node, l2.port);
      return peer
        ? { node: peer.node, iface: peer.iface, mac: ne?.lladdr, nh, layer, pkt: out, inner }
        : undefined;
    }
    const peer = this.net.peer(node, r.dev!);
    if (!peer) {
      hop.steps.push({ kind: 'note', text: `${r.dev} leads outside the simulation's records` });
      return undefined;
    }
    return { node: peer.node, iface: peer.iface, mac: ne?.lladdr, nh, layer, pkt: out, inner };
  }

  private async isBridge(ns: string, dev: string): Promise<boolean> {
    const [l] = await jsonIn<LinkJson>(ns, 'ip', ['-d', 'link', 'show', 'dev', dev]);
    return l?.linkinfo?.info_kind === 'bridge';
  }

  private conclude(
    probe: TraceResult['probe'],
    target: TraceResult['target'],
  ): { outcome: Outcome; summary: string } {
    const to = `${target.ip}${target.port ? `:${target.port}` : ''}`;
    const last = [...this.hops].reverse().find((h) => h.seen);
    if (probe.result === 'answered') {
      const where = this.delivered ? this.delivered.node : (last?.node ?? '?');
      return {
        outcome: 'delivered',
        summary: `delivered to ${where}${this.dnat ? ` (DNAT ${this.dnat.from} -> ${this.dnat.to})` : ''}: ${probe.detail}`,
      };
    }
    if (this.drop)
      return {
        outcome: probe.result === 'refused' ? 'refused' : 'dropped',
        summary: `${probe.result === 'refused' ? 'refused' : 'dropped'} at ${this.drop.node}: ${this.drop.reason}`,
      };
    if (probe.result === 'refused' && this.delivered)
      return {
        outcome: 'refused',
        summary: `refused by ${this.delivered.node}: it reached ${to}${target.port ? ', but nothing listens on that port' : ''} (${probe.detail})`,
      };
    return {
      outcome:
        probe.result === 'refused' ? 'refused' : probe.result === 'unreachable' ? 'dropped' : 'unknown',
      summary: `no answer (${probe.detail}); ${last ? `last seen at ${last.node}` : 'not seen anywhere'}`,
    };
  }
}

/** The trace as text, one block per hop. */
export function formatTrace(r: TraceResult): string {
  const lines: string[] = [];
  const to = `${r.target.ip}${r.target.port ? `:${r.target.port}` : ''}`;
  const what = r.target.service
    ? `service ${r.target.service} ${to}`
    : r.target.node && r.target.node !== r.dst
      ? `${to} (${r.target.node})`
      : to;
  lines.push(
    `trace ${r.src} -> ${r.dst}${r.dst === what ? '' : ` (${what})`}, ${r.proto === 'tcp' ? 'TCP' : 'ICMP echo'} from ${r.probe.from}`,
  );
  lines.push(`probe: ${r.probe.command}: ${r.probe.result}, ${r.probe.detail} (${r.probe.ms} ms)`);
  r.hops.forEach((h, i) => {
    const io = [h.in ? `in ${h.in}` : '', h.out ? `out ${h.out}` : ''].filter(Boolean).join(', ');
    lines.push(
      `${String(i + 1).padStart(2)}. ${h.node} (${h.kind})${io ? `  ${io}` : ''}${h.seen === false ? '  [not seen]' : ''}`,
    );
    for (const s of h.steps) lines.push(`      ${s.kind.padEnd(9)} ${s.text}`);
  });
  lines.push(`result: ${r.outcome}: ${r.summary}`);
  return `${lines.join('\n')}\n`;
}
