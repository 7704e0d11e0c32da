// Skupper-style sites, main-process side: one site router per cluster (a child process in the
// cluster's first worker), its certificates, tokens, links and exposed services.
//
//   const token = await C0.skupperToken()        // C0's site CA issues a client certificate for one link
//   await C1.skupperLink(token)                   // C1's router dials C0's over mutual TLS
//   await C0.skupperExpose('svc1', {port: 80})    // a connector in C0; every other site gets a
//                                                 // listener (port 1028, 1029, ...) and a ClusterIP service svc1
//
// Certificates are made with the openssl CLI (files in the simulation's directory); the routers
// speak the framed protocol of protocol.ts to each other over the simulated network.
import { X509Certificate } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRunning, processStartTime } from '../../../kernel/proc.js';
import { ObjectKey } from '../../../runtime/objects.js';
import type { Simulation } from '../../../runtime/simulation.js';
import { hostPort } from '../../../util/hostport.js';
import { JsonLineError, type JsonObject, requestJsonLine } from '../../../util/jsonlines.js';
import { waitFor } from '../../../util/wait.js';
import type { Cluster } from '../../k8s/cluster.js';
import { type ServiceObject, specKey } from '../../k8s/services/objects.js';
import { settleServices } from '../../k8s/settle.js';
import type { WorkerNode } from '../../k8s/worker.js';
import { SiteCertificates } from './certificates.js';
import { RouterConfig } from './replay.js';
import { decodeToken, type SkupperToken } from './token.js';
import { waitLinkUp, waitRouteTo, waitStreamsAtMost } from './waits.js';

// the tokens' type and encoding live in token.ts (the router process needs them too)
export { decodeToken, encodeToken, type SkupperToken } from './token.js';

const here = dirname(fileURLToPath(import.meta.url));
export const ROUTER_MAIN = join(here, 'router.js');
export const LINK_PORT = 55671;
/** listener ports on the router worker, one per routing key, the same in every site (knetsim's 1028) */
export const FIRST_LISTENER_PORT = 1028;
/** how often the main process looks whether a site router still runs (to start it again) */
const WATCH_MS = 250;

export interface ExposeOptions {
  /** the service port (and the listeners' service port in the other sites) */
  port: number;
  /** where the connector sends connections: default the service's ClusterIP, or the pod's IP */
  host?: string;
  targetPort?: number;
  routingKey?: string;
}

interface KeyState {
  listenerPort: number;
  servicePort: number;
  name: string;
  exposedBy: Set<string>;
}

interface Registry {
  sites: Map<string, SkupperSite>;
  keys: Map<string, KeyState>;
}

const REGISTRY = new ObjectKey<Registry>('Skupper sites');

function registry(sim: Simulation): Registry {
  return sim.objects.state(REGISTRY, () => ({ sites: new Map(), keys: new Map() }));
}

/** The sites made so far (their routers started or starting). */
export function sitesOf(sim: Simulation): SkupperSite[] {
  return [...registry(sim).sites.values()];
}

/** The site of a cluster (made on first use; its router starts then). */
export async function siteOf(cluster: Cluster): Promise<SkupperSite> {
  const reg = registry(cluster.sim);
  let s = reg.sites.get(cluster.name);
  if (!s) {
    s = new SkupperSite(cluster, reg);
    reg.sites.set(cluster.name, s);
  }
  await s.start();
  return s;
}

export class SkupperSite {
  private started?: Promise<void>;
  private linkCount = 0;
  private pid?: { pid: number; start?: string };
  /** services this site made for listeners */
  private readonly madeServices = new Set<string>();
  private readonly certs: SiteCertificates;
  /** what the router was told, for a new one after it died */
  private readonly config = new RouterConfig();
  private watch?: NodeJS.Timeout;
  private restarting = false;
  /** times the router died and was started again */
  restarts = 0;

  constructor(
    readonly cluster: Cluster,
    private readonly reg: Registry,
  ) {
    this.certs = new SiteCertificates(cluster.sim.kernel, this.dir);
  }

