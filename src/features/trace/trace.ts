// `trace <src> <dst> [port]`: a real probe (a TCP connection with a chosen source port, or a
// ping with a chosen identifier) from the source's namespace, traced by nftables in every
// namespace, then explained hop by hop from the kernel's own answers: each node's route
// (`ip route get`, and `fibmatch` for the FIB entry and the protocol that installed it), the
// neighbour and bridge FDB entries that picked the next node, kube-proxy's rules and the
// endpoint conntrack recorded for the DNAT, flannel's VXLAN neighbour/FDB entries and the
// outer header, NetworkPolicy verdicts, and where and why the probe was dropped.
//
// This file puts the pieces together: resolve.ts (what was named), probe.ts (the probe and
// what is recorded around it), walk.ts with explain/ (the path, layer by layer), format.ts.
import { join } from 'node:path';
import { Kernel } from '../../kernel/kernel.js';
import { Ledger } from '../../kernel/ledger.js';
import { simDir } from '../../runtime/paths.js';
import type { SimState } from '../../runtime/state.js';
import { conclude } from './explain/outcome.js';
import { passesOf } from './explain/rules.js';
import { TraceNet } from './net.js';
import { recordProbe, sendProbe } from './probe.js';
import { prepare } from './resolve.js';
import type { Pass, TraceOptions, TraceResult } from './types.js';
import { PathWalker } from './walk.js';

export { formatTrace, formatTraceJson } from './format.js';
export * from './types.js';

/** Trace tables beyond this many namespaces leave out the pods the probe does not start or end at. */
const MAX_WATCHED = 64;

/**
 * The kernel layer of a running simulation seen from another process (`netsim trace` in
 * another shell): its trace tables and monitors go into that simulation's ledger, so its
 * teardown removes whatever a tracer killed mid-probe left.
 */
function simKernel(sim: string): Kernel {
  return new Kernel(new Ledger(join(simDir(sim), 'ledger.jsonl')));
}

export class Tracer {
  constructor(
    readonly net: TraceNet,
    readonly kernel: Kernel = simKernel(net.name),
  ) {}

  static fromState(state: SimState, kernel?: Kernel): Tracer {
    return new Tracer(new TraceNet(state), kernel);
  }

  /** The probe alone, untraced (what `verify` repeats until a reachable expectation holds). */
  async probeOnly(
    src: string,
    dst: string,
    opts: TraceOptions = {},
  ): Promise<{ target: TraceResult['target']; probe: TraceResult['probe'] }> {
    const p = await prepare(this.net, this.kernel, src, dst, opts);
    return {
      target: p.target,
      probe: await sendProbe(this.kernel, p.srcNode.ns, p.target, p.match, opts.timeoutMs ?? 2000),
    };
  }

  async trace(src: string, dst: string, opts: TraceOptions = {}): Promise<TraceResult> {
    const t0 = performance.now();
    const { srcNode, srcIp, family, target, proto, match } = await prepare(
      this.net,
      this.kernel,
      src,
      dst,
      opts,
    );
    const table = `netsim-trace-${proto === 'tcp' ? match.sport : match.icmpId}`;

    // every namespace that may see the probe gets a trace table (switches run no nftables)
    const nodes = [...this.net.nodes.values()];
    let watched = nodes.filter((n) => !this.net.isSwitch(n));
    if (watched.length > MAX_WATCHED)
      watched = watched.filter((n) => n.kind !== 'pod' || n.name === src || n.name === target.node);
    const rec = await recordProbe(this.kernel, {
      srcNs: srcNode.ns,
      target,
      match,
      table,
      timeoutMs: opts.timeoutMs ?? 2000,
      watched: watched.map((n) => n.ns),
      switches: nodes.filter((n) => this.net.isSwitch(n)).map((n) => ({ name: n.name, ns: n.ns })),
    });
    const passes = new Map<string, Pass[]>();
    for (const n of watched) passes.set(n.name, passesOf(rec.events.get(n.ns) ?? [], table, srcIp));

    const walker = new PathWalker(this.net, this.kernel, {
      passes,
      counters: rec.counters,
      countersAfter: rec.countersAfter,
      conntrack: rec.conntrack,
      watched: new Set(watched.map((n) => n.name)),
    });
    await walker.walk(src, { saddr: srcIp, daddr: target.ip, proto, sport: match.sport, dport: target.port });
    const { outcome, summary } = conclude(rec.probe, target, walker);
    return {
      sim: this.net.name,
      src,
      dst,
      family,
      target,
      proto,
      probe: rec.probe,
      hops: [...walker.hops],
      outcome,
      summary,
      drop: walker.drop,
      dnat: walker.dnat,
      vxlan: walker.vxlan.length ? [...walker.vxlan] : undefined,
      ms: Math.round(performance.now() - t0),
    };
  }
}
