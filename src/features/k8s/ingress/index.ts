// The ingress part of the k8s feature, plugged in from k8s/plugin.ts: the controller per
// cluster (started with the cluster's last worker, closed with etcd), the methods of the live
// objects (`C0.ingressStatus()`, `C0.ingressCert(host)`, `C0w1.run_ingress(...)`) and the REPL
// verbs `ingress [CLUSTER]` and `ingress-cert CLUSTER HOST [SECRET [NAMESPACE]]`.

import { ObjectKey } from '../../../runtime/objects.js';
import type { Io, Verb } from '../../../runtime/plugin.js';
import type { Simulation } from '../../../runtime/simulation.js';
import { Cluster, clustersOf } from '../cluster.js';
import { WorkerNode } from '../worker.js';
import { type GeneratedCert, generateTlsSecret } from './cert.js';
import { IngressController, type IngressStatus } from './controller.js';
import { type KnetsimIngress, type KnetsimRoute, runIngress } from './knetsim.js';
import { pickLocation } from './routes.js';

declare module '../cluster.js' {
  interface Cluster {
    /** The ingress controller: pod, the Ingresses served and refused (with why), reloads. */
    ingressStatus(): Promise<IngressStatus>;
    /** Starts the ingress controller now (it starts by itself with the first Ingress). */
    startIngress(): Promise<IngressStatus>;
    /** Removes the controller's pod and service (the next Ingress starts it again). */
    stopIngress(): Promise<IngressStatus>;
    /** Resolves once nginx serves every change seen so far. */
    ingressSettled(): Promise<void>;
    /** A self-signed certificate for `host`, stored as a kubernetes.io/tls Secret (default `<host>-tls`). */
    ingressCert(host: string, opts?: { secret?: string; namespace?: string }): Promise<GeneratedCert>;
    /** Which Ingress, service and ClusterIP nginx picks for a host and path. */
    ingressRoute(host: string, path: string): { ingress?: string; service?: string; address?: string };
  }
}
declare module '../worker.js' {
  interface WorkerNode {
    /** knetsim's `C0w1.run_ingress('ing1', 8001, [{path: '/svc1', endpoint: '100.64.11.1'}])` */
    run_ingress(name: string, port: number, routes: KnetsimRoute[]): Promise<KnetsimIngress>;
    runIngress(name: string, port: number, routes: KnetsimRoute[]): Promise<KnetsimIngress>;
  }
}

/** Per simulation: each cluster's controller, by cluster name. */
const CONTROLLERS = new ObjectKey<Map<string, IngressController>>('ingress-controllers');
const controllers = (sim: Simulation) => sim.objects.state(CONTROLLERS, () => new Map());

export function ingressControllerOf(sim: Simulation, cluster: string): IngressController | undefined {
  return controllers(sim).get(cluster);
}

function controller(c: Cluster): IngressController {
  const ctl = ingressControllerOf(c.sim, c.name);
  if (!ctl)
    throw new Error(
      c.config.ingress === false
        ? `${c.name} has no ingress controller (ingress: false)`
        : `${c.name}'s ingress controller is not up yet`,
    );
  return ctl;
}

/** From the cluster's last worker, once its manifests are applied (not with `ingress: false`). */
export async function startIngress(c: Cluster): Promise<void> {
  if (c.config.ingress === false || ingressControllerOf(c.sim, c.name)) return;
  const ctl = new IngressController(c);
  controllers(c.sim).set(c.name, ctl);
  await ctl.watch(c.config.ingress === true);
}

export function stopIngress(c: Cluster): void {
  ingressControllerOf(c.sim, c.name)?.close();
}

/** Adds the ingress methods to every Cluster and WorkerNode (idempotent). */
export function installIngressMethods(): void {
  const cluster: Pick<
    Cluster,
    'ingressStatus' | 'startIngress' | 'stopIngress' | 'ingressSettled' | 'ingressCert' | 'ingressRoute'
  > &
    ThisType<Cluster> = {
    async ingressStatus() {
      await controller(this).refresh();
      return controller(this).status();
    },
    async startIngress() {
      await controller(this).start();
      await controller(this).refresh();
      return controller(this).status();
    },
    async stopIngress() {
      await controller(this).stop();
      return controller(this).status();
    },
    ingressSettled() {
      return controller(this).refresh();
    },
    async ingressCert(host, opts) {
      const cert = await generateTlsSecret(this, host, opts);
      await ingressControllerOf(this.sim, this.name)?.refresh();
      return cert;
    },
    ingressRoute(host, path) {
      const { loc } = pickLocation(controller(this).routes, host, path);
      const b = loc?.backend ?? controller(this).routes.defaultBackend;
      return b
        ? {
            ingress: loc?.ingress ?? controller(this).routes.defaultBackend?.ingress,
            service: b.service,
            address: b.address,
          }
        : {};
    },
  };
  for (const [name, fn] of Object.entries(cluster))
    Object.defineProperty(Cluster.prototype, name, { value: fn, writable: true, configurable: true });
  const run = function (this: WorkerNode, name: string, port: number, routes: KnetsimRoute[]) {
    return runIngress(this, name, port, routes);
  };
  for (const name of ['run_ingress', 'runIngress'])
    Object.defineProperty(WorkerNode.prototype, name, { value: run, writable: true, configurable: true });
}

function pick(sim: Simulation, name: string | undefined): Cluster {
  const all = clustersOf(sim);
  const c = name ? all.find((x) => x.name === name) : all[0];
  if (!c)
    throw new Error(`no cluster "${name ?? ''}" (clusters: ${all.map((x) => x.name).join(', ') || 'none'})`);
  return c;
}

export function ingressVerbs(sim: Simulation, io: Io): Verb[] {
  return [
    {
      names: ['ingress'],
      usage: 'ingress [CLUSTER]',
      help: 'the ingress controller (nginx): its pod, the Ingresses served, those refused and why',
      async run(args) {
        const c = pick(sim, args[0]);
        const s = await c.ingressStatus();
        io.out(
          `${c.name} ingress controller: ${s.running ? `nginx in pod ${s.pod}` : 'not started (no Ingress yet)'}, ${s.reloads} reloads\n`,
        );
        io.out(`  served: ${s.served.join(', ') || 'none'}\n`);
        for (const e of s.errors)
          io.out(`  refused: Ingress ${e.ingress}: ${e.path.join('.')}: ${e.message}\n`);
        if (s.rejected) io.out(`  ${s.rejected}\n`);
        return s.errors.length ? 1 : 0;
      },
    },
    {
      names: ['ingress-cert'],
      usage: 'ingress-cert CLUSTER HOST [SECRET [NAMESPACE]]',
      help: 'a self-signed certificate for HOST, stored as a kubernetes.io/tls Secret (prints the CA file for curl --cacert)',
      async run(args) {
        if (args.length < 2) throw new Error('usage: ingress-cert CLUSTER HOST [SECRET [NAMESPACE]]');
        const cert = await pick(sim, args[0]).ingressCert(args[1], {
          ...(args[2] ? { secret: args[2] } : {}),
          ...(args[3] ? { namespace: args[3] } : {}),
        });
        io.out(`secret/${cert.secret.split('/')[1]} (${cert.secret}) created; CA: ${cert.crt}\n`);
        return 0;
      },
    },
  ];
}
