// nftables tracing of one probe. In every namespace involved, a temporary table marks the
// probe's first packet (`meta nftrace set 1`, at the very start of prerouting and output),
// and `nft monitor trace` reports every rule of every table the packet then meets: the
// kube-proxy rules that chose an endpoint, NetworkPolicy verdicts, anyone's firewall. The
// mark does not survive a change of namespace (the kernel clears it on a veth), hence a
// table in each. VXLAN packets carrying the probe are marked by the inner header's fields.
// An IPv6 probe is marked by an `inet` table (ICMPv6 echo or TCP SYN from its address; inside
// VXLAN over either underlay family), and the monitor reports rules of `ip6` and `inet` tables
// as it does those of `ip` ones.
import type { Kernel } from '../../kernel/kernel.js';
import type { NftFamily } from '../../kernel/ledger.js';
import { type MonitorProcess, stopMonitors } from '../../kernel/monitor.js';
import { addNftTables, deleteNftTables, type NftTableRef } from '../../kernel/nft-tables.js';
import { parseIp6 } from '../../util/ipv6.js';
import { sleep, WaitTimeout, waitFor } from '../../util/wait.js';
import { type Family, familyOf, traceTableFamily } from './family.js';

export interface ProbeMatch {
  proto: 'tcp' | 'icmp';
  saddr: string;
  /** TCP source port */
  sport?: number;
  /** ICMP echo identifier */
  icmpId?: number;
}

export interface PacketInfo {
  iif?: string;
  oif?: string;
  saddr?: string;
  daddr?: string;
  proto?: string;
  sport?: number;
  dport?: number;
}

export interface TraceEvent {
  /** the table's family (undefined: ip) */
  family?: NftFamily;
  table: string;
  chain: string;
  type: 'packet' | 'rule' | 'policy' | 'verdict';
  /** the rule as nft prints it, or the policy/verdict */
  text: string;
  verdict?: string;
  packet?: PacketInfo;
}

/** A table as the trace names it: "kube-proxy" (ip), "ip6 kube-proxy", "inet filter". */
export function tableName(e: Pick<TraceEvent, 'family' | 'table'>): string {
  return e.family && e.family !== 'ip' ? `${e.family} ${e.table}` : e.table;
}

const hex32 = (ip: string) =>
  `0x${ip
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join('')}`;

/** An IPv6 address as 128 bits of hex, for a raw payload match. */
export function hex128(ip: string): string {
  const n = parseIp6(ip);
  if (n === undefined) throw new Error(`not an IPv6 address: ${ip}`);
  return `0x${n.toString(16).padStart(32, '0')}`;
}

// inside VXLAN: UDP header 8 + VXLAN 8 + Ethernet 14 bytes, then the inner IPv4 header (20)
const INNER_IP = 30 * 8;
const INNER_L4 = 50 * 8;
// ... or the inner IPv6 header (40: next header at byte 6, source at byte 8)
const INNER_L4_6 = 70 * 8;

/** The family of the probe's addresses. */
export function matchFamily(m: ProbeMatch): Family {
  return familyOf(m.saddr);
}

/** The rules that mark an IPv6 probe: as sent, and inside a VXLAN packet (flannel-v6). */
function markRules6(m: ProbeMatch): string[] {
  const inner = `meta l4proto udp @th,${INNER_IP + 64},128 ${hex128(m.saddr)}`;
  if (m.proto === 'tcp')
    return [
      `ip6 saddr ${m.saddr} tcp sport ${m.sport} tcp flags & (fin|syn|rst|ack) == syn`,
      `${inner} @th,${INNER_IP + 48},8 6 @th,${INNER_L4_6},16 ${m.sport}`,
    ];
  return [
    `ip6 saddr ${m.saddr} icmpv6 type echo-request icmpv6 id ${m.icmpId}`,
    `${inner} @th,${INNER_IP + 48},8 58 @th,${INNER_L4_6},8 128 @th,${INNER_L4_6 + 32},16 ${m.icmpId}`,
  ];
}

/** The rules that mark the probe: as sent (saddr + port/id) and inside a VXLAN packet. */
export function markRules(m: ProbeMatch): string[] {
  if (matchFamily(m) === 6) return markRules6(m);
  if (m.proto === 'tcp')
    return [
      `ip saddr ${m.saddr} tcp sport ${m.sport} tcp flags & (fin|syn|rst|ack) == syn`,
      `meta l4proto udp @th,${INNER_IP + 96},32 ${hex32(m.saddr)} @th,${INNER_IP + 72},8 6 @th,${INNER_L4},16 ${m.sport}`,
    ];
  return [
    `ip saddr ${m.saddr} icmp type echo-request icmp id ${m.icmpId}`,
    `meta l4proto udp @th,${INNER_IP + 96},32 ${hex32(m.saddr)} @th,${INNER_IP + 72},8 1 @th,${INNER_L4 + 32},16 ${m.icmpId}`,
  ];
}

