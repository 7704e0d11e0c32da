// The probe itself and what is recorded around it: a real TCP connection (socat, with a chosen
// source port) or ping (with a chosen identifier) from the source's namespace, traced by
// nftables in every watched namespace (nft.ts); the switches' port counters before and after;
// the conntrack entry wherever a DNAT happened.
import type { Kernel } from '../../kernel/kernel.js';
import { formatIp6, parseIp6 } from '../../util/ipv6.js';
import { sleep } from '../../util/wait.js';
import { type ConntrackEntry, conntrackArgs, dnatTarget, parseConntrack } from './explain/nat.js';
import { familyOf, hostPort } from './family.js';
import { inNs, jsonIn, type Out } from './net.js';
import { type ProbeMatch, type TraceEvent, TraceSession } from './nft.js';
import type { PortCounters, TraceResult } from './types.js';

type Probe = TraceResult['probe'];

/** socat writes IPv6 addresses in full ("[fd00:0002:0000:...]"): as iproute2 does (RFC 5952). */
function compress6(text: string): string {
  return text.replace(/\[([0-9a-fA-F:]+)\]/g, (all, ip: string) => {
    const n = parseIp6(ip);
    return n === undefined ? all : `[${formatIp6(n)}]`;
  });
}

/** socat's result: connected (and what the server said), refused, unreachable, or no answer. */
export function tcpProbeResult(r: Out, command: string, ms: number, m: ProbeMatch): Probe {
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
      : compress6(err.replace(/^.*?E /, '')) || `exit ${r.code}`;
  return { command, result, detail, ms, from: hostPort(m.saddr, m.sport) };
}

/** ping's result: an echo reply (with its time), an ICMP error, or nothing. */
export function pingProbeResult(r: Out, command: string, ms: number, m: ProbeMatch): Probe {
  const text = `${r.stdout}\n${r.stderr}`;
  const result =
    r.code === 0
      ? 'answered'
      : // ICMPv6's "Destination unreachable: Administratively prohibited" is a refusal
        /prohibited|filtered/i.test(text)
        ? 'refused'
        : /unreachable/i.test(text)
          ? 'unreachable'
          : 'timeout';
  const rtt = /time=([\d.]+) ms/.exec(text)?.[1];
  const line = text.split('\n').find((l) => /unreachable|prohibited|filtered/i.test(l));
  const detail =
    result === 'answered' ? `echo reply${rtt ? ` in ${rtt} ms` : ''}` : (line?.trim() ?? 'no reply');
  return { command, result, detail, ms, from: `${m.saddr} (icmp id ${m.icmpId})` };
}

/**
 * The probe's command line. An IPv6 one is bound to the traced source address (`ping -6 -I`,
 * socat's `bind=`): with several addresses the kernel's source address selection could pick
 * another, which the trace tables would not mark.
 */
export function probeCommand(
  target: TraceResult['target'],
  m: ProbeMatch,
  secs: number,
): { cmd: 'socat' | 'ping'; args: string[] } {
  const v6 = familyOf(m.saddr) === 6;
  if (m.proto === 'tcp') {
    const opts = [`sourceport=${m.sport}`, ...(v6 ? [`bind=[${m.saddr}]`] : []), `connect-timeout=${secs}`];
    return {
      cmd: 'socat',
      args: ['-T1', '-', `${v6 ? 'TCP6' : 'TCP'}:${hostPort(target.ip, target.port)},${opts.join(',')}`],
    };
  }
  const family = v6 ? ['-6', '-I', m.saddr] : [];
  return {
    cmd: 'ping',
    args: [...family, '-n', '-c1', '-W', String(secs), '-e', String(m.icmpId), target.ip],
  };
}

/** Sends the probe from `ns` and waits for its answer (or `timeoutMs`). */
export async function sendProbe(
  kernel: Kernel,
  ns: string,
  target: TraceResult['target'],
  m: ProbeMatch,
  timeoutMs: number,
): Promise<Probe> {
  const secs = Math.max(1, Math.round(timeoutMs / 1000));
  const t0 = performance.now();
  const { cmd, args } = probeCommand(target, m, secs);
  const r = await inNs(ns, cmd, args, timeoutMs + 5000, kernel);
  const ms = Math.round(performance.now() - t0);
  const command = `${cmd} ${args.join(' ')}`;
  return m.proto === 'tcp' ? tcpProbeResult(r, command, ms, m) : pingProbeResult(r, command, ms, m);
}

/** `ip -j -s link show`: rx/tx packets of every interface. */
export function parseCounters(
  links: { ifname: string; stats64?: { rx: { packets: number }; tx: { packets: number } } }[],
): PortCounters {
  const m: PortCounters = new Map();
  for (const l of links)
    if (l.stats64) m.set(l.ifname, { rx: l.stats64.rx.packets, tx: l.stats64.tx.packets });
  return m;
}

async function readCounters(kernel: Kernel, switches: { name: string; ns: string }[]) {
  const out = new Map<string, PortCounters>();
  await Promise.all(
    switches.map(async (s) => {
      out.set(s.name, parseCounters(await jsonIn(s.ns, 'ip', ['-s', 'link', 'show'], kernel)));
    }),
  );
  return out;
}

/** Everything recorded while the probe ran. */
export interface Recording {
  probe: Probe;
  /** nft trace events by namespace */
  events: Map<string, TraceEvent[]>;
  /** switch port counters by switch, before and after */
  counters: Map<string, PortCounters>;
  countersAfter: Map<string, PortCounters>;
  /** the probe's conntrack entry, by namespace, where a rule DNATed it */
  conntrack: Map<string, ConntrackEntry>;
}

/** Runs the probe traced in `watched`, with the switches' counters read around it. */
export async function recordProbe(
  kernel: Kernel,
  p: {
    srcNs: string;
    target: TraceResult['target'];
    match: ProbeMatch;
    table: string;
    timeoutMs: number;
    watched: string[];
    switches: { name: string; ns: string }[];
  },
): Promise<Recording> {
  const counters = await readCounters(kernel, p.switches);
  const session = await TraceSession.start(kernel, p.watched, p.match, p.table);
  let probe: Probe;
  let events: Map<string, TraceEvent[]>;
  try {
    probe = await sendProbe(kernel, p.srcNs, p.target, p.match, p.timeoutMs);
    // the kernel's record of the connection: which endpoint a DNAT chose
    if (p.match.proto === 'tcp') await sleep(20);
  } finally {
    events = await session.stop();
  }
  const conntrack = new Map<string, ConntrackEntry>();
  for (const [ns, evs] of events) {
    if (evs.some((e) => e.type === 'rule' && dnatTarget(e.text) !== undefined)) {
      const r = await inNs(ns, 'conntrack', conntrackArgs(p.match), 10000, kernel);
      conntrack.set(ns, parseConntrack(r.stdout, p.match.saddr));
    }
  }
  const countersAfter = await readCounters(kernel, p.switches);
  return { probe, events, counters, countersAfter, conntrack };
}
