// A Skupper-style site router: a Node process entered into one worker's namespace (like the
// pod network agent). It links to other sites' routers over mutual TLS (one connection per
// link, certificates issued per link from a token), multiplexes TCP connections over each link
// as streams, learns which site serves which routing key (distance vector with link costs and
// split horizon), and joins listeners (a TCP port on the worker's address per routing key) to
// connectors (host:port next to the workload), through intermediate sites when there is no
// direct link. A new connection goes to the candidate with the lowest cost plus open
// connections (Skupper's rule), ties in turn. Lost links are redialled with exponential backoff.
//
// The main process drives it through a Unix socket (one JSON request per connection): link,
// unlink, expose, unexpose, listen, unlisten, status. Link traffic only crosses the simulated
// network.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import {
  encodeFrame,
  encodeHeader,
  type Frame,
  FrameReader,
  FrameType,
  INFINITE_COST,
  MAX_DATA,
} from './protocol.js';
import type { SkupperToken } from './site.js';

const { values: args } = parseArgs({
  options: {
    site: { type: 'string' },
    ip: { type: 'string' },
    port: { type: 'string', default: '55671' },
    dir: { type: 'string' },
    control: { type: 'string' },
  },
});
const SITE = args.site!;
const IP = args.ip!;
const LINK_PORT = Number(args.port);
const DIR = args.dir!;
const HEARTBEAT_MS = 1000;
const DEAD_MS = 3500;
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 1600;
const CONNECT_TIMEOUT_MS = 1500;
const MAX_TTL = 16;
/** AES-128-GCM first: the cheapest TLS 1.3 suite with AES-NI */
const CIPHERS = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

const log = (msg: string) => process.stdout.write(`${new Date().toISOString()} ${SITE}: ${msg}\n`);

// ---- stream ends: a local TCP socket or a stream on a link ----

interface End {
  /** false: the destination is backed up; `onDrain` fires when it is not */
  write(b: Buffer): boolean;
  end(): void;
  abort(): void;
  pause(): void;
  resume(): void;
  onDrain(cb: () => void): void;
  peer?: End;
  /** called once when this end is finished */
  finished?: () => void;
}

function pipeInto(from: End, data: Buffer): void {
  const to = from.peer;
  if (!to) return;
  if (!to.write(data)) {
    from.pause();
    to.onDrain(() => from.resume());
  }
}

class SockEnd implements End {
  peer?: End;
  finished?: () => void;
  private gotEnd = false;
  private done = false;

  constructor(readonly sock: Socket) {
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => pipeInto(this, d));
    sock.on('end', () => {
      this.gotEnd = true;
      this.peer?.end();
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      // after the socket's FIN, an error on our writes (a server that closed without reading
      // the request resets) is not propagated: the other side already has all data and END
      if (!this.gotEnd) this.peer?.abort();
      this.finish();
    });
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.finished?.();
  }

  private wrote = false;
  write(b: Buffer): boolean {
    this.wrote = true;
    return this.sock.write(b);
  }
  private ending = false;
  end(): void {
    this.ending = true;
    this.sock.end();
  }
  abort(): void {
    this.peer = undefined;
    // already half closed, or data already written: let what is buffered go out, then the FIN
    // (a server that answers and closes without reading the request resets; the answer must
    // still reach the client, as it does on a direct connection)
    if (this.ending || this.wrote) this.sock.end();
    else this.sock.destroy();
  }
  pause(): void {
    this.sock.pause();
  }
  resume(): void {
    this.sock.resume();
  }
  onDrain(cb: () => void): void {
    this.sock.once('drain', cb);
  }
}

class LinkEnd implements End {
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

// ---- links ----

/** A token as the site gives it to the router: where to dial and the link's certificate. */
type LinkConfig = Omit<SkupperToken, 'site'> & { name: string };

class Link {
  peerSite?: string;
  sock?: tls.TLSSocket;
  cost: number;
  /** key -> cost from the peer to the key */
  routes = new Map<string, number>();
  streams = new Map<number, LinkEnd>();
  drainWaiters: (() => void)[] = [];
  private pausedBy = new Set<LinkEnd>();
  private nextId: number;
  private lastSeen = Date.now();
  private timer?: NodeJS.Timeout;
  state: 'connecting' | 'up' | 'down' = 'connecting';
  lastError = '';
  connects = 0;
  /** open connections through this link that we started */
  inflight = 0;

