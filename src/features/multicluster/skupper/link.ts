// One link between two site routers: a mutual-TLS connection carrying frames (protocol.ts).
// Stream 0 carries the link's own messages (HELLO, ROUTES, PING heartbeats); every other
// stream id is one TCP connection through the link (OPEN, DATA, END, RESET), so any number of
// connections share the one TLS session. A Link outlives its connections: a dialled link is
// re-attached to each new TLS socket.
import type tls from 'node:tls';
import { type End, pipeInto } from './ends.js';
import { encodeFrame, encodeHeader, type Frame, FrameReader, FrameType, MAX_DATA } from './protocol.js';
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
  drainWaiters: (() => void)[] = [];
  state: 'connecting' | 'up' | 'down' = 'connecting';
  lastError = '';
  connects = 0;
  /** open connections through this link that we started */
  inflight = 0;
  /** set once the peer's HELLO arrived: with TLS 1.3 a refused client certificate shows only then */
  onUp?: () => void;
  private pausedBy = new Set<LinkEnd>();
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
      const w = this.drainWaiters;
      this.drainWaiters = [];
      for (const cb of w) cb();
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
    this.pausedBy.clear();
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const s of [...this.streams.values()]) s.lost();
    for (const cb of w) cb();
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

  pauseFor(s: LinkEnd): void {
    this.pausedBy.add(s);
    this.sock?.pause();
  }
  resumeFor(s: LinkEnd): void {
    if (this.pausedBy.delete(s) && this.pausedBy.size === 0) this.sock?.resume();
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
        else if (f.type === FrameType.DATA) this.send(FrameType.RESET, f.id);
      }
    }
  }
}

/** One connection's stream on a link. */
export class LinkEnd implements End {
  peer?: End;
  finished?: () => void;
  sentEnd = false;
  gotEnd = false;
  private done = false;

  constructor(
    readonly link: Link,
    readonly id: number,
  ) {
    link.streams.set(id, this);
  }

  write(b: Buffer): boolean {
    let ok = true;
    for (let off = 0; off < b.length; off += MAX_DATA)
      ok = this.link.send(FrameType.DATA, this.id, b.subarray(off, off + MAX_DATA));
    return ok;
  }
  end(): void {
    if (this.sentEnd) return;
    this.sentEnd = true;
    this.link.send(FrameType.END, this.id);
    this.maybeDone();
  }
  abort(): void {
    if (this.done) return;
    this.link.send(FrameType.RESET, this.id);
    this.finish();
  }
  pause(): void {
    this.link.pauseFor(this);
  }
  resume(): void {
    this.link.resumeFor(this);
  }
  onDrain(cb: () => void): void {
    this.link.drainWaiters.push(cb);
  }
  /** frames from the link for this stream */
  received(f: Frame): void {
    if (f.type === FrameType.DATA) pipeInto(this, f.payload);
    else if (f.type === FrameType.END) {
      this.gotEnd = true;
      this.peer?.end();
      this.maybeDone();
    } else if (f.type === FrameType.RESET) {
      this.finish();
      const p = this.peer;
      this.peer = undefined;
      p?.abort();
    }
  }
  /** the link went away */
  lost(): void {
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
    this.link.resumeFor(this);
    this.finished?.();
  }
}
