// nf_tables' part of a netlink message, on the shared writer (util/netlink-attr.ts): the nfgenmsg
// after the header, integers in network byte order unless the kernel keeps them in host order,
// and addresses in network byte order. A full sync at 10,000 services is 28 MB in one buffer.
import { endianness } from 'node:os';
import { ipBytes } from '../../../util/ip-bytes.js';
import { NlWriter } from '../../../util/netlink-attr.js';

const LITTLE = endianness() === 'LE';

export class Wire extends NlWriter {
  /** A message: nlmsghdr and nfgenmsg (family, version 0, resource id); `endMessage` writes its length. */
  nfMessage(type: number, flags: number, seq: number, family: number, resId = 0): number {
    const at = this.message(type, flags, seq);
    this.room(4);
    const b = this.buf;
    const p = this.pos;
    b[p] = family;
    b[p + 1] = 0;
    b[p + 2] = (resId >>> 8) & 0xff;
    b[p + 3] = resId & 0xff;
    this.pos += 4;
    return at;
  }
}

/** A 32-bit value in host byte order (marks, ct state bits, fib results, numgen results). */
export function u32host(n: number): Buffer {
  const b = Buffer.alloc(4);
  if (LITTLE) b.writeUInt32LE(n >>> 0, 0);
  else b.writeUInt32BE(n >>> 0, 0);
  return b;
}

export function u16be(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}

/** An address in network byte order: 4 bytes (IPv4) or 16 (IPv6). */
export function addrBytes(ip: string, family: 4 | 6): Buffer {
  const b = ipBytes(ip, family);
  if (!b) throw new Error(`not an IPv${family} address: ${ip}`);
  return b;
}
