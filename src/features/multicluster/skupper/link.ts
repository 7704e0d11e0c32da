// One link between two site routers: a mutual-TLS connection carrying frames (protocol.ts).
// Stream 0 carries the link's own messages (HELLO, ROUTES, PING heartbeats); every other
// stream id is one TCP connection through the link (OPEN, DATA, END, RESET), so any number of
// connections share the one TLS session. A Link outlives its connections: a dialled link is
// re-attached to each new TLS socket.
//
// The TLS socket is never paused: every stream has its own credit window (CREDIT frames,
// protocol.ts), so a stream whose reader stops reading stops only its sender, and the link
// keeps carrying the other streams. A writer into a stream waits while the stream is out of
// credit or the TLS socket's buffer is full.
import type tls from 'node:tls';
import { type End, pipeInto, wake } from './ends.js';
import {
  encodeFrame,
  encodeHeader,
  type Frame,
  FrameReader,
  FrameType,
  GRANT_AT,
  MAX_DATA,
  STREAM_WINDOW,
} from './protocol.js';
import type { Advertisement } from './routing.js';

const HEARTBEAT_MS = 1000;
/** no frame for this long (heartbeats included): the peer or the path is gone */
const DEAD_MS = 3500;

/** What a link needs from the router that owns it. */
export interface LinkOwner {
  readonly site: string;
  log(msg: string): void;
  /** the routes to tell this link's peer */
  advertisedTo(link: Link): Advertisement;
  /** a link's routes or state changed: neighbours are told (batched) */
  routesChanged(): void;
  /** joins a stream the peer opened to the key's destination; false when there is none */
  openStream(key: string, end: End, ttl: number, from: Link): boolean;
}

export class Link {
  peerSite?: string;
  sock?: tls.TLSSocket;
  cost: number;
  /** key -> cost from the peer to the key */
  routes = new Map<string, number>();
  streams = new Map<number, LinkEnd>();
  /** streams whose writers wait for the TLS socket to drain */
  readonly waiting = new Set<LinkEnd>();
  state: 'connecting' | 'up' | 'down' = 'connecting';
  lastError = '';
  connects = 0;
  /** open connections through this link that we started */
  inflight = 0;
  /** set once the peer's HELLO arrived: with TLS 1.3 a refused client certificate shows only then */
  onUp?: () => void;
  private nextId: number;
  private lastSeen = Date.now();
  private timer?: NodeJS.Timeout;
  private corked = false;

  constructor(
    private readonly owner: LinkOwner,
    readonly name: string,
    readonly dialer: boolean,
    cost: number,
  ) {
    this.cost = cost;
    // dialers use odd stream ids, acceptors even ones: no collision between the two sides
    this.nextId = dialer ? 1 : 2;
  }

  get up(): boolean {
    return this.state === 'up';
  }

  attach(sock: tls.TLSSocket): void {
    this.sock = sock;
    this.state = 'connecting';
    this.lastSeen = Date.now();
    sock.setNoDelay(true);
    const reader = new FrameReader();
    sock.on('data', (d: Buffer) => {
      this.lastSeen = Date.now();
      try {
        reader.push(d, (f) => this.onFrame(f));
      } catch (err) {
        this.owner.log(`link ${this.name}: ${(err as Error).message}`);
        sock.destroy();
      }
    });
    sock.on('drain', () => {
      for (const s of [...this.waiting]) s.wake();
    });
    this.timer = setInterval(() => {
      if (Date.now() - this.lastSeen > DEAD_MS) {
        this.owner.log(`link ${this.name}: no traffic for ${DEAD_MS} ms, closing`);
        sock.destroy();
        return;
      }
      this.send(FrameType.PING, 0);
    }, HEARTBEAT_MS);
    this.send(FrameType.HELLO, 0, JSON.stringify({ site: this.owner.site, cost: this.cost }));
    this.send(FrameType.ROUTES, 0, JSON.stringify(this.owner.advertisedTo(this)));
  }

  detach(): void {
    clearInterval(this.timer);
    this.sock = undefined;
    this.state = 'down';
    this.routes.clear();
    for (const s of [...this.streams.values()]) s.lost();
    this.waiting.clear();
    this.owner.routesChanged();
  }

  newId(): number {
    const id = this.nextId;
    this.nextId += 2;
    if (this.nextId > 0xfffffff0) this.nextId = this.dialer ? 1 : 2;
    return id;
  }

  send(type: FrameType, id: number, payload?: Buffer | string): boolean {
    const sock = this.sock;
    if (!sock || sock.destroyed) return true;
    // frames written in one tick go out together (one writev into TLS); big payloads are not copied
    if (!this.corked) {
      this.corked = true;
      sock.cork();
      process.nextTick(() => {
        this.corked = false;
        sock.uncork();
      });
    }
    if (type === FrameType.DATA && Buffer.isBuffer(payload) && payload.length > 4096) {
      sock.write(encodeHeader(type, id, payload.length));
      return sock.write(payload);
    }
    return sock.write(encodeFrame(type, id, payload));
  }

