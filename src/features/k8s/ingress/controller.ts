// The ingress controller of a cluster, as ingress-nginx runs it: real nginx in pod
// ingress-nginx/ingress-nginx-controller (its master is the pod's command, so the PID netsim
// records and ends is nginx's own: `-g 'daemon off;'`; the pid file is there for
// `nginx -s reload`), behind the NodePort service ingress-nginx-controller on ports 80 and 443
// of every worker. The main process watches Ingresses, Services and Secrets in etcd, renders
// nginx.conf, checks it with `nginx -t` and reloads with `nginx -s reload`; a config nginx
// refuses, or an Ingress that cannot be served, leaves the previous config serving.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Watcher } from 'etcd3';
import { waitFor } from '../../../util/wait.js';
import { proxyTablesText } from '../agent/proxy-tables.js';
import type { ClusterCore } from '../cluster-core.js';
import type { PodRequest } from '../cluster-pods.js';
import { listPrefix, watchAfter } from '../etcd-list.js';
import { INGRESS_PREFIX } from '../manifests/ingress.js';
import { SECRETS_PREFIX, tlsPair } from '../manifests/secret.js';
import { ensureNamespace } from '../namespaces.js';
import type { PodNode } from '../pod.js';
import { createService } from '../services/api.js';
import { ENDPOINTS_PREFIX, SPECS_PREFIX, specKey } from '../services/objects.js';
import { serviceRangesOf } from '../services/schema.js';
import { readCluster } from './admit.js';
import { selfSigned } from './cert.js';
import { confPath, errorLogPath, pidPath, renderIngressConf } from './render.js';
import { buildRoutes, type RouteError, type Routes, servedClass } from './routes.js';

export const INGRESS_NAMESPACE = 'ingress-nginx';
export const CONTROLLER = 'ingress-nginx-controller';
export const CONTROLLER_LABELS = {
  'app.kubernetes.io/name': 'ingress-nginx',
  'app.kubernetes.io/component': 'controller',
};

/** What the controller needs of its cluster (the Cluster class has it). */
export interface IngressCluster extends ClusterCore {
  createPods(reqs: PodRequest[]): Promise<PodNode[]>;
  deletePod(name: string, namespace?: string): Promise<void>;
  deleteService(name: string, namespace?: string): Promise<void>;
}

export interface IngressStatus {
  running: boolean;
  pod?: string;
  /** the ingresses served, and those refused with why */
  served: string[];
  errors: RouteError[];
  /** the last config nginx refused (`nginx -t`), if the last change was refused */
  rejected?: string;
  reloads: number;
}

/** The nginx command line for an instance kept in `dir` (the pod's command). */
export function nginxArgs(dir: string): string[] {
  return ['-p', `${dir}/`, '-c', confPath(dir), '-e', errorLogPath(dir)];
}

export class IngressController {
  readonly dir: string;
  routes: Routes = { servers: [], errors: [], skipped: [] };
  private pod?: PodNode;
  private starting?: Promise<void>;
  private watchers: Watcher[] = [];
  private dirty = false;
  private running?: Promise<void>;
  private idle: (() => void)[] = [];
  private conf = '';
  private rejected?: string;
  private reloads = 0;
  private closed = false;

  constructor(readonly c: IngressCluster) {
    this.dir = join(c.sim.dir, 'ingress', c.name);
  }

  get controllerPod(): PodNode | undefined {
    return this.pod;
  }

  /** Watches Ingresses, Services and Secrets; starts nginx now (`always`) or with the first Ingress of its class. */
  async watch(always: boolean): Promise<void> {
    const { etcd } = this.c;
    // endpoints too: a headless backend is proxied to them (others go through the ClusterIP,
    // whose endpoints kube-proxy follows: their config does not change, nginx is not reloaded)
    for (const prefix of [INGRESS_PREFIX, SPECS_PREFIX, SECRETS_PREFIX, ENDPOINTS_PREFIX]) {
      const { revision } = await listPrefix(etcd, prefix, 1);
      const touch = () => this.kick();
      this.watchers.push(await watchAfter(etcd, prefix, revision, { put: touch, delete: touch }));
    }
    if (always) await this.start();
    this.kick();
    await this.settled();
  }

  /** The controller pod, its service and nginx (once). */
  start(): Promise<void> {
    this.starting ??= this.startOnce();
    return this.starting;
  }