  constructor(
    readonly name: string,
    readonly dialer: boolean,
    cost: number,
  ) {
    this.cost = cost;
    // dialers use odd stream ids, acceptors even ones: no collision between the two sides
    this.nextId = dialer ? 1 : 2;
  }

  /** set once the peer's HELLO arrived: with TLS 1.3 a refused client certificate shows only then */
  onUp?: () => void;

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
        log(`link ${this.name}: ${(err as Error).message}`);
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
        log(`link ${this.name}: no traffic for ${DEAD_MS} ms, closing`);
        sock.destroy();
        return;
      }
      this.send(FrameType.PING, 0);
    }, HEARTBEAT_MS);
    this.send(FrameType.HELLO, 0, JSON.stringify({ site: SITE, cost: this.cost }));
    this.send(FrameType.ROUTES, 0, JSON.stringify(advertisedTo(this)));
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
    routesChanged();
  }

  newId(): number {
    const id = this.nextId;
    this.nextId += 2;
    if (this.nextId > 0xfffffff0) this.nextId = this.dialer ? 1 : 2;
    return id;
  }

  private corked = false;

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
        routesChanged();
        log(`link ${this.name}: up to site ${h.site} (cost ${this.cost})`);
        return;
      }
      case FrameType.ROUTES: {
        const r = JSON.parse(f.payload.toString()) as Record<string, number>;
        this.routes = new Map(Object.entries(r));
        routesChanged();
        return;
      }
      case FrameType.OPEN: {
        const o = JSON.parse(f.payload.toString()) as { key: string; ttl: number };
        const end = new LinkEnd(this, f.id);
        if (!openStream(o.key, end, o.ttl - 1, this)) end.abort();
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

const links = new Map<string, Link>();
const dialed = new Map<string, { cfg: LinkConfig; stop: boolean; backoff: number; timer?: NodeJS.Timeout }>();
interface Connector {
  hosts: string[];
  port: number;
  inflight: number;
  next: number;
}
const connectors = new Map<string, Connector>();
const listeners = new Map<string, { port: number; server: Server; accepted: number }>();
let rr = 0;

/** What we tell `to`: our best cost to each key, leaving out routes learned from `to`. */
function advertisedTo(to: Link): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of connectors.keys()) out[k] = 0;
  for (const l of links.values()) {
    if (l === to || l.state !== 'up') continue;
    for (const [k, c] of l.routes) {
      const total = c + l.cost;
      if (total < INFINITE_COST && (out[k] === undefined || total < out[k])) out[k] = total;
    }
  }
  return out;
}

let advertisePending = false;
const lastAdvertised = new Map<Link, string>();
function routesChanged(): void {
  if (advertisePending) return;
  advertisePending = true;
  setImmediate(() => {
    advertisePending = false;
    for (const l of links.values()) {
      if (l.state !== 'up') continue;
      const text = JSON.stringify(advertisedTo(l));
      if (lastAdvertised.get(l) === text) continue;
      lastAdvertised.set(l, text);
      l.send(FrameType.ROUTES, 0, text);
    }
  });
}

interface Candidate {
  cost: number;
  load: number;
  local?: Connector;
  link?: Link;
}

function candidates(key: string, from?: Link): Candidate[] {
  const out: Candidate[] = [];
  const c = connectors.get(key);
  if (c) out.push({ cost: 0, load: c.inflight, local: c });
  for (const l of links.values()) {
    if (l === from || l.state !== 'up') continue;
    const r = l.routes.get(key);
    if (r !== undefined && r + l.cost < INFINITE_COST)
      out.push({ cost: r + l.cost, load: l.inflight, link: l });
  }
  return out;
}

