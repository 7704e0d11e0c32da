// The web view of a running simulation: an HTTP server in the simulation's own process (in
// the host namespace, never on a simulated link), on 127.0.0.1 by default. Binding any other
// address requires a token (generated unless given), as `?token=` or an
// `Authorization: Bearer` header.
//
//   GET /                  the page (cytoscape.js from the project's node_modules)
//   GET /api/topology      nodes, clusters, links with state and rate
//   GET /api/node/<name>   addresses, routes, FRR neighbours, pods of one node
//   GET /api/events        server-sent events: topology, link, stats, routes, down
//   GET /api/capture?node=&iface=&count=&seconds=   a pcap download (capture.ts)
//   GET /metrics           Prometheus text format
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../model/load.js';
import type { SimEvent } from '../../runtime/events.js';
import { ObjectKey } from '../../runtime/objects.js';
import type { Simulation } from '../../runtime/simulation.js';
import { type SimMetrics, simMetrics } from '../metrics/registry.js';
import { serveCapture } from './capture.js';
import { clusterDetails, EdgeMeter, nodeDetails, snapshot, type TopoSnapshot } from './snapshot.js';

export interface WebOptions {
  /** address to listen on (default 127.0.0.1) */
  bind?: string;
  /** port (default 0: any free port) */
  port?: number;
  /** required on every request when set; generated when binding anything but 127.0.0.1 */
  token?: string;
  /** how often the page gets counters and link states while it is open (ms, default 2000) */
  statsIntervalMs?: number;
}