export function traceTableText(table: string, m: ProbeMatch): string {
  const rules = markRules(m)
    .map((r) => `${r} meta nftrace set 1;`)
    .join(' ');
  return [
    `table ${traceTableFamily(matchFamily(m))} ${table} {`,
    `  chain pre { type filter hook prerouting priority -400; policy accept; ${rules} }`,
    `  chain out { type filter hook output priority -400; policy accept; ${rules} }`,
    '}',
    '',
  ].join('\n');
}

const EVENT_RE =
  /^trace id \S+ (ip|ip6|inet|bridge|arp|netdev) (\S+) (\S+) (packet: |rule |policy |verdict )(.*?)\s*$/;

export function parsePacket(text: string): PacketInfo {
  const p: PacketInfo = {};
  const get = (re: RegExp) => re.exec(text)?.[1];
  p.iif = get(/\biif "([^"]+)"/);
  p.oif = get(/\boif "([^"]+)"/);
  p.saddr = get(/\bip6? saddr (\S+)/);
  p.daddr = get(/\bip6? daddr (\S+)/);
  const l4 = /\b(tcp|udp) sport (\d+) \1 dport (\d+)/.exec(text);
  if (l4) {
    p.proto = l4[1];
    p.sport = Number(l4[2]);
    p.dport = Number(l4[3]);
  } else if (/\bicmp(v6)? type /.test(text)) p.proto = 'icmp';
  return p;
}

/** The events of `nft monitor trace` output, in order. */
export function parseTrace(output: string): TraceEvent[] {
  const out: TraceEvent[] = [];
  for (const line of output.split('\n')) {
    const m = EVENT_RE.exec(line);
    if (!m) continue;
    const [, fam, table, chain, kind, rest] = m;
    // ip tables' events as before; the others say their family
    const at = fam === 'ip' ? { table, chain } : { family: fam as NftFamily, table, chain };
    if (kind === 'packet: ') out.push({ ...at, type: 'packet', text: rest, packet: parsePacket(rest) });
    else if (kind === 'rule ') {
      const v = /^(.*) \(verdict (.+)\)$/.exec(rest);
      out.push({ ...at, type: 'rule', text: v ? v[1] : rest, verdict: v?.[2] });
    } else if (kind === 'policy ') out.push({ ...at, type: 'policy', text: rest, verdict: rest });
    else out.push({ ...at, type: 'verdict', text: rest, verdict: rest });
  }
  return out;
}

/** Tracing of one probe across namespaces: start() before the probe, stop() after it. */
export class TraceSession {
  private monitors: MonitorProcess[] = [];
  private tabled: string[] = [];

  private constructor(
    private readonly kernel: Kernel,
    readonly table: string,
    readonly match: ProbeMatch,
  ) {}

  private get ref(): NftTableRef {
    return { family: traceTableFamily(matchFamily(this.match)), name: this.table };
  }

  static async start(
    kernel: Kernel,
    namespaces: string[],
    match: ProbeMatch,
    table: string,
  ): Promise<TraceSession> {
    const s = new TraceSession(kernel, table, match);
    try {
      // removed from all of them by stop(), also where the add failed (nothing happens there)
      s.tabled = namespaces;
      await addNftTables(kernel.ledger, namespaces, s.ref, traceTableText(table, match));
      // `timeout` ends the monitor even if this process dies before stop()
      for (const ns of namespaces)
        s.monitors.push(kernel.monitor(ns, ['timeout', '60', 'nft', 'monitor', 'trace']));
      const deadline = Date.now() + 10000;
      for (const m of s.monitors)
        await waitFor(() => m.subscribed(), {
          timeoutMs: Math.max(0, deadline - Date.now()),
          intervalMs: 10,
        }).catch((err) => {
          throw err instanceof WaitTimeout ? new Error(`nft monitor trace did not start in ${m.ns}`) : err;
        });
      return s;
    } catch (err) {
      await s.stop();
      throw err;
    }
  }

  /** Ends the monitors and removes the tables; the events seen in each namespace. */
  async stop(): Promise<Map<string, TraceEvent[]>> {
    // the last events are on their way through netlink
    await sleep(150);
    await stopMonitors(this.monitors);
    const out = new Map<string, TraceEvent[]>();
    for (const m of this.monitors) out.set(m.ns, parseTrace(m.output));
    const tabled = this.tabled;
    this.tabled = [];
    if (tabled.length) await deleteNftTables(this.kernel.ledger, tabled, this.ref);
    this.monitors = [];
    return out;
  }
}