  get name(): string {
    return this.cluster.name;
  }
  get worker(): WorkerNode {
    return this.cluster.workers[0];
  }
  /** the router worker's IPv4 address (undefined on an IPv6-only underlay) */
  get ip(): string | undefined {
    return this.worker.ip;
  }
  /** its IPv6 address (undefined on an IPv4-only underlay) */
  get ip6(): string | undefined {
    return this.worker.ip6;
  }
  /** where links and listeners are: the IPv4 address first, as before; both on a dual-stack underlay */
  get addresses(): string[] {
    return [this.ip, this.ip6].filter((a): a is string => !!a);
  }
  get dir(): string {
    return join(this.cluster.sim.dir, 'skupper', this.name);
  }
  get controlPath(): string {
    return join(this.dir, 'router.sock');
  }
  get log(): string {
    return join(this.dir, 'router.log');
  }

  start(): Promise<void> {
    this.started ??= this.doStart();
    this.started.catch(() => {
      this.started = undefined;
    });
    return this.started;
  }

  private async doStart(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    await this.certs.ensureAuthority(this.name, this.addresses);
    await this.spawnRouter();
    // listeners for what other sites already expose
    for (const [key, k] of this.reg.keys) await this.addListener(key, k);
    this.supervise();
  }

  private async spawnRouter(): Promise<void> {
    const w = this.worker;
    const pid = this.cluster.sim.kernel.spawnDaemon({
      ns: w.ns,
      cmd: process.execPath,
      args: [
        '--max-semi-space-size=16',
        ROUTER_MAIN,
        `--site=${this.name}`,
        ...(this.ip ? [`--ip=${this.ip}`] : []),
        ...(this.ip6 ? [`--ip6=${this.ip6}`] : []),
        `--port=${LINK_PORT}`,
        `--dir=${this.dir}`,
        `--control=${this.controlPath}`,
      ],
      logFile: this.log,
    });
    this.pid = { pid, start: processStartTime(pid) };
    await waitFor(
      async () =>
        existsSync(this.controlPath) && (await this.request({ op: 'status' }).catch(() => undefined)),
      { timeoutMs: 5000, intervalMs: 25 },
    ).catch(() => {
      throw new Error(`${this.name}: the site router did not start:\n${this.tail()}`);
    });
  }

  /** The router is running now (the process this site started, not a recycled PID). */
  get running(): boolean {
    return this.pid !== undefined && isRunning(this.pid.pid, this.pid.start);
  }