/** Joins `end` to the key's best destination; false when there is none. */
function openStream(key: string, end: End, ttl: number, from?: Link): boolean {
  const all = candidates(key, from);
  if (all.length === 0 || ttl <= 0) return false;
  const score = (x: Candidate) => x.cost + x.load;
  const best = Math.min(...all.map(score));
  const tied = all.filter((x) => score(x) === best);
  const pick = tied[rr++ % tied.length];
  let other: End;
  if (pick.local) {
    const local = pick.local;
    local.inflight++;
    const host = local.hosts[local.next++ % local.hosts.length];
    other = new SockEnd(createConnection({ host, port: local.port }));
    other.finished = () => local.inflight--;
  } else {
    const link = pick.link!;
    link.inflight++;
    const id = link.newId();
    const le = new LinkEnd(link, id);
    le.finished = () => link.inflight--;
    link.send(FrameType.OPEN, id, JSON.stringify({ key, ttl }));
    other = le;
  }
  end.peer = other;
  other.peer = end;
  return true;
}

// ---- TLS: our server for incoming links, dialing for outgoing ones ----

const serverOpts = () => ({
  key: readFileSync(`${DIR}/server.key`),
  cert: readFileSync(`${DIR}/server.crt`),
  ca: readFileSync(`${DIR}/ca.crt`),
  requestCert: true,
  rejectUnauthorized: true,
  minVersion: 'TLSv1.3' as const,
  ciphers: CIPHERS,
});

// Revoked link certificates (SHA-256 fingerprints), kept in the site directory so a restarted
// router still refuses them: a certificate our CA signed is refused after the TLS handshake.
const REVOKED_FILE = `${DIR}/revoked.json`;
const revoked = new Set<string>(
  existsSync(REVOKED_FILE) ? (JSON.parse(readFileSync(REVOKED_FILE, 'utf8')) as string[]) : [],
);
const linkCerts = new Map<Link, string>();

let accepted = 0;
const linkServer = tls.createServer(serverOpts(), (sock) => {
  const cert = sock.getPeerCertificate();
  if (revoked.has(cert.fingerprint256)) {
    log(`refused a link from ${sock.remoteAddress}: certificate ${cert.subject?.CN} is revoked`);
    sock.destroy();
    return;
  }
  const name = `in-${cert.subject?.CN ?? 'unknown'}-${++accepted}`;
  const link = new Link(name, false, 1);
  links.set(name, link);
  linkCerts.set(link, cert.fingerprint256);
  log(`link ${name}: accepted from ${sock.remoteAddress} (certificate ${cert.subject?.CN})`);
  link.attach(sock);
  sock.on('error', (e) => {
    link.lastError = e.message;
  });
  sock.on('close', () => {
    log(`link ${name}: closed`);
    links.delete(name);
    lastAdvertised.delete(link);
    linkCerts.delete(link);
    link.detach();
  });
});
linkServer.on('tlsClientError', (err, sock) => {
  log(`refused a link from ${sock.remoteAddress}: ${err.message}`);
});
linkServer.listen(LINK_PORT, IP);

function dial(name: string): void {
  const d = dialed.get(name);
  if (!d || d.stop) return;
  let link = links.get(name);
  if (!link) {
    link = new Link(name, true, d.cfg.cost);
    links.set(name, link);
  }
  const l = link;
  l.state = 'connecting';
  const sock = tls.connect({
    host: d.cfg.host,
    port: d.cfg.port,
    ca: d.cfg.ca,
    cert: d.cfg.cert,
    key: d.cfg.key,
    minVersion: 'TLSv1.3',
    ciphers: CIPHERS,
  });
  const timeout = setTimeout(() => {
    l.lastError = `no TLS session within ${CONNECT_TIMEOUT_MS} ms`;
    sock.destroy();
  }, CONNECT_TIMEOUT_MS);
  let up = false;
  let attached = false;
  l.onUp = () => {
    up = true;
    d.backoff = BACKOFF_MIN_MS;
    l.lastError = '';
  };
  sock.on('secureConnect', () => {
    clearTimeout(timeout);
    attached = true;
    l.attach(sock);
  });
  sock.on('error', (e) => {
    l.lastError = e.message;
  });
  sock.on('close', () => {
    clearTimeout(timeout);
    if (up) log(`link ${name}: lost (${l.lastError || 'closed'})`);
    else if (l.lastError) log(`link ${name}: not established: ${l.lastError}`);
    if (attached) {
      lastAdvertised.delete(l);
      l.detach();
    }
    l.state = 'down';
    if (d.stop) return;
    const wait = d.backoff;
    d.backoff = Math.min(d.backoff * 2, BACKOFF_MAX_MS);
    d.timer = setTimeout(() => dial(name), wait);
  });
}

