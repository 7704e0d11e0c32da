// The IPv6 interface addresses an frr.conf gives (`interface eth1` / ` ipv6 address
// fd00:12::1/64`), so an imported lab's model knows them as zebra will set them; the IPv4
// twin is src/features/frr/interfaces.ts. Link-local addresses (fe80::/10) are left out:
// every interface has one of its own and the model holds global ones.
import { parseCidr6 } from '../../util/ipv6.js';

export interface ConfAddress6 {
  iface: string;
  cidr: string;
  /** 1-based line in the file */
  line: number;
}

const LINK_LOCAL = 0xfe80n << 112n;
const LINK_LOCAL_MASK = 0xffc0n << 112n;

export const isLinkLocal6 = (ip: bigint) => (ip & LINK_LOCAL_MASK) === LINK_LOCAL;

/** The first global IPv6 address of each interface, in file order (later ones are secondaries). */
export function interfaceAddresses6(conf: string): ConfAddress6[] {
  const out: ConfAddress6[] = [];
  const seen = new Set<string>();
  let current: string | undefined;
  conf.split('\n').forEach((raw, i) => {
    const line = raw.replace(/[!#].*$/, '').trimEnd();
    if (!line.trim()) {
      if (/^!/.test(raw)) current = undefined;
      return;
    }
    if (!/^\s/.test(line)) {
      const m = /^interface\s+(\S+)(\s+vrf\s+\S+)?$/.exec(line);
      current = m && !m[2] ? m[1] : undefined;
      return;
    }
    if (line.trim() === 'exit') {
      current = undefined;
      return;
    }
    const a = /^\s+ipv6 address\s+(\S+)\s*$/.exec(line);
    const c = a ? parseCidr6(a[1]) : undefined;
    if (current && a && c && !isLinkLocal6(c.ip) && !seen.has(current)) {
      seen.add(current);
      out.push({ iface: current, cidr: a[1], line: i + 1 });
    }
  });
  return out;
}