  /** Kills the router by its PID (SIGKILL: a crash); the site starts it again within WATCH_MS. */
  killRouter(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.pid || !this.running) throw new Error(`${this.name}: the site router is not running`);
    process.kill(this.pid.pid, signal);
  }

  /**
   * Starts the router again when it dies (as Kubernetes restarts the router's pod) and tells
   * it what the old one had been told; stops when the simulation goes down.
   */
  private supervise(): void {
    if (this.watch) return;
    this.watch = setInterval(() => {
      if (this.running || this.restarting) return;
      this.restarting = true;
      this.restart()
        .catch((err: Error) => appendFileSync(this.log, `restart failed: ${err.message}\n`))
        .finally(() => {
          this.restarting = false;
        });
    }, WATCH_MS);
    this.watch.unref();
    const off = this.cluster.sim.events.on((e) => {
      if (e.type !== 'down') return;
      clearInterval(this.watch);
      off();
    });
  }

  private async restart(): Promise<void> {
    appendFileSync(
      this.log,
      `${new Date().toISOString()} ${this.name}: the site router (pid ${this.pid?.pid}) is gone: starting it again\n`,
    );
    await this.spawnRouter();
    for (const req of this.config.requests()) await this.request(req);
    this.restarts++;
  }

  tail(lines = 10): string {
    if (!existsSync(this.log)) return '  (no router log)';
    return readFileSync(this.log, 'utf8').trim().split('\n').slice(-lines).join('\n');
  }

  /** One JSON request to the router over its control socket (a file: no simulated network). */
  request(req: JsonObject, timeoutMs = 5000): Promise<JsonObject> {
    return requestJsonLine(this.controlPath, req, timeoutMs).then(
      (reply) => {
        this.config.record(req);
        return reply;
      },
      (err: unknown) => {
        if (!(err instanceof JsonLineError) || err.failure === 'connection') throw err;
        if (err.failure === 'refused') throw new Error(`${this.name}: ${err.message}`);
        if (err.failure === 'timeout') throw new Error(`${this.name}: the site router did not answer`);
        throw new Error(`${this.name}: no answer from the site router`);
      },
    );
  }

  /**
   * Issues a token for one link: a client certificate signed by this site's CA, and the address
   * to dial — the router's IPv4 address, or with `family: 6` (or on an IPv6-only underlay) its
   * IPv6 one, so that the link runs over IPv6.
   */
  async token(opts: { cost?: number; family?: 4 | 6 } = {}): Promise<SkupperToken> {
    const host = opts.family === 6 ? this.ip6 : opts.family === 4 ? this.ip : this.addresses[0];
    if (!host)
      throw new Error(`${this.name}: the router's worker has no IPv${opts.family} address on the underlay`);
    const n = ++this.linkCount;
    const issued = await this.certs.issueClient(`link-${n}`, `link-${this.name}-${n}`);
    return { site: this.name, host, port: LINK_PORT, cost: opts.cost ?? 1, ...issued };
  }

  /** Links this site to the token's site (this router dials; the link carries both ways). */
  async link(token: string | SkupperToken, opts: { name?: string; cost?: number } = {}): Promise<string> {
    const t = decodeToken(token);
    if (t.site === this.name) throw new Error(`${this.name}: a site cannot link to itself`);
    const name = opts.name ?? `to-${t.site}`;
    await this.request({ op: 'link', name, ...t, cost: opts.cost ?? t.cost });
    return name;
  }

  /**
   * Revokes a token this site issued (Skupper: deleting the AccessGrant's link): the link that
   * uses its certificate is closed and the certificate is refused from now on.
   */
  async revoke(token: string | SkupperToken): Promise<{ closed: number }> {
    const t = decodeToken(token);
    if (t.site !== this.name) throw new Error(`${this.name}: this token was issued by ${t.site}`);
    const fingerprint = new X509Certificate(t.cert).fingerprint256;
    return (await this.request({ op: 'revoke', fingerprint })) as { closed: number };
  }

  async unlink(name: string): Promise<void> {
    const links = ((await this.status()) as { links: { name: string }[] }).links.map((l) => l.name);
    await this.request({ op: 'unlink', name: links.includes(name) ? name : `to-${name}` });
  }

  /** Waits until a link of this site is up (to a site, or any). */
  waitLink(site?: string, timeoutMs = 10000): Promise<void> {
    return waitLinkUp(this, site, timeoutMs);
  }

  /** Waits until this site has a route to a routing key. */
  waitRoute(key: string, timeoutMs = 10000): Promise<void> {
    return waitRouteTo(this, key, timeoutMs);
  }

  /** Waits until no link of this site carries more than `most` streams (0: none left behind). */
  waitStreams(most = 0, timeoutMs = 10000): Promise<void> {
    return waitStreamsAtMost(this, most, timeoutMs);
  }

  /** the router process's id (undefined before it starts) */
  get routerPid(): number | undefined {
    return this.pid?.pid;
  }

  status(): Promise<JsonObject> {
    return this.request({ op: 'status' });
  }

  /** A connector for `name` here, and a listener plus a ClusterIP service in every other site. */
  async expose(name: string, opts: ExposeOptions): Promise<{ key: string; listenerPort: number }> {
    if (!opts || typeof opts.port !== 'number') throw new Error(`skupperExpose("${name}"): give {port}`);
    const key = opts.routingKey ?? name;
    let hosts = opts.host ? [opts.host] : [];
    let port = opts.targetPort ?? opts.port;
    if (hosts.length === 0) {
      // a service: its ClusterIP, so kube-proxy in the router's worker picks among the endpoints
      // as they are at each connection (pods added or replaced after the expose count); a
      // headless service: its endpoints now
      const raw = this.madeServices.has(name)
        ? undefined
        : await this.cluster.etcd.get(specKey('default', name)).string();
      const pod = this.cluster.localPods().find((p) => p.name === name);
      if (raw) {
        const svc = JSON.parse(raw) as ServiceObject;
        const sp = svc.spec.ports.find((p) => p.port === opts.port) ?? svc.spec.ports[0];
        if (svc.spec.clusterIP && svc.spec.clusterIP !== 'None' && opts.targetPort === undefined) {
          hosts = [svc.spec.clusterIP];
          port = sp.port;
        } else {
          port = opts.targetPort ?? sp.targetPort;
          const view = (await this.cluster.services()).find(
            (s) => s.name === name && s.namespace === 'default',
          );
          hosts = (view?.endpoints ?? []).map((e) => e.split(' ')[0]);
          if (hosts.length === 0) throw new Error(`skupperExpose("${name}"): the service has no endpoints`);
        }
      } else if (pod) hosts = [pod.ip!];
      else
        throw new Error(
          `skupperExpose("${name}"): ${this.name} has no service or pod "${name}" (or give {host})`,
        );
    }
    let k = this.reg.keys.get(key);
    if (!k) {
      const used = new Set([...this.reg.keys.values()].map((x) => x.listenerPort));
      let p = FIRST_LISTENER_PORT;
      while (used.has(p)) p++;
      k = { listenerPort: p, servicePort: opts.port, name, exposedBy: new Set() };
      this.reg.keys.set(key, k);
    }
    k.exposedBy.add(this.name);
    await this.request({ op: 'expose', key, hosts, port });
    for (const s of this.reg.sites.values()) if (s !== this) await s.addListener(key, k);
    // the other sites' Services are written to etcd; a client may use them as soon as this
    // returns, so wait until every worker's kube-proxy has them (a loaded machine took >1 s)
    // and every cluster's DNS answers their names (a client may resolve one at once)
    await settleServices(this.cluster.sim, 10000);
    return { key, listenerPort: k.listenerPort };
  }

  /** Removes this site's connector; when no site exposes the key any more, the listeners and services go. */
  async unexpose(name: string, opts: { routingKey?: string } = {}): Promise<void> {
    const key = opts.routingKey ?? name;
    const k = this.reg.keys.get(key);
    if (!k?.exposedBy.has(this.name)) throw new Error(`${this.name} does not expose "${key}"`);
    await this.request({ op: 'unexpose', key });
    k.exposedBy.delete(this.name);
    if (k.exposedBy.size > 0) return;
    this.reg.keys.delete(key);
    for (const s of this.reg.sites.values()) await s.removeListener(key, k);
  }

  private async addListener(key: string, k: KeyState): Promise<void> {
    await this.request({ op: 'listen', key, port: k.listenerPort });
    const exists = (await this.cluster.services()).some(
      (s) => s.name === k.name && s.namespace === 'default',
    );
    if (exists) return;
    // the service's endpoint: the router's IPv4 address (the listeners are on its IPv6 one too)
    await this.cluster.addAddressService(
      k.name,
      [{ port: k.servicePort, targetPort: k.listenerPort }],
      this.addresses.slice(0, 1),
    );
    this.madeServices.add(k.name);
  }

  private async removeListener(key: string, k: KeyState): Promise<void> {
    await this.request({ op: 'unlisten', key });
    if (this.madeServices.delete(k.name)) await this.cluster.deleteService(k.name);
  }

  toString(): string {
    return `<skupper site ${this.name}: router in ${this.worker.name} ${this.addresses.map((a) => hostPort(a, LINK_PORT)).join(' ')}, pid ${this.pid?.pid}>`;
  }
}
