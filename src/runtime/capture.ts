// Packet capture inside a node's namespace (`netsim capture`, the REPL's `capture`): which
// program captures and with which arguments. One interface: tcpdump. Several interfaces of one
// node: dumpcap (Debian's tshark), which writes them all into one pcapng. Several nodes: one
// program per node, merged (capture-many.ts). `--decode`: tshark,
// with UDP 8472 (Linux's and flannel's VXLAN port) decoded as VXLAN so the inner pod packet shows.
import { Kernel } from '../kernel/kernel.js';

export interface CaptureTarget {
  node: string;
  ifaces: string[];
}

export interface CaptureOptions {
  /** a pcap file, or '-' for standard output; none: decoded text lines */
  write?: string;
  count?: number;
  decode?: boolean;
}

/** `NODE`, `NODE:IFACE` or `NODE:IF1,IF2` (no interface: the node's first, `eth0` or `eth1`). */
export function parseTarget(spec: string): CaptureTarget {
  const i = spec.lastIndexOf(':');
  if (i < 0) return { node: spec, ifaces: [] };
  const ifaces = spec
    .slice(i + 1)
    .split(',')
    .filter(Boolean);
  if (!spec.slice(0, i) || !ifaces.length) throw new Error(`capture: "${spec}" is not NODE[:IFACE[,IFACE]]`);
  return { node: spec.slice(0, i), ifaces };
}

/**
 * Splits the words after the first target: further `NODE[:IFACE]` words (one colon: pcap-filter
 * words never have exactly one, IPv6 and MAC addresses have several) are more targets, and must
 * name a known node; the rest is the capture filter (pcap-filter syntax).
 */
export function splitTargets(
  first: string,
  rest: string[],
  isNode: (name: string) => boolean,
): { targets: CaptureTarget[]; filter: string[] } {
  const targets = [parseTarget(first)];
  const filter: string[] = [];
  rest.forEach((w, i) => {
    const target = /^[^:\s()[\]]+:[^:\s()[\]]+$/.test(w) ? parseTarget(w) : undefined;
    if (target && !isNode(target.node))
      throw new Error(`capture: no node "${target.node}" (argument ${i + 2}, "${w}")`);
    if (target) targets.push(target);
    else if (!filter.length && isNode(w)) targets.push(parseTarget(w));
    else filter.push(w);
  });
  return { targets, filter };
}

/** The targets grouped by node, in order: one capturing program per node, its interfaces joined. */
export function groupTargets(targets: CaptureTarget[]): CaptureTarget[] {
  const byNode = new Map<string, string[]>();
  for (const t of targets) byNode.set(t.node, [...(byNode.get(t.node) ?? []), ...t.ifaces]);
  return [...byNode].map(([node, ifaces]) => ({ node, ifaces: [...new Set(ifaces)] }));
}

/** The argv of the capture (run inside the node's namespace). */
export function captureArgv(ifaces: string[], filter: string[], o: CaptureOptions): string[] {
  const count = o.count !== undefined ? ['-c', String(o.count)] : [];
  const ifs = ifaces.flatMap((i) => ['-i', i]);
  // dumpcap/tshark: a -f before the first -i is every interface's filter (after one: only its)
  const f = filter.length ? ['-f', filter.join(' ')] : [];
  if (o.decode) {
    if (o.write) throw new Error('capture: --decode prints the packets; it does not combine with -w');
    return ['tshark', '-l', '-n', ...f, ...ifs, '-d', 'udp.port==8472,vxlan', ...count];
  }
  if (ifaces.length > 1)
    return o.write
      ? ['dumpcap', '-q', ...f, ...ifs, '-w', o.write, ...count]
      : ['tshark', '-l', '-n', ...f, ...ifs, ...count];
  // -Z root: Debian's tcpdump would drop to its own user before writing the file; -U: each
  // packet written at once (a pipe to tshark/wireshark sees it live)
  const w = o.write ? ['-U', '-Z', 'root', '-w', o.write] : ['-l'];
  return ['tcpdump', '-n', ...w, ...ifs, ...count, ...filter];
}

/** The interfaces of a namespace (loopback excluded), as `ip -o link` names them. */
export async function interfacesOf(ns: string): Promise<string[]> {
  const res = await Kernel.tool(ns, 'ip', ['-j', 'link', 'show']);
  const links = JSON.parse(res.stdout || '[]') as { ifname: string }[];
  return links.map((l) => l.ifname).filter((n) => n !== 'lo');
}

/** The interfaces to capture on, checked to exist in the node's namespace. */
export async function resolveIfaces(node: string, ns: string, wanted: string[]): Promise<string[]> {
  const present = await interfacesOf(ns);
  if (!wanted.length) {
    const first = present.find((n) => /^eth\d+$/.test(n)) ?? present[0];
    if (!first) throw new Error(`capture: ${node} has no interface`);
    return [first];
  }
  for (const w of wanted)
    if (w !== 'any' && !present.includes(w))
      throw new Error(`capture: ${node} has no interface "${w}" (interfaces: ${present.join(', ')})`);
  return wanted;
}

export function parseCount(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  if (!/^\d+$/.test(s) || Number(s) < 1) throw new Error(`capture: -c wants a packet count, not "${s}"`);
  return Number(s);
}