  private async startOnce(): Promise<void> {
    const { c } = this;
    mkdirSync(join(this.dir, 'tmp'), { recursive: true });
    mkdirSync(join(this.dir, 'certs'), { recursive: true, mode: 0o700 });
    await selfSigned(c.sim.kernel, 'Kubernetes Ingress Controller Fake Certificate', this.fallback);
    this.conf = renderIngressConf(this.routes, this.paths(), `${c.name} ingress controller`);
    writeFileSync(confPath(this.dir), this.conf);
    await ensureNamespace(c.etcd, INGRESS_NAMESPACE);
    const worker = c.config.workers[0];
    const line = ['nginx', ...nginxArgs(this.dir), '-g', "'daemon off;'"].join(' ');
    [this.pod] = await c.createPods([
      { name: CONTROLLER, namespace: INGRESS_NAMESPACE, worker, labels: CONTROLLER_LABELS, command: line },
    ]);
    const key = specKey(INGRESS_NAMESPACE, CONTROLLER);
    if (!(await c.etcd.get(key).string())) {
      const svc = await createService(
        c.etcd,
        CONTROLLER,
        {
          namespace: INGRESS_NAMESPACE,
          type: 'NodePort',
          selector: CONTROLLER_LABELS,
          ports: [
            { name: 'http', port: 80, targetPort: 80, nodePort: 80 },
            { name: 'https', port: 443, targetPort: 443, nodePort: 443 },
          ],
        },
        serviceRangesOf(c.config),
      );
      c.endpointsController?.observe(key, svc);
      await c.endpointsController?.settled();
    }
    // nginx answers once its master has written the pid file
    await waitFor(() => existsSync(pidPath(this.dir)), {
      timeoutMs: 10000,
      what: `nginx in ${this.pod.name} (${errorLogPath(this.dir)})`,
    });
    // up once every worker's kube-proxy has the NodePort's endpoint: a DNAT to the nginx pod
    const dnat = `dnat to ${this.pod.ip}:80`;
    await Promise.all(
      c.workers.map((w) =>
        waitFor(
          async () => {
            // kube-proxy's tables: one, or the main one and its shards above a number of services
            const r = await c.sim.kernel.tool(w.ns, 'nft', ['list', 'ruleset', 'ip'], { check: false });
            return proxyTablesText(r.stdout).includes(dnat);
          },
          { timeoutMs: 30000, what: `kube-proxy on ${w.name} to send NodePort 80 to ${this.pod!.name}` },
        ).catch((err: Error) => this.log(err.message)),
      ),
    );
  }

  private get fallback() {
    return { crt: join(this.dir, 'certs', 'default.crt'), key: join(this.dir, 'certs', 'default.key') };
  }

  private paths() {
    const certOf = (secret: string) => {
      const base = join(this.dir, 'certs', secret.replace('/', '_'));
      return { crt: `${base}.crt`, key: `${base}.key` };
    };
    return { dir: this.dir, certOf, fallback: this.fallback };
  }

  private kick(): void {
    this.dirty = true;
    this.running ??= (async () => {
      while (this.dirty && !this.closed) {
        this.dirty = false;
        try {
          await this.sync();
        } catch (err) {
          // the next change tries again (a watch event, or refresh())
          this.rejected = `sync failed: ${(err as Error).message}`;
          this.log(this.rejected);
        }
      }
      this.running = undefined;
      for (const r of this.idle.splice(0)) r();
    })();
  }

  /** Reads the cluster again now (what was just written, before its watch event arrives), then settles. */
  refresh(): Promise<void> {
    this.kick();
    return this.settled();
  }

