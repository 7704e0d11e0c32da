// The address family of a trace: which one a probe uses (`-4`/`-6`, or the family of an address
// given as the destination), and the few places where the two differ in what the tracer runs or
// prints — `ip -6`, ICMPv6, `[addr]:port`, NDP instead of ARP. Addresses here are as the kernel
// and nft print them (RFC 5952 for IPv6), so a colon is enough to tell the families apart.
import type { NftFamily } from '../../kernel/ledger.js';

export { hostPort, splitHostPort } from '../../util/hostport.js';

export type Family = 4 | 6;

/** The family of an address as iproute2/nft/conntrack print it. */
export function familyOf(ip: string): Family {
  return ip.includes(':') ? 6 : 4;
}

/** `ip`'s family flag for a lookup of this address. */
export function ipFlag(ip: string): '-4' | '-6' {
  return familyOf(ip) === 6 ? '-6' : '-4';
}

/** fe80::/10: a next hop FRR (OSPFv3, BGP) and router advertisements use, never in netsim's records. */
export function isLinkLocal6(ip: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(ip);
}

/** The nftables family of the tables that mark a probe: `inet` for IPv6 (it also sees an IPv4
 * VXLAN underlay carrying it), `ip` for IPv4 as before. */
export function traceTableFamily(family: Family): NftFamily {
  return family === 6 ? 'inet' : 'ip';
}

/** How neighbours are resolved in this family (for "no ... answer"). */
export function neighbourProtocol(ip: string): 'ARP' | 'NDP' {
  return familyOf(ip) === 6 ? 'NDP' : 'ARP';
}

/** The probe's name in text: "ICMP echo" or "ICMPv6 echo", "TCP". */
export function probeName(proto: 'tcp' | 'icmp', family: Family): string {
  if (proto === 'tcp') return 'TCP';
  return family === 6 ? 'ICMPv6 echo' : 'ICMP echo';
}