// ---- control socket ----

type Req = Record<string, unknown>;

function listen(key: string, port: number): void {
  if (listeners.has(key)) return;
  const entry = { port, server: createServer(), accepted: 0 };
  entry.server.on('connection', (sock) => {
    entry.accepted++;
    const end = new SockEnd(sock);
    if (!openStream(key, end, MAX_TTL)) sock.resetAndDestroy();
  });
  entry.server.on('error', (e) => log(`listener ${key}:${port}: ${e.message}`));
  entry.server.listen(port, IP);
  listeners.set(key, entry);
}

function status(): Req {
  return {
    site: SITE,
    ip: IP,
    port: LINK_PORT,
    links: [...links.values()].map((l) => ({
      name: l.name,
      site: l.peerSite,
      state: l.state,
      cost: l.cost,
      dialer: l.dialer,
      connects: l.connects,
      streams: l.streams.size,
      routes: Object.fromEntries(l.routes),
      ...(l.lastError ? { error: l.lastError } : {}),
    })),
    connectors: Object.fromEntries([...connectors].map(([k, c]) => [k, { hosts: c.hosts, port: c.port }])),
    listeners: Object.fromEntries(
      [...listeners].map(([k, l]) => [k, { port: l.port, accepted: l.accepted }]),
    ),
    reachable: Object.fromEntries(
      [...new Set([...connectors.keys(), ...[...links.values()].flatMap((l) => [...l.routes.keys()])])].map(
        (k) => [k, Math.min(...candidates(k).map((c) => c.cost))],
      ),
    ),
  };
}

async function handle(req: Req): Promise<Req> {
  switch (req.op) {
    case 'status':
      return status();
    case 'link': {
      const cfg = req as unknown as LinkConfig;
      if (dialed.has(cfg.name)) throw new Error(`link ${cfg.name} exists`);
      dialed.set(cfg.name, { cfg, stop: false, backoff: BACKOFF_MIN_MS });
      dial(cfg.name);
      return {};
    }
    case 'unlink': {
      const name = String(req.name);
      const d = dialed.get(name);
      if (!d) throw new Error(`no link ${name}`);
      d.stop = true;
      clearTimeout(d.timer);
      dialed.delete(name);
      links.get(name)?.sock?.destroy();
      links.delete(name);
      return {};
    }
    case 'expose':
      connectors.set(String(req.key), {
        hosts: (req.hosts as string[]).map(String),
        port: Number(req.port),
        inflight: 0,
        next: 0,
      });
      routesChanged();
      return {};
    case 'unexpose':
      connectors.delete(String(req.key));
      routesChanged();
      return {};
    case 'revoke': {
      const fp = String(req.fingerprint);
      revoked.add(fp);
      writeFileSync(REVOKED_FILE, JSON.stringify([...revoked]));
      let closed = 0;
      for (const [l, f] of linkCerts)
        if (f === fp) {
          log(`link ${l.name}: its certificate is revoked, closing`);
          l.sock?.destroy();
          closed++;
        }
      return { closed };
    }
    case 'listen':
      listen(String(req.key), Number(req.port));
      return {};
    case 'unlisten': {
      const l = listeners.get(String(req.key));
      l?.server.close();
      listeners.delete(String(req.key));
      return {};
    }
    default:
      throw new Error(`unknown op ${String(req.op)}`);
  }
}

const control = args.control!;
rmSync(control, { force: true });
createServer((sock) => {
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('error', () => {});
  sock.on('data', (d: string) => {
    buf += d;
    const nl = buf.indexOf('\n');
    if (nl < 0) return;
    const line = buf.slice(0, nl);
    buf = '';
    handle(JSON.parse(line) as Req)
      .then((r) => ({ ok: true, ...r }))
      .catch((e: Error) => ({ ok: false, error: e.message }))
      .then((r) => sock.end(`${JSON.stringify(r)}\n`));
  });
}).listen(control, () => log(`ready: links on ${IP}:${LINK_PORT}, control ${control}`));

process.on('SIGTERM', () => process.exit(0));
