// The Skupper verbs of a cluster's live object (`C0.skupperLink(C1.skupperToken())` in the
// REPL and in scripts): added to Cluster by the multicluster feature when it is registered,
// so that k8s knows nothing of Skupper.
import { Cluster } from '../../k8s/cluster.js';
import { type ExposeOptions, encodeToken, type SkupperSite, type SkupperToken, siteOf } from './site.js';

declare module '../../k8s/cluster.js' {
  interface Cluster {
    /**
     * A token for one link to this cluster's site router (a client certificate from its site
     * CA); `family: 6`: the link dials the router's IPv6 address (runs over IPv6).
     */
    skupperToken(opts?: { cost?: number; family?: 4 | 6 }): Promise<string>;
    /** Links this cluster's site router to the token's site (mutual TLS over the underlay). */
    skupperLink(token: string | SkupperToken, opts?: { name?: string; cost?: number }): Promise<string>;
    /** Revokes a token this cluster's site issued: its link closes and stays refused. */
    skupperRevoke(token: string | SkupperToken): Promise<{ closed: number }>;
    skupperUnlink(name: string): Promise<void>;
    /** `C0.skupperExpose('svc1', {port: 80})`: other sites get a listener and a ClusterIP service svc1. */
    skupperExpose(name: string, opts: ExposeOptions): Promise<{ key: string; listenerPort: number }>;
    skupperUnexpose(name: string, opts?: { routingKey?: string }): Promise<void>;
    /** The site router's links, routes, connectors and listeners. */
    skupperStatus(): Promise<Record<string, unknown>>;
    /** The site object (waitLink, waitRoute, ...). */
    skupperSite(): Promise<SkupperSite>;
  }
}

/** Adds the Skupper verbs to every Cluster (idempotent). */
export function installSkupperMethods(): void {
  const methods: Pick<
    Cluster,
    | 'skupperToken'
    | 'skupperLink'
    | 'skupperRevoke'
    | 'skupperUnlink'
    | 'skupperExpose'
    | 'skupperUnexpose'
    | 'skupperStatus'
    | 'skupperSite'
  > &
    ThisType<Cluster> = {
    async skupperToken(opts = {}) {
      return encodeToken(await (await siteOf(this)).token(opts));
    },
    async skupperLink(token, opts = {}) {
      return (await siteOf(this)).link(token, opts);
    },
    async skupperRevoke(token) {
      return (await siteOf(this)).revoke(token);
    },
    async skupperUnlink(name) {
      await (await siteOf(this)).unlink(name);
    },
    async skupperExpose(name, opts) {
      return (await siteOf(this)).expose(name, opts);
    },
    async skupperUnexpose(name, opts = {}) {
      await (await siteOf(this)).unexpose(name, opts);
    },
    async skupperStatus() {
      return (await siteOf(this)).status();
    },
    skupperSite() {
      return siteOf(this);
    },
  };
  // non-enumerable, like class methods: the REPL's completion and inspection see the same object
  for (const [name, fn] of Object.entries(methods))
    Object.defineProperty(Cluster.prototype, name, { value: fn, writable: true, configurable: true });
}
