// kube-proxy (nftables mode) for one worker, inside the pod network agent's process: it lists
// and then watches Services and Endpoints in etcd, loads table `ip kube-proxy` (and, on a
// dual-stack cluster, `ip6 kube-proxy`) once in full and afterwards sends one small
// transaction per burst of changes, with only the changed services' chains and elements.
// Transactions go to the kernel as nf_tables netlink batches through a long-lived writer
// (proxy-writer.ts); the `nft` tool dumps every chain of the namespace before each one, which
// at 10,000 services costs more than the change. Above a number of services the services'
// dispatch is spread over shard tables (proxy-tables.ts): a count that crosses a boundary
// resyncs in full into the new layout.
import {
  ENDPOINTS_PREFIX,
  type EndpointsObject,
  type Family,
  HEADLESS,
  SERVICES_PREFIX,
  type ServiceObject,
  SPECS_PREFIX,
} from '../services/objects.js';
import type { EtcdHttp } from './etcd-http.js';
import { listPrefix, watchAfter } from './etcd-prefix.js';
import type { KeyValue } from './etcd-wire.js';
import { StatementMemo } from './nft-expr.js';
import {
  type Command,
  diffFragments,
  type Fragment,
  type ProxyContext,
  renderService,
} from './proxy-rules.js';
import { nextLayout } from './proxy-tables.js';
import { ProxyWriter } from './proxy-writer.js';

/** A service's objects, as its fragments were rendered from them. */
interface Rendered {
  svc: ServiceObject;
  eps?: EndpointsObject;
}

export class KubeProxy {
  private readonly services = new Map<string, ServiceObject>();
  private readonly endpoints = new Map<string, EndpointsObject>();
  /**
   * What the tables hold, by service: the objects its fragments were rendered from. A fragment is
   * rendered again from them when the service changes (rendering is pure): 10,000 services'
   * fragments are not kept, and a full sync renders and encodes one service at a time.
   */
  private readonly applied = new Map<string, Rendered>();
  private readonly dirty = new Set<string>();
  private flushing?: Promise<void>;
  /** the tables this worker keeps: ip, and ip6 on a dual-stack cluster */
  private readonly families: Family[];
  /** statements shared across this worker's services (rendering and encoding reuse them) */
  private readonly memo = new StatementMemo();
  /** where transactions go (netlink or nft), from start() on */
  private writer?: ProxyWriter;
  /** the context services are rendered in: the agent's, with the current layout (K shard tables, 0: one) */
  private rctx: ProxyContext;

  constructor(
    private readonly etcd: EtcdHttp,
    ctx: ProxyContext,
    private readonly log: (m: string) => void,
    /** false: every transaction through the nft tool (no netlink writer) */
    private readonly netlink = true,
  ) {
    this.families = ctx.clusterCidr6 ? [4, 6] : [4];
    this.rctx = { ...ctx, shards: 0 };
  }

  private get shards(): number {
    return this.rctx.shards ?? 0;
  }

  /** The layout for the services there are now; true when it differs from the one rendered. */
  private relayout(): boolean {
    const want = nextLayout(this.shards, this.services.size, this.rctx.sharding);
    if (want === this.shards) return false;
    this.rctx = { ...this.rctx, shards: want };
    return true;
  }

  /** Every table replaced by the applied services, in the current layout. */
  private writeFull() {
    return this.writer!.writeFull((fam) => this.fragments(fam), this.applied.size, this.shards);
  }

  private get layoutName(): string {
    return this.shards ? `${this.shards} shard tables` : 'one table';
  }

  /** `<ns>/<name>` of a Service or Endpoints key. */
  private static idOf(key: string): { kind: 'spec' | 'endpoints'; id: string } | undefined {
    if (key.startsWith(SPECS_PREFIX)) return { kind: 'spec', id: key.slice(SPECS_PREFIX.length) };
    if (key.startsWith(ENDPOINTS_PREFIX))
      return { kind: 'endpoints', id: key.slice(ENDPOINTS_PREFIX.length) };
    return undefined;
  }

  private take(kv: KeyValue): string | undefined {
    const k = KubeProxy.idOf(kv.key.toString());
    if (!k) return undefined;
    try {
      const obj = JSON.parse(kv.value.toString());
      if (k.kind === 'spec') this.services.set(k.id, obj as ServiceObject);
      else this.endpoints.set(k.id, obj as EndpointsObject);
    } catch {
      this.log(`ignoring ${kv.key.toString()}: not JSON`);
      return undefined;
    }
    return k.id;
  }

