// A Skupper-style site router's state and behaviour: its links to other sites (accepted on its
// TLS port, or dialled from tokens with backoff), the connectors of the keys this site serves,
// the listeners of the keys other sites serve, and the joining of each new connection to a
// destination chosen by routing.ts. Created and started by the process entry (router.ts).
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import tls from 'node:tls';
import { hostPort } from '../../../util/hostport.js';
import { type End, join, SockEnd } from './ends.js';
import { Link, LinkEnd, type LinkOwner } from './link.js';
import { FrameType } from './protocol.js';
import { Revocations } from './revocation.js';
import { type Advertisement, advertisement, candidates, choose, MAX_TTL, reachable } from './routing.js';
import type { SkupperToken } from './token.js';

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 1600;
const CONNECT_TIMEOUT_MS = 1500;
/** AES-128-GCM first: the cheapest TLS 1.3 suite with AES-NI */
const CIPHERS = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

export interface RouterOptions {
  site: string;
  /**
   * the worker's addresses (its IPv4 and IPv6 ones on the underlay): the link port and the
   * listeners are bound to each, so links and clients of either family reach them
   */
  addresses: string[];
  linkPort: number;
  /** the site directory: server.key/.crt, ca.crt, revoked.json */
  dir: string;
  /** the site's TLS server identity */
  tls: { key: Buffer; cert: Buffer; ca: Buffer };
  log: (msg: string) => void;
}

/** A token as the site gives it to the router: where to dial and the link's certificate. */
export type LinkConfig = Omit<SkupperToken, 'site'> & { name: string };

interface Dialled {
  cfg: LinkConfig;
  stop: boolean;
  backoff: number;
  timer?: NodeJS.Timeout;
}

interface Connector {
  hosts: string[];
  port: number;
  inflight: number;
  next: number;
}

interface Listener {
  port: number;
  /** one per address */
  servers: Server[];
  accepted: number;
}

export class SiteRouter implements LinkOwner {
  readonly site: string;
  readonly log: (msg: string) => void;
  private readonly links = new Map<string, Link>();
  private readonly dialled = new Map<string, Dialled>();
  private readonly connectors = new Map<string, Connector>();
  private readonly listeners = new Map<string, Listener>();
  private readonly revocations: Revocations<Link>;
  /** one per address */
  private readonly linkServers: tls.Server[];
  /** counts choices among equal candidates, so they take turns */
  private turn = 0;
  private advertisePending = false;
  private readonly lastAdvertised = new Map<Link, string>();
  private accepted = 0;

  constructor(private readonly opts: RouterOptions) {
    this.site = opts.site;
    this.log = opts.log;
    this.revocations = Revocations.load(`${opts.dir}/revoked.json`);
    if (opts.addresses.length === 0) throw new Error(`${opts.site}: the site router needs an address`);
    this.linkServers = opts.addresses.map(() => {
      const server = tls.createServer(
        {
          ...opts.tls,
          requestCert: true,
          rejectUnauthorized: true,
          minVersion: 'TLSv1.3',
          ciphers: CIPHERS,
        },
        (sock) => this.accept(sock),
      );
      server.on('tlsClientError', (err, sock) => {
        this.log(`refused a link from ${sock.remoteAddress}: ${err.message}`);
      });
      return server;
    });
  }

  /** Listens for links on each of the site's addresses. */
  start(): void {
    this.opts.addresses.forEach((ip, i) => {
      this.linkServers[i].listen(this.opts.linkPort, ip);
    });
  }

  // ---- routing: what we tell neighbours, where a connection goes ----

  advertisedTo(link: Link): Advertisement {
    return advertisement(this.connectors.keys(), this.links.values(), link);
  }

  /** Tells every up neighbour our routes once this turn of the event loop is done, if they changed. */
  routesChanged(): void {
    if (this.advertisePending) return;
    this.advertisePending = true;
    setImmediate(() => {
      this.advertisePending = false;
      for (const l of this.links.values()) {
        if (!l.up) continue;
        const text = JSON.stringify(this.advertisedTo(l));
        if (this.lastAdvertised.get(l) === text) continue;
        this.lastAdvertised.set(l, text);
        l.send(FrameType.ROUTES, 0, text);
      }
    });
  }