  /** Resolves once every change seen so far is rendered (and nginx reloaded if it changed). */
  settled(): Promise<void> {
    if (!this.running && !this.dirty) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private async sync(): Promise<void> {
    const { ingresses, services, secrets } = await readCluster(this.c.etcd);
    const routes = buildRoutes(
      ingresses.map((i) => ({ namespace: i.metadata.namespace, name: i.metadata.name, spec: i.spec })),
      services,
      new Set(secrets.keys()),
    );
    for (const e of routes.errors)
      if (!this.routes.errors.some((x) => x.ingress === e.ingress && x.message === e.message))
        this.log(`Ingress ${e.ingress} not served: ${e.message}`);
    if (!this.starting) {
      if (!ingresses.some((i) => servedClass(i.spec))) {
        this.routes = routes;
        return;
      }
      await this.start();
    }
    await this.starting;
    const paths = this.paths();
    for (const s of routes.servers) {
      const pair = s.tlsSecret ? secrets.get(s.tlsSecret) : undefined;
      const tls = pair && tlsPair(pair);
      if (!tls) continue;
      const files = paths.certOf(s.tlsSecret!);
      writeFileSync(files.crt, tls.crt);
      writeFileSync(files.key, tls.key, { mode: 0o600 });
    }
    const conf = renderIngressConf(routes, paths, `${this.c.name} ingress controller`);
    if (conf === this.conf) {
      this.routes = routes;
      this.rejected = undefined;
      return;
    }
    await this.reload(conf, routes);
  }

  /** `nginx -t` on the new config, then in place and `nginx -s reload`; refused: the old one stays. */
  private async reload(conf: string, routes: Routes): Promise<void> {
    const pod = this.pod!;
    const next = join(this.dir, 'nginx.conf.next');
    writeFileSync(next, conf);
    const k = this.c.sim.kernel;
    const test = await k.tool(pod.ns, 'nginx', ['-t', '-q', ...nginxArgs(this.dir).slice(0, 2), '-c', next], {
      check: false,
    });
    if (test.exitCode !== 0) {
      this.rejected = `nginx -t refused the new config (the previous one keeps serving): ${test.stderr.trim()}`;
      this.log(this.rejected);
      return;
    }
    const before = workersOf(this.masterPid());
    renameSync(next, confPath(this.dir));
    await k.tool(pod.ns, 'nginx', [...nginxArgs(this.dir), '-s', 'reload']);
    this.conf = conf;
    this.routes = routes;
    this.rejected = undefined;
    this.reloads++;
    // reloaded once the master runs a worker with the new config and the old ones no longer accept
    const accepting = (pid: number) => {
      try {
        return !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('shutting down');
      } catch {
        return false;
      }
    };
    await waitFor(
      () => {
        const now = workersOf(this.masterPid());
        return now.some((w) => !before.includes(w)) && !before.some((w) => now.includes(w) && accepting(w));
      },
      {
        timeoutMs: 5000,
        what: 'nginx to start workers with the new config',
      },
    ).catch(() => {});
  }

  private masterPid(): number | undefined {
    try {
      return Number(readFileSync(pidPath(this.dir), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  }

  private log(line: string): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(join(this.dir, 'controller.log'), `${new Date().toISOString()} ${line}\n`, { flag: 'a' });
  }

  status(): IngressStatus {
    const refused = new Set(this.routes.errors.map((e) => e.ingress));
    const served = new Set(
      this.routes.servers.flatMap((s) => s.locations.map((l) => l.ingress)).filter((i) => !refused.has(i)),
    );
    if (this.routes.defaultBackend) served.add(this.routes.defaultBackend.ingress);
    return {
      running: !!this.pod,
      ...(this.pod ? { pod: this.pod.name } : {}),
      served: [...served].sort(),
      errors: this.routes.errors,
      ...(this.rejected ? { rejected: this.rejected } : {}),
      reloads: this.reloads,
    };
  }

  /** Removes the controller's pod (nginx with it) and service; the next Ingress starts them again. */
  async stop(): Promise<void> {
    await this.settled();
    await this.starting?.catch(() => {});
    if (this.pod) await this.c.deletePod(CONTROLLER, INGRESS_NAMESPACE);
    if (await this.c.etcd.get(specKey(INGRESS_NAMESPACE, CONTROLLER)).string())
      await this.c.deleteService(CONTROLLER, INGRESS_NAMESPACE);
    this.pod = undefined;
    this.starting = undefined;
    this.conf = '';
    this.routes = { servers: [], errors: [], skipped: [] };
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers) void w.cancel().catch(() => {});
    this.watchers = [];
  }
}

/** The worker processes of an nginx master (its children). */
function workersOf(master: number | undefined): number[] {
  if (!master) return [];
  try {
    return readdirSync(`/proc/${master}/task`).flatMap((t) =>
      readFileSync(`/proc/${master}/task/${t}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number),
    );
  } catch {
    return [];
  }
}