  /** the TLS socket's buffer is full: writers wait for its drain */
  get congested(): boolean {
    return this.sock?.writableNeedDrain ?? false;
  }

  private onFrame(f: Frame): void {
    switch (f.type) {
      case FrameType.PING:
        return;
      case FrameType.HELLO: {
        const h = JSON.parse(f.payload.toString()) as { site: string; cost?: number };
        this.peerSite = h.site;
        if (!this.dialer && h.cost) this.cost = h.cost;
        this.state = 'up';
        this.connects++;
        this.onUp?.();
        this.owner.routesChanged();
        this.owner.log(`link ${this.name}: up to site ${h.site} (cost ${this.cost})`);
        return;
      }
      case FrameType.ROUTES: {
        const r = JSON.parse(f.payload.toString()) as Advertisement;
        this.routes = new Map(Object.entries(r));
        this.owner.routesChanged();
        return;
      }
      case FrameType.OPEN: {
        const o = JSON.parse(f.payload.toString()) as { key: string; ttl: number };
        const end = new LinkEnd(this, f.id);
        if (!this.owner.openStream(o.key, end, o.ttl - 1, this)) end.abort();
        return;
      }
      default: {
        const s = this.streams.get(f.id);
        if (s) s.received(f);
        // data or a FIN for a stream that is gone here (we reset it, or never had it): reset
        else if (f.type === FrameType.DATA || f.type === FrameType.END) this.send(FrameType.RESET, f.id);
      }
    }
  }
}

/**
 * One connection's stream on a link (one hop). Sending: DATA up to the credit the receiver
 * granted (a write that overdraws it goes out, then the writer waits), END once. Receiving:
 * DATA handed to the peer and granted back (CREDIT) unless the peer is backed up, END, RESET.
 * Done once END went both ways, or on RESET either way, or when the link is lost; a done
 * stream leaves the link's table and wakes whoever waits for it.
 */
export class LinkEnd implements End {
  peer?: End;
  finished?: () => void;
  sentEnd = false;
  gotEnd = false;
  private done = false;
  /** bytes we may still send before the receiver grants more */
  private credit = STREAM_WINDOW;
  /** bytes received and handed on, not yet granted back */
  private owed = 0;
  /** our peer is backed up: no grants until it drains */
  private held = false;
  private waiters: (() => void)[] = [];

  constructor(
    readonly link: Link,
    readonly id: number,
  ) {
    link.streams.set(id, this);
  }

  /** out of credit: the sender waits for the receiver */
  get stalled(): boolean {
    return this.credit <= 0;
  }
  get paused(): boolean {
    return this.held;
  }

  write(b: Buffer): boolean {
    if (this.done || this.sentEnd) return true;
    let ok = true;
    for (let off = 0; off < b.length; off += MAX_DATA)
      ok = this.link.send(FrameType.DATA, this.id, b.subarray(off, off + MAX_DATA));
    this.credit -= b.length;
    return ok && this.credit > 0;
  }
  end(): void {
    if (this.sentEnd || this.done) return;
    this.sentEnd = true;
    this.link.send(FrameType.END, this.id);
    this.maybeDone();
  }
  abort(): void {
    if (this.done) return;
    this.peer = undefined;
    this.link.send(FrameType.RESET, this.id);
    this.finish();
  }
  pause(): void {
    this.held = true;
  }
  resume(): void {
    this.held = false;
    this.grant();
  }
  onDrain(cb: () => void): void {
    if (this.done) queueMicrotask(cb);
    else {
      this.waiters.push(cb);
      this.wake();
    }
  }
  /** wakes the writers once there is credit and room in the TLS socket */
  wake(): void {
    if (this.waiters.length === 0) return;
    if (this.credit <= 0) return;
    if (this.link.congested) {
      this.link.waiting.add(this);
      return;
    }
    this.link.waiting.delete(this);
    wake(this.waiters);
  }
  private grant(): void {
    if (this.held || this.done || this.gotEnd || this.owed < GRANT_AT) return;
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(this.owed, 0);
    this.owed = 0;
    this.link.send(FrameType.CREDIT, this.id, b);
  }
  /** frames from the link for this stream */
  received(f: Frame): void {
    switch (f.type) {
      case FrameType.DATA:
        if (this.gotEnd) return;
        this.owed += f.payload.length;
        pipeInto(this, f.payload);
        this.grant();
        return;
      case FrameType.CREDIT:
        if (f.payload.length >= 4) this.credit += f.payload.readUInt32BE(0);
        this.wake();
        return;
      case FrameType.END:
        this.gotEnd = true;
        this.peer?.end();
        this.maybeDone();
        return;
      case FrameType.RESET:
        this.lost();
    }
  }
  /** the other side reset the stream, or the link went away */
  lost(): void {
    if (this.done) return;
    this.finish();
    const p = this.peer;
    this.peer = undefined;
    p?.abort();
  }
  private maybeDone(): void {
    if (this.sentEnd && this.gotEnd) this.finish();
  }
  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.link.streams.delete(this.id);
    this.link.waiting.delete(this);
    wake(this.waiters);
    this.finished?.();
  }
}
