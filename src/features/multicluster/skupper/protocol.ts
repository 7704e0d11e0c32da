// The site routers' link protocol: frames multiplexed over one mutual-TLS connection per link.
// A frame is a 9-byte header (type u8, stream id u32, payload length u32) and its payload.
// Control frames (HELLO, ROUTES, PING) use stream 0 and carry JSON; a TCP connection through
// the link is a stream: OPEN (JSON {key, ttl}), DATA, END (half close), RESET (abort), and
// CREDIT (u32: the receiver grants that many more bytes of DATA; see STREAM_WINDOW).

export const FrameType = {
  HELLO: 1,
  ROUTES: 2,
  OPEN: 3,
  DATA: 4,
  END: 5,
  RESET: 6,
  PING: 7,
  CREDIT: 8,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export const HEADER = 9;
/** largest payload of one DATA frame */
export const MAX_DATA = 60 * 1024;
/**
 * Per-stream flow control, on every hop: a stream may have this many DATA bytes sent and not
 * yet granted back. The receiving router grants (CREDIT) as it hands the data on, and holds its
 * grants while the next hop (a local socket or the next link's stream) is backed up, so a reader
 * that stops reading stalls its own stream and never the link's TLS socket.
 * 16 MiB: the window bounds what a stream has on its way through buffers at every layer
 * (TLS, kernel, both routers); smaller ones cost throughput on this machine (bench suite
 * multicluster: 1 MiB about 15% below the link without flow control, 4 MiB about 10%).
 */
export const STREAM_WINDOW = 16 * 1024 * 1024;
/** the receiver grants once this much is owed (fewer, larger CREDIT frames) */
export const GRANT_AT = STREAM_WINDOW / 4;
/** largest frame accepted (a ROUTES table of many keys is the biggest) */
export const MAX_FRAME = 4 * 1024 * 1024;
/** a route cost at or beyond this is unreachable (bounds count-to-infinity) */
export const INFINITE_COST = 1000;

export function encodeFrame(type: FrameType, id: number, payload?: Buffer | string): Buffer {
  const body =
    payload === undefined ? undefined : typeof payload === 'string' ? Buffer.from(payload) : payload;
  const len = body?.length ?? 0;
  const out = Buffer.allocUnsafe(HEADER + len);
  out.writeUInt8(type, 0);
  out.writeUInt32BE(id >>> 0, 1);
  out.writeUInt32BE(len, 5);
  if (body) body.copy(out, HEADER);
  return out;
}

/** The header alone, for a payload written separately (not copied). */
export function encodeHeader(type: FrameType, id: number, len: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER);
  out.writeUInt8(type, 0);
  out.writeUInt32BE(id >>> 0, 1);
  out.writeUInt32BE(len, 5);
  return out;
}

export interface Frame {
  type: number;
  id: number;
  payload: Buffer;
}

/** Splits a byte stream into frames (chunks are only joined when a header or payload spans them). */
export class FrameReader {
  private chunks: Buffer[] = [];
  private length = 0;

  private take(n: number): Buffer {
    const first = this.chunks[0];
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let off = 0;
      while (off < n) {
        const c = this.chunks[0];
        const k = Math.min(c.length, n - off);
        c.copy(out, off, 0, k);
        off += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.length -= n;
    return out;
  }

  /** the header of the frame whose payload has not all arrived yet */
  private pending?: { type: number; id: number; len: number };

  push(chunk: Buffer, onFrame: (f: Frame) => void): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    for (;;) {
      if (!this.pending) {
        if (this.length < HEADER) return;
        const h = this.take(HEADER);
        this.pending = { type: h.readUInt8(0), id: h.readUInt32BE(1), len: h.readUInt32BE(5) };
        if (this.pending.len > MAX_FRAME) throw new Error(`frame of ${this.pending.len} bytes is too large`);
      }
      const h = this.pending;
      if (this.length < h.len) return;
      this.pending = undefined;
      onFrame({ type: h.type, id: h.id, payload: h.len ? this.take(h.len) : Buffer.alloc(0) });
    }
  }
}
