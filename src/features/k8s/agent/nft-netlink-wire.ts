// Netlink messages and attributes as nf_tables reads them, written into one growing buffer (a
// full sync at 10,000 services is 28 MB): type-length-value attributes padded to 4 bytes,
// nested ones flagged NLA_F_NESTED, integers big-endian unless the kernel keeps them in host order.
import { endianness } from 'node:os';
import { ipBytes } from '../../../util/ip-bytes.js';

const NLA_F_NESTED = 0x8000;
const LITTLE = endianness() === 'LE';

export class Wire {
  buf: Buffer;
  pos = 0;

  constructor(size = 1 << 16) {
    this.buf = Buffer.alloc(size);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** An attribute header: length and type, little-endian u16 each (written byte by byte: hot). */
  private head(len: number, type: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = len & 0xff;
    b[p + 1] = len >>> 8;
    b[p + 2] = type & 0xff;
    b[p + 3] = type >>> 8;
  }

  /** An attribute holding `bytes`, padded. */
  bytes(type: number, bytes: Uint8Array): void {
    const len = 4 + bytes.length;
    this.room(len + 3);
    this.head(len, type);
    this.buf.set(bytes, this.pos + 4);
    this.pos += len;
    this.pad();
  }

  private pad(): void {
    while (this.pos & 3) this.buf[this.pos++] = 0;
  }

  /** A NUL-terminated string. */
  str(type: number, s: string): void {
    // native writes: the agent runs without an optimizing compiler (worker.ts AGENT_NODE_FLAGS),
    // where a loop over the characters costs more than the call
    const n = Buffer.byteLength(s);
    this.room(n + 8);
    this.head(n + 5, type);
    if (n === s.length) this.buf.write(s, this.pos + 4, n, 'latin1');
    else this.buf.write(s, this.pos + 4);
    this.buf[this.pos + 4 + n] = 0;
    this.pos += n + 5;
    this.pad();
  }

  /** Bytes already encoded (a cached expression). */
  raw(bytes: Buffer): void {
    this.room(bytes.length);
    bytes.copy(this.buf, this.pos);
    this.pos += bytes.length;
  }

  u32(type: number, n: number): void {
    this.room(8);
    this.head(8, type);
    const b = this.buf;
    const p = this.pos + 4;
    b[p] = (n >>> 24) & 0xff;
    b[p + 1] = (n >>> 16) & 0xff;
    b[p + 2] = (n >>> 8) & 0xff;
    b[p + 3] = n & 0xff;
    this.pos += 8;
  }

  u64(type: number, n: number): void {
    this.room(12);
    this.head(12, type);
    this.buf.writeBigUInt64BE(BigInt(n), this.pos + 4);
    this.pos += 12;
  }

  /** Opens a nested attribute; `end` closes it. */
  begin(type: number): number {
    this.room(4);
    const at = this.pos;
    this.head(0, type | NLA_F_NESTED);
    this.pos += 4;
    return at;
  }

  end(at: number): void {
    const len = this.pos - at;
    if (len > 0xffff) throw new Error(`netlink attribute of ${len} bytes: more than 64 KiB`);
    this.buf[at] = len & 0xff;
    this.buf[at + 1] = len >>> 8;
  }

  /** A message: nlmsghdr and nfgenmsg; `endMessage` writes its length. */
  message(type: number, flags: number, seq: number, family: number, resId = 0): number {
    this.room(20);
    const at = this.pos;
    const b = this.buf;
    b.writeUInt16LE(type, at + 4);
    b.writeUInt16LE(flags, at + 6);
    b.writeUInt32LE(seq, at + 8);
    b.writeUInt32LE(0, at + 12);
    b.writeUInt8(family, at + 16);
    b.writeUInt8(0, at + 17);
    b.writeUInt16BE(resId, at + 18);
    this.pos += 20;
    return at;
  }

  endMessage(at: number): void {
    this.buf.writeUInt32LE(this.pos - at, at);
  }

  /** Where the writer is, to undo a message that could not be encoded. */
  rewind(to: number): void {
    this.pos = to;
  }

  done(): Buffer {
    return this.buf.subarray(0, this.pos);
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