const require = createRequire(import.meta.url);
const ASSETS = join(PROJECT_ROOT, 'src', 'surfaces', 'web', 'assets');
const STATIC: Record<string, { file: () => string; type: string }> = {
  '/': { file: () => join(ASSETS, 'index.html'), type: 'text/html; charset=utf-8' },
  '/app.js': { file: () => join(ASSETS, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: () => join(ASSETS, 'style.css'), type: 'text/css; charset=utf-8' },
  '/vendor/cytoscape.min.js': {
    file: () => require.resolve('cytoscape/dist/cytoscape.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
};

export const DEFAULT_BIND = '127.0.0.1';

/** The addresses that need no token: the IPv4 loopback default only. */
function needsToken(bind: string): boolean {
  return bind !== DEFAULT_BIND;
}

interface Client {
  res: ServerResponse;
}

export class WebServer {
  readonly metrics: SimMetrics;
  private readonly clients = new Set<Client>();
  private readonly meter = new EdgeMeter();
  private poller?: NodeJS.Timeout;
  private heartbeat?: NodeJS.Timeout;
  private topoTimer?: NodeJS.Timeout;
  private routeDigests = new Map<string, string>();
  private unsubscribe?: () => void;
  private closed = false;
  private polling = false;
  /** bumped by every link change: a reading begun before it is stale */
  private epoch = 0;
  url = '';

  private constructor(
    readonly sim: Simulation,
    readonly opts: Required<Pick<WebOptions, 'bind' | 'port' | 'statsIntervalMs'>> & { token?: string },
    private readonly server: Server,
  ) {
    this.metrics = simMetrics(sim);
  }

  get token(): string | undefined {
    return this.opts.token;
  }

  /** Starts the server; resolves once it listens. */
  static async start(sim: Simulation, opts: WebOptions = {}): Promise<WebServer> {
    const bind = opts.bind ?? DEFAULT_BIND;
    const token = opts.token ?? (needsToken(bind) ? randomBytes(18).toString('base64url') : undefined);
    const server = createServer();
    const web = new WebServer(
      sim,
      { bind, port: opts.port ?? 0, token, statsIntervalMs: opts.statsIntervalMs ?? 2000 },
      server,
    );
    server.on('request', (req, res) => {
      web.handle(req, res).catch((err) => {
        if (!res.headersSent) web.send(res, 500, 'text/plain', `${(err as Error).message}\n`);
        else res.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(web.opts.port, bind, () => resolve());
    });
    const addr = server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    web.url = `http://${host}:${addr.port}/${token ? `?token=${token}` : ''}`;
    web.unsubscribe = sim.events.on((e) => web.onSimEvent(e));
    return web;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    this.stopPolling();
    clearTimeout(this.topoTimer);
    for (const c of this.clients) c.res.end();
    this.clients.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private authorized(req: IncomingMessage, url: URL): boolean {
    const want = this.opts.token;
    if (!want) {
      // no token on 127.0.0.1: still refuse requests for other host names (DNS rebinding)
      const host = (req.headers.host ?? '').replace(/:\d+$/, '');
      return host === '127.0.0.1' || host === 'localhost';
    }
    const auth = req.headers.authorization;
    const given =
      url.searchParams.get('token') ??
      (auth?.startsWith('Bearer ') ? auth.slice(7) : undefined) ??
      (req.headers['x-netsim-token'] as string | undefined);
    if (!given) return false;
    const a = createHash('sha256').update(given).digest();
    const b = createHash('sha256').update(want).digest();
    return timingSafeEqual(a, b);
  }

  private send(res: ServerResponse, code: number, type: string, body: string | Buffer): void {
    res.writeHead(code, {
      'content-type': type,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(body);
  }

  private json(res: ServerResponse, value: unknown, code = 200): void {
    this.send(res, code, 'application/json; charset=utf-8', JSON.stringify(value));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!this.authorized(req, url)) {
      this.send(
        res,
        this.opts.token ? 401 : 403,
        'text/plain; charset=utf-8',
        this.opts.token
          ? 'netsim: this server needs its token: ?token=... or "Authorization: Bearer ..." (netsim web prints the URL)\n'
          : 'netsim: the web view answers only to http://127.0.0.1 or http://localhost\n',
      );
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      this.send(res, 405, 'text/plain', 'GET only\n');
      return;
    }
    const path = url.pathname;
    const asset = STATIC[path] ?? (path === '/index.html' ? STATIC['/'] : undefined);
    if (asset) return this.send(res, 200, asset.type, readFileSync(asset.file()));
    if (path === '/metrics') {
      const text = await this.metrics.text();
      return this.send(res, 200, this.metrics.contentType, text);
    }
    if (path === '/api/topology') return this.json(res, await this.topology());
    if (path.startsWith('/api/node/')) {
      const name = decodeURIComponent(path.slice('/api/node/'.length));
      if (name.startsWith('cluster:')) {
        const d = clusterDetails(this.sim, name.slice('cluster:'.length));
        return d ? this.json(res, d) : this.json(res, { error: `no cluster ${name}` }, 404);
      }
      if (!this.sim.nodes.has(name)) return this.json(res, { error: `no node "${name}"` }, 404);
      return this.json(res, await nodeDetails(this.sim, this.metrics.reader, name));
    }
    if (path === '/api/events') return this.openEvents(req, res);
    if (path === '/api/capture') return serveCapture(this.sim, url, req, res);
    if (path === '/favicon.ico') return this.send(res, 204, 'text/plain', '');
    if (path === '/healthz') return this.send(res, 200, 'text/plain', 'ok\n');
    this.send(res, 404, 'text/plain', 'not found\n');
  }

  /** The snapshot with link states and rates from a fresh reading of the counters. */
  private async topology(): Promise<TopoSnapshot> {
    const snap = snapshot(this.sim);
    const states = this.meter.measure(this.sim, snap.edges, await this.metrics.reader.netns.get());
    for (const e of snap.edges) {
      const s = states[e.id];
      if (s) {
        e.state = s.state;
        e.bps = s.bps;
      }
    }
    return snap;
  }

  // ---- server-sent events ----

  private openEvents(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write('retry: 1000\n\n');
    const client: Client = { res };
    this.clients.add(client);
    req.on('close', () => {
      this.clients.delete(client);
      if (this.clients.size === 0) this.stopPolling();
    });
    void this.topology().then(
      (snap) => this.push('topology', snap, client),
      () => {},
    );
    this.startPolling();
  }

  private push(event: string, data: unknown, only?: Client): void {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const c of only ? [only] : this.clients) c.res.write(text);
  }

  private onSimEvent(e: SimEvent): void {
    if (e.type === 'down') {
      this.push('down', { sim: this.sim.name });
      void this.close();
      return;
    }
    if (this.clients.size === 0) return;
    switch (e.type) {
      case 'link':
        this.epoch++;
        this.metrics.reader.netns.invalidate();
        // at once, from the event itself: the kernel has just been told
        this.push('link', { links: e.links.map((i) => ({ id: `l${i}`, state: e.state })), a: e.a, b: e.b });
        break;
      case 'trace':
        this.push('trace', {
          src: e.trace.src,
          dst: e.trace.dst,
          outcome: e.trace.outcome,
          summary: e.trace.summary,
          drop: e.trace.drop,
          hops: e.trace.hops.map((h) => ({
            node: h.node,
            in: h.in,
            out: h.out,
            steps: h.steps.map((x) => ({ kind: x.kind, text: x.text })),
          })),
        });
        break;
      case 'nodes':
      case 'workload':
        // pods come in batches: one new snapshot for a burst of changes
        clearTimeout(this.topoTimer);
        this.topoTimer = setTimeout(() => {
          void this.topology().then(
            (snap) => this.push('topology', snap),
            () => {},
          );
        }, 150);
        break;
    }
  }

  private startPolling(): void {
    if (this.poller) return;
    this.poller = setInterval(() => void this.poll(), this.opts.statsIntervalMs);
    this.heartbeat = setInterval(() => {
      for (const c of this.clients) c.res.write(': keep-alive\n\n');
    }, 15000);
  }

  private stopPolling(): void {
    clearInterval(this.poller);
    clearInterval(this.heartbeat);
    this.poller = undefined;
    this.heartbeat = undefined;
  }

  /** Counters and states of every link; the nodes whose routing table changed since last time. */
  private async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      const epoch = this.epoch;
      const stats = await this.metrics.reader.netns.get();
      // a link changed while we read: these states are older than what the page has
      if (epoch !== this.epoch) return;
      const snap = snapshot(this.sim);
      this.push('stats', { at: Date.now(), edges: this.meter.measure(this.sim, snap.edges, stats) });
      const changed: string[] = [];
      for (const n of this.sim.nodes.values()) {
        const s = stats.get(n.ns);
        if (!s) continue;
        const digest = JSON.stringify(s.routes);
        const before = this.routeDigests.get(n.name);
        if (before !== undefined && before !== digest) changed.push(n.name);
        this.routeDigests.set(n.name, digest);
      }
      if (changed.length) this.push('routes', { nodes: changed });
    } catch {
      /* a namespace went away mid-read: next time */
    } finally {
      this.polling = false;
    }
  }
}

/** The simulation's web server, once started (a holder: it is cleared when the simulation stops). */
const WEB = new ObjectKey<{ server?: WebServer }>('web server');

/** The simulation's web server: started on first call, the same one after that. */
export async function webServerOf(sim: Simulation, opts: WebOptions = {}): Promise<WebServer> {
  const holder = sim.objects.state(WEB, () => ({}) as { server?: WebServer });
  if (holder.server) return holder.server;
  const web = await WebServer.start(sim, opts);
  holder.server = web;
  sim.events.on((e) => {
    if (e.type === 'down') holder.server = undefined;
  });
  return web;
}

/** The running web server of a simulation, if any. */
export function runningWebServer(sim: Simulation): WebServer | undefined {
  return sim.objects.peek(WEB)?.server;
}