  openStream(key: string, end: End, ttl: number, from?: Link): boolean {
    const all = candidates(key, this.connectors.get(key), this.links.values(), from);
    if (all.length === 0 || ttl <= 0) return false;
    const pick = choose(all, this.turn++)!;
    let other: End;
    if (pick.local) {
      const local = pick.local;
      local.inflight++;
      const host = local.hosts[local.next++ % local.hosts.length];
      other = new SockEnd(createConnection({ host, port: local.port, allowHalfOpen: true }));
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
    join(end, other);
    return true;
  }

  // ---- links: accepted on our TLS port, or dialled from a token ----

  private accept(sock: tls.TLSSocket): void {
    const cert = sock.getPeerCertificate();
    if (this.revocations.isRevoked(cert.fingerprint256)) {
      this.log(`refused a link from ${sock.remoteAddress}: certificate ${cert.subject?.CN} is revoked`);
      sock.destroy();
      return;
    }
    const name = `in-${cert.subject?.CN ?? 'unknown'}-${++this.accepted}`;
    const link = new Link(this, name, false, 1);
    this.links.set(name, link);
    this.revocations.track(link, cert.fingerprint256);
    this.log(`link ${name}: accepted from ${sock.remoteAddress} (certificate ${cert.subject?.CN})`);
    link.attach(sock);
    sock.on('error', (e) => {
      link.lastError = e.message;
    });
    sock.on('close', () => {
      this.log(`link ${name}: closed`);
      this.links.delete(name);
      this.lastAdvertised.delete(link);
      this.revocations.untrack(link);
      link.detach();
    });
  }

  /** Dials a link of ours; when it closes, dials again after a backoff that doubles up to 1.6 s. */
  private dial(name: string): void {
    const d = this.dialled.get(name);
    if (!d || d.stop) return;
    let link = this.links.get(name);
    if (!link) {
      link = new Link(this, name, true, d.cfg.cost);
      this.links.set(name, link);
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
      if (up) this.log(`link ${name}: lost (${l.lastError || 'closed'})`);
      else if (l.lastError) this.log(`link ${name}: not established: ${l.lastError}`);
      if (attached) {
        this.lastAdvertised.delete(l);
        l.detach();
      }
      l.state = 'down';
      if (d.stop) return;
      const wait = d.backoff;
      d.backoff = Math.min(d.backoff * 2, BACKOFF_MAX_MS);
      d.timer = setTimeout(() => this.dial(name), wait);
    });
  }

  link(cfg: LinkConfig): void {
    if (this.dialled.has(cfg.name)) throw new Error(`link ${cfg.name} exists`);
    this.dialled.set(cfg.name, { cfg, stop: false, backoff: BACKOFF_MIN_MS });
    this.dial(cfg.name);
  }

  unlink(name: string): void {
    const d = this.dialled.get(name);
    if (!d) throw new Error(`no link ${name}`);
    d.stop = true;
    clearTimeout(d.timer);
    this.dialled.delete(name);
    this.links.get(name)?.sock?.destroy();
    this.links.delete(name);
  }

  /** Revokes a certificate this site's CA issued; returns how many links that used it were closed. */
  revoke(fingerprint: string): number {
    const using = this.revocations.revoke(fingerprint);
    for (const l of using) {
      this.log(`link ${l.name}: its certificate is revoked, closing`);
      l.sock?.destroy();
    }
    return using.length;
  }

  // ---- connectors (keys served here) and listeners (keys served elsewhere) ----

  expose(key: string, hosts: string[], port: number): void {
    this.connectors.set(key, { hosts, port, inflight: 0, next: 0 });
    this.routesChanged();
  }

  unexpose(key: string): void {
    this.connectors.delete(key);
    this.routesChanged();
  }

  listen(key: string, port: number): void {
    if (this.listeners.has(key)) return;
    const entry: Listener = { port, servers: [], accepted: 0 };
    for (const ip of this.opts.addresses) {
      // half-open: a client's FIN reaches the server as END, and the answer still comes back
      const server = createServer({ allowHalfOpen: true });
      server.on('connection', (sock: Socket) => {
        entry.accepted++;
        const end = new SockEnd(sock);
        if (!this.openStream(key, end, MAX_TTL)) sock.resetAndDestroy();
      });
      server.on('error', (e) => this.log(`listener ${key} on ${hostPort(ip, port)}: ${e.message}`));
      server.listen(port, ip);
      entry.servers.push(server);
    }
    this.listeners.set(key, entry);
  }

  unlisten(key: string): void {
    for (const server of this.listeners.get(key)?.servers ?? []) server.close();
    this.listeners.delete(key);
  }

  status(): Record<string, unknown> {
    return {
      site: this.site,
      ip: this.opts.addresses[0],
      addresses: this.opts.addresses,
      port: this.opts.linkPort,
      links: [...this.links.values()].map((l) => ({
        name: l.name,
        site: l.peerSite,
        state: l.state,
        cost: l.cost,
        dialer: l.dialer,
        connects: l.connects,
        // connections through the link now, and those of them whose sender waits for the
        // receiver's credit (a reader that does not read)
        streams: l.streams.size,
        stalled: [...l.streams.values()].filter((s) => s.stalled).length,
        routes: Object.fromEntries(l.routes),
        ...(l.lastError ? { error: l.lastError } : {}),
      })),
      connectors: Object.fromEntries(
        [...this.connectors].map(([k, c]) => [k, { hosts: c.hosts, port: c.port }]),
      ),
      listeners: Object.fromEntries(
        [...this.listeners].map(([k, l]) => [k, { port: l.port, accepted: l.accepted }]),
      ),
      reachable: reachable(this.connectors.keys(), this.links.values()),
    };
  }
}
