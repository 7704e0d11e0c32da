// The IPv6 interface addresses an frr.conf gives (`interface eth1` / ` ipv6 address
// fd00:12::1/64`), so an imported lab's model knows them as zebra will set them; the IPv4
// twin is src/features/frr/interfaces.ts. Link-local addresses (fe80::/10) are left out:
// every interface has one of its own and the model holds global ones.
import { parseCidr6 } from '../../util/ipv6.js';
import { type ConfAddress, firstAddressPerInterface } from '../frr/interfaces.js';

export type ConfAddress6 = ConfAddress;

const LINK_LOCAL = 0xfe80n << 112n;
const LINK_LOCAL_MASK = 0xffc0n << 112n;

export const isLinkLocal6 = (ip: bigint) => (ip & LINK_LOCAL_MASK) === LINK_LOCAL;

/** The first global IPv6 address of each interface, in file order (later ones are secondaries). */
export function interfaceAddresses6(conf: string): ConfAddress6[] {
  return firstAddressPerInterface(conf, (line) => {
    const a = /^\s+ipv6 address\s+(\S+)\s*$/.exec(line);
    const c = a ? parseCidr6(a[1]) : undefined;
    return c && !isLinkLocal6(c.ip) ? a![1] : undefined;
  });
}