  /** A service's objects now (none: it is gone). */
  private current(id: string): Rendered | undefined {
    const svc = this.services.get(id);
    return svc && { svc, eps: this.endpoints.get(id) };
  }

  private render(r: Rendered | undefined, family: Family): Fragment | undefined {
    // a headless service has no ClusterIP: nothing for kube-proxy (cluster DNS answers its endpoints)
    if (!r || r.svc.spec.clusterIP === HEADLESS) return undefined;
    const f = renderService(r.svc, r.eps, this.rctx, family, this.memo);
    // a service without an address of this family has nothing in its table
    return f.elements.size ? f : undefined;
  }

  /** Every applied service's fragment in one family's table, rendered as it is read. */
  private *fragments(family: Family): Generator<Fragment> {
    for (const r of this.applied.values()) {
      const f = this.render(r, family);
      if (f) yield f;
    }
  }

  /** Full sync, then follow changes from the revision that sync saw. */
  async start(): Promise<void> {
    const writer = new ProxyWriter(this.families, this.log, this.netlink);
    this.writer = writer;
    const res = await listPrefix(this.etcd, SERVICES_PREFIX);
    for (const kv of res.kvs) this.take(kv);
    const t0 = performance.now();
    for (const id of this.services.keys()) this.applied.set(id, this.current(id)!);
    this.relayout();
    const w = await this.writeFull();
    this.log(
      `kube-proxy: full sync of ${this.services.size} services (${this.layoutName}) in ${(performance.now() - t0).toFixed(0)} ms (render and encode ${w.encodeMs.toFixed(0)} ms, kernel ${w.sendMs.toFixed(0)} ms via ${w.via})`,
    );
    await watchAfter(this.etcd, SERVICES_PREFIX, res.revision, {
      put: (kv) => {
        const id = this.take(kv);
        if (id) this.mark(id);
      },
      delete: (kv) => {
        const k = KubeProxy.idOf(kv.key.toString());
        if (!k) return;
        if (k.kind === 'spec') this.services.delete(k.id);
        else this.endpoints.delete(k.id);
        this.mark(k.id);
      },
      error: (err) => this.log(`kube-proxy watch: ${err.message}`),
    });
  }

  private mark(id: string): void {
    this.dirty.add(id);
    // changes that arrive together (a service and its endpoints) go in one transaction
    this.flushing ??= new Promise<void>((r) => setTimeout(r, 2)).then(() => this.flush());
  }

  private async flush(): Promise<void> {
    while (this.dirty.size) {
      const ids = [...this.dirty];
      this.dirty.clear();
      const t0 = performance.now();
      // the objects as rendered now: what arrives while the transaction is on its way is the
      // next one's (it marks its service again)
      const next = ids.map((id) => [id, this.current(id)] as const);
      const keep = () => {
        for (const [id, r] of next) {
          if (r) this.applied.set(id, r);
          else this.applied.delete(id);
        }
      };
      const from = this.layoutName;
      if (this.relayout()) {
        // the count crossed a boundary: every table rewritten in the new layout, the old
        // layout's tables removed in the same transaction
        keep();
        const w = await this.writeFull().catch((e: Error) => {
          this.log(`kube-proxy: full resync failed: ${e.message}`);
        });
        if (w)
          this.log(
            `kube-proxy: ${this.services.size} services: from ${from} to ${this.layoutName}, full resync in ${(performance.now() - t0).toFixed(0)} ms (kernel ${w.sendMs.toFixed(0)} ms via ${w.via})`,
          );
        continue;
      }
      const cmds: Command[] = [];
      for (const fam of this.families)
        for (const [id, r] of next)
          cmds.push(...diffFragments(this.render(this.applied.get(id), fam), this.render(r, fam), fam));
      try {
        const w = cmds.length ? await this.writer!.write(cmds) : { via: 'nothing', kernelMs: 0 };
        keep();
        this.log(
          `kube-proxy: updated ${ids.length} service${ids.length === 1 ? '' : 's'} (${ids.slice(0, 3).join(', ')}${ids.length > 3 ? ', ...' : ''}): ${cmds.length} commands in ${(performance.now() - t0).toFixed(1)} ms via ${w.via} (kernel ${w.kernelMs.toFixed(1)} ms)`,
        );
      } catch (err) {
        // the table may differ from what we think: start again from a full sync
        this.log(`kube-proxy: update failed (${(err as Error).message}): full resync`);
        keep();
        await this.writeFull().catch((e: Error) => this.log(`kube-proxy: full resync failed: ${e.message}`));
      }
    }
    this.flushing = undefined;
  }
}
