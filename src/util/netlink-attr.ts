// Netlink messages and their type-length-value attributes, written into one growing buffer: the
// one writer of both netlink encoders (rtnetlink requests in kernel/netlink.ts, kube-proxy's
// nf_tables batches in features/k8s/agent/nft-netlink*.ts). Headers and attribute headers are in
// host byte order; attributes are padded to 4 bytes; a nested attribute is opened with `begin`
// (NLA_F_NESTED set, as nf_tables requires) or `open` (type as given, as rtnetlink's
// IFLA_LINKINFO is sent) and closed with `end`, which writes its length. Every byte of the buffer
// up to `pos` is written explicitly, so it is allocated without zeroing.
import { endianness } from 'node:os';

export const NLA_F_NESTED = 0x8000;
/** nlmsghdr: length, type, flags, sequence number, port id */
export const NLMSG_HDRLEN = 16;
const LITTLE = endianness() === 'LE';
/** Buffer's native UTF-8 write (what Buffer#write calls after checking its arguments) */
type Utf8Write = { utf8Write(s: string, offset: number): number };

export class NlWriter {
  buf: Buffer;
  /** the buffer's integer writes (V8 builtins: one call, also without an optimizing compiler) */
  private dv: DataView;
  pos = 0;

  constructor(size = 1 << 16) {
    this.buf = Buffer.allocUnsafe(size);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  /** Room for `n` more bytes (the buffer doubles; what was written is kept). */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.dv = new DataView(next.buffer, next.byteOffset, next.length);
  }

  /** A host-order u16 at `at`. */
  private put16(at: number, v: number): void {
    this.dv.setUint16(at, v, LITTLE);
  }

  /** A host-order u32 at `at`. */
  put32(at: number, v: number): void {
    this.dv.setUint32(at, v >>> 0, LITTLE);
  }

  /** An attribute header (length, type) at the current position, not advanced past. */
  private head(len: number, type: number): void {
    this.dv.setUint32(this.pos, LITTLE ? (len | (type << 16)) >>> 0 : ((len << 16) | type) >>> 0, LITTLE);
  }

  /** Zeros up to the next multiple of 4. */
  pad(): void {
    while (this.pos & 3) this.buf[this.pos++] = 0;
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

  /** A NUL-terminated string (UTF-8). */
  str(type: number, s: string): void {
    // written first and measured by the native write itself: Buffer#write and Buffer.byteLength
    // are JavaScript wrappers that cost more than the copy (measured in the agent when it ran
    // without the optimizing compiler)
    this.room(3 * s.length + 8);
    const n = (this.buf as Buffer & Utf8Write).utf8Write(s, this.pos + 4);
    this.head(n + 5, type);
    this.buf[this.pos + 4 + n] = 0;
    this.pos += n + 5;
    this.pad();
  }

  /** Bytes as they are (a header, or attributes encoded before): not padded. */
  raw(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** The bytes [from, to) written earlier, once more at the end. */
  again(from: number, to: number): void {
    this.room(to - from);
    this.buf.copyWithin(this.pos, from, to);
    this.pos += to - from;
  }

  /** A u32 in network byte order (nf_tables' values). */
  u32be(type: number, n: number): void {
    this.room(8);
    this.head(8, type);
    this.dv.setUint32(this.pos + 4, n >>> 0, false);
    this.pos += 8;
  }

  /** A u32 in host byte order (rtnetlink's values). */
  u32(type: number, n: number): void {
    this.room(8);
    this.head(8, type);
    this.put32(this.pos + 4, n);
    this.pos += 8;
  }

  /** A u64 in network byte order (below 2^53). */
  u64be(type: number, n: number): void {
    this.room(12);
    this.head(12, type);
    this.dv.setUint32(this.pos + 4, Math.floor(n / 0x100000000) >>> 0, false);
    this.dv.setUint32(this.pos + 8, n >>> 0, false);
    this.pos += 12;
  }

  /** Opens an attribute with the type as given (its content follows); `end` closes it. */
  open(type: number): number {
    this.room(4);
    const at = this.pos;
    this.head(0, type);
    this.pos += 4;
    return at;
  }

  /** Opens a nested attribute (NLA_F_NESTED); `end` closes it. */
  begin(type: number): number {
    return this.open(type | NLA_F_NESTED);
  }

  /** Closes an attribute: its length, without the padding that follows. */
  end(at: number): void {
    const len = this.pos - at;
    if (len > 0xffff) throw new Error(`netlink attribute of ${len} bytes: more than 64 KiB`);
    this.put16(at, len);
    this.pad();
  }

  /** A message's nlmsghdr (port id 0); `endMessage` writes its length. */
  message(type: number, flags: number, seq: number): number {
    this.room(NLMSG_HDRLEN);
    const at = this.pos;
    this.put32(at + 8, seq);
    this.put32(at + 12, 0);
    this.put16(at + 4, type);
    this.put16(at + 6, flags);
    this.pos += NLMSG_HDRLEN;
    return at;
  }

  endMessage(at: number): void {
    this.put32(at, this.pos - at);
  }

  /** Where the writer is, to undo a message that could not be encoded. */
  rewind(to: number): void {
    this.pos = to;
  }

  /** What was written (a view of the buffer, not a copy). */
  done(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
