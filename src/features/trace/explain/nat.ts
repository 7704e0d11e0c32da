// The NAT layer: kube-proxy's nftables (the service-ips map that names each service, the
// endpoint chain's DNAT), the conntrack entry that records which endpoint the DNAT chose,
// and masquerading.
import { isProxyTable, TABLE } from '../../k8s/agent/proxy-tables.js';
import { familyOf, hostPort, splitHostPort } from '../family.js';
import type { ProbeMatch, TraceEvent } from '../nft.js';
import type { Pkt, Step } from '../types.js';

export const KUBE_PROXY_TABLE = TABLE;
/** kube-proxy's table, or one of its shard tables (above a number of services) */
export const isKubeProxyTable = isProxyTable;

export interface ServiceEntry {
  ip: string;
  proto: string;
  port: number;
  /** "namespace/name" */
  name: string;
}

/**
 * Services kube-proxy programs, from `nft -j list map ip kube-proxy service-ips` (or `ip6` for
 * IPv6 ClusterIPs: kube-proxy keeps one table per family, of the same structure; above a number
 * of services, the map of the service's shard table, `kube-proxy-shard-<i>`): each element
 * maps `vip . proto . port` to the service's chain, whose name carries "namespace/name".
 */
export function parseServiceIps(stdout: string): ServiceEntry[] {
  const out: ServiceEntry[] = [];
  try {
    const j = JSON.parse(stdout) as { nftables: { map?: { elem?: unknown[] } }[] };
    for (const o of j.nftables)
      for (const el of o.map?.elem ?? []) {
        const [k, v] = el as [{ concat: [string, string, number] }, { goto?: { target: string } }];
        const m = /^service-[A-Z2-7]{8}-([^/]+\/[^/]+)\//.exec(v.goto?.target ?? '');
        if (k?.concat && m) out.push({ ip: k.concat[0], proto: k.concat[1], port: k.concat[2], name: m[1] });
      }
  } catch {
    return [];
  }
  return out;
}

/** `conntrack` arguments that list the probe's connection (IPv4 unless told otherwise). */
export function conntrackArgs(m: ProbeMatch): string[] {
  if (familyOf(m.saddr) === 6)
    return m.proto === 'tcp'
      ? ['-L', '-f', 'ipv6', '-p', 'tcp', '--orig-port-src', String(m.sport), '--orig-src', m.saddr]
      : ['-L', '-f', 'ipv6', '-p', 'icmpv6', '--icmpv6-id', String(m.icmpId), '--orig-src', m.saddr];
  return m.proto === 'tcp'
    ? ['-L', '-p', 'tcp', '--orig-port-src', String(m.sport), '--orig-src', m.saddr]
    : ['-L', '-p', 'icmp', '--icmp-id', String(m.icmpId), '--orig-src', m.saddr];
}

export interface ConntrackEntry {
  /** where the connection really goes ("ip:port", "[ip6]:port"), '' when no entry was found */
  to: string;
  line: string;
}

/** The probe's conntrack entry: its reply tuple's source is the endpoint the DNAT chose. */
export function parseConntrack(stdout: string, saddr: string): ConntrackEntry {
  const line = stdout.split('\n').find((l) => l.includes(`src=${saddr} `)) ?? '';
  const srcs = [...line.matchAll(/\bsrc=(\S+)/g)].map((x) => x[1]);
  const sports = [...line.matchAll(/\bsport=(\d+)/g)].map((x) => x[1]);
  const to = srcs[1] ? hostPort(srcs[1], sports[1]) : '';
  return { to, line: line.trim() };
}

/**
 * The address a rule DNATs to, if it is a DNAT rule: "10.244.1.2:8000", "[fd00::2]:8000" (an
 * `ip6` table writes `dnat to`, an `inet` one `dnat ip6 to`).
 */
export function dnatTarget(rule: string): string | undefined {
  return /\bdnat (?:ip6? )?to (\S+)/.exec(rule)?.[1];
}

/**
 * A DNAT the probe went through: the step, and the packet as it leaves (new destination).
 * The conntrack entry, when there is one, says where the connection went.
 */
export function explainDnat(
  pkt: Pkt,
  rule: string,
  conntrack: ConntrackEntry | undefined,
): { step: Step; from: string; to: string; pkt: Pkt } | undefined {
  const target = dnatTarget(rule);
  if (!target) return undefined;
  const to = conntrack?.to || target;
  const { ip, port } = splitHostPort(to);
  const from = hostPort(pkt.daddr, pkt.dport);
  return {
    from,
    to,
    step: {
      kind: 'dnat',
      text: `DNAT ${from} -> ${to}${conntrack?.to ? ' (conntrack: the reply comes from there)' : ''}`,
      data: { from, to, conntrack: conntrack?.line },
    },
    pkt: { ...pkt, daddr: ip, dport: port ?? pkt.dport },
  };
}

/** A masquerade rule that applied. */
export function masqueradeStep(e: TraceEvent): Step | undefined {
  if (!/\bmasquerade\b/.test(e.text) || e.verdict !== 'accept') return undefined;
  return {
    kind: 'snat',
    text: "masqueraded: the source becomes this node's address (later hops cannot mark the probe)",
  };
}

/** kube-proxy's own masquerade check that returns: not worth showing. */
export function isMasqueradeCheck(e: TraceEvent): boolean {
  return e.type === 'rule' && e.verdict === 'return' && /^meta mark & 0x0*4000 == 0x0+ return$/.test(e.text);
}
