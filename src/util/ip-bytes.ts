// An IP address as netlink messages carry it (rtnetlink's and nf_tables' alike): network byte
// order, 4 bytes for IPv4, 16 for IPv6.
import { parseIp } from './ipv4.js';
import { parseIp6 } from './ipv6.js';

/** `text` in network byte order, or undefined when it is not an address (of `family`, if given). */
export function ipBytes(text: string, family?: 4 | 6): Buffer | undefined {
  if (family !== 6) {
    const v4 = parseIp(text);
    if (v4 !== undefined) {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(v4 >>> 0, 0);
      return b;
    }
    if (family === 4) return undefined;
  }
  const v6 = text.includes(':') ? parseIp6(text) : undefined;
  return v6 === undefined ? undefined : Buffer.from(v6.toString(16).padStart(32, '0'), 'hex');
}
