// The agents' etcd client: etcd's v3 API over HTTP/1.1 and JSON (the grpc-gateway every member
// serves on its client port: POST /v3/kv/range, /v3/kv/put, /v3/lease/grant, /v3/watch, ...;
// keys and values in base64, 64-bit integers as decimal strings). The etcd3 package (gRPC and
// protobufjs) cost each agent ~150 ms of CPU and ~11 MB of memory to load; this is the subset
// the agents use, on node:http alone. The main netsim process keeps etcd3.
//
// Failover, as etcd's Go client (and kube-apiserver) does it:
//  - every request carries etcd's `hasleader` metadata (the gateway passes `Grpc-Metadata-*`
//    headers on as gRPC metadata): a member that has lost its leader (the wrong side of a
//    partition) refuses it at once (503, "no leader") instead of answering stale data or
//    hanging, and closes a watch after a few election timeouts without one;
//  - a member that does not answer at all (a link cut on the way: TCP sees no error) is found
//    by a probe every KEEPALIVE_MS, answered within KEEPALIVE_TIMEOUT_MS, while watches sit on it;
//  - a request that fails for want of a member (connection error, timeout, 5xx) goes to the
//    next member, and a watch is opened again on the next member from the revision after the
//    last one it delivered (etcd-watch.ts).
import { Agent } from 'node:http';
import { EtcdLease } from './etcd-lease.js';
import { type WatchHandlers, WatchStream } from './etcd-watch.js';
import {
  b64,
  type Compare,
  EtcdError,
  type Header,
  KEEPALIVE_MS,
  KEEPALIVE_TIMEOUT_MS,
  type KeyValue,
  kvOf,
  type Members,
  type PutOp,
  post,
  prefixEnd,
  type RawKv,
} from './etcd-wire.js';

export type { Compare, KeyValue, PutOp } from './etcd-wire.js';

export class EtcdHttp implements Members {
  readonly agent = new Agent({ keepAlive: true, maxFreeSockets: 8 });
  /** the member requests go to first; moves on when one fails */
  private current: number;
  private readonly streams = new Set<WatchStream>();
  private probeTimer?: NodeJS.Timeout;

  constructor(readonly endpoints: string[]) {
    if (endpoints.length === 0) throw new Error('no etcd endpoint');
    this.current = Math.floor(Math.random() * endpoints.length);
  }

  /** The member to use now. */
  endpoint(): string {
    return this.endpoints[this.current];
  }

  /** `url` failed: the next request goes to the next member (unless another failure moved on already). */
  failed(url: string): void {
    if (this.endpoints[this.current] === url) this.current = (this.current + 1) % this.endpoints.length;
  }

  /** A request to the current member, then to each other one while members fail (not on a refusal). */
  async call<T>(path: string, body: unknown, timeoutMs?: number): Promise<T> {
    let last: unknown;
    for (let i = 0; i < this.endpoints.length; i++) {
      const url = this.endpoint();
      try {
        return await post<T>(this.agent, url, path, body, timeoutMs);
      } catch (err) {
        if (err instanceof EtcdError && err.status < 500) throw err;
        last = err;
        this.failed(url);
      }
    }
    throw last;
  }

  /** Keys in [key, rangeEnd) (just `key` without an end), at `revision` if given. */
  async range(q: {
    key: string | Buffer;
    rangeEnd?: Buffer;
    limit?: number;
    revision?: string;
  }): Promise<{ kvs: KeyValue[]; more: boolean; revision: string }> {
    const res = await this.call<Header & { kvs?: RawKv[]; more?: boolean }>('/v3/kv/range', {
      key: b64(q.key),
      ...(q.rangeEnd ? { range_end: b64(q.rangeEnd) } : {}),
      ...(q.limit ? { limit: q.limit } : {}),
      ...(q.revision ? { revision: q.revision } : {}),
    });
    return { kvs: (res.kvs ?? []).map(kvOf), more: res.more ?? false, revision: res.header?.revision ?? '0' };
  }

  /** One key's value as a string, null when it does not exist. */
  async get(key: string): Promise<string | null> {
    const { kvs } = await this.range({ key });
    return kvs.length ? kvs[0].value.toString() : null;
  }

  /** Every key under `prefix` and the revision read at (in one response). */
  async getPrefix(prefix: string): Promise<{ kvs: KeyValue[]; revision: string }> {
    return this.range({ key: prefix, rangeEnd: prefixEnd(prefix) });
  }

  async put(key: string, value: string, lease?: string): Promise<void> {
    await this.call('/v3/kv/put', putBody({ key, value, lease }));
  }

  /** Deletes one key; how many were deleted (0 or 1). */
  async delete(key: string): Promise<number> {
    const res = await this.call<{ deleted?: string }>('/v3/kv/deleterange', { key: b64(key) });
    return Number(res.deleted ?? 0);
  }

  /** If every comparison holds, the puts of `success`, else those of `failure`: whether they held. */
  async txn(compare: Compare[], success: PutOp[], failure: PutOp[] = []): Promise<boolean> {
    const field = { CREATE: 'create_revision', MOD: 'mod_revision', VERSION: 'version', VALUE: 'value' };
    const res = await this.call<{ succeeded?: boolean }>('/v3/kv/txn', {
      compare: compare.map((c) => ({
        key: b64(c.key),
        target: c.target,
        result: c.result,
        [field[c.target]]: c.target === 'VALUE' ? b64(String(c.value)) : String(c.value),
      })),
      success: success.map((p) => ({ request_put: putBody(p) })),
      failure: failure.map((p) => ({ request_put: putBody(p) })),
    });
    return res.succeeded === true;
  }

  /** A new lease of `ttl` seconds: its ID. */
  async leaseGrant(ttl: number): Promise<string> {
    const res = await this.call<{ ID?: string; error?: string }>('/v3/lease/grant', { TTL: ttl, ID: 0 });
    if (!res.ID || res.error) throw new EtcdError(`lease grant: ${res.error ?? 'no ID'}`, 200);
    return res.ID;
  }

  async leaseRevoke(id: string): Promise<void> {
    await this.call('/v3/lease/revoke', { ID: id });
  }

  /** Renews a lease once: its remaining TTL in seconds (0: it has expired or was revoked). */
  async leaseKeepAlive(id: string, timeoutMs?: number): Promise<number> {
    const res = await this.call<{ result?: { TTL?: string }; error?: { message?: string } }>(
      '/v3/lease/keepalive',
      { ID: id },
      timeoutMs,
    );
    if (res.error) throw new EtcdError(`lease keepalive: ${res.error.message}`, 503);
    return Number(res.result?.TTL ?? 0);
  }

  /** A lease kept alive until lost or closed (etcd3's `lease(ttl)`): 'lost' when it is gone. */
  lease(ttl: number): EtcdLease {
    return new EtcdLease(this, ttl);
  }

  /** Follows [key, rangeEnd) from `startRevision`, across members, until closed. */
  watch(key: string, rangeEnd: Buffer, startRevision: string, on: WatchHandlers): WatchStream {
    const w = new WatchStream(this, key, rangeEnd, startRevision, on, () => this.streams.delete(w));
    this.streams.add(w);
    this.probeTimer ??= setInterval(() => void this.probe(), KEEPALIVE_MS).unref();
    return w;
  }

  /** Each member a watch is open on must answer a small request in time, or its watches move on. */
  private async probe(): Promise<void> {
    const on = new Set([...this.streams].map((s) => s.member).filter((m) => m !== undefined));
    await Promise.all(
      [...on].map(async (url) => {
        const ok = await post(this.agent, url, '/v3/maintenance/status', {}, KEEPALIVE_TIMEOUT_MS).then(
          () => true,
          () => false,
        );
        if (ok) return;
        this.failed(url);
        for (const s of this.streams) if (s.member === url) s.reconnect(new Error(`${url} did not answer`));
      }),
    );
  }

  /** Ends every watch and the keep-alive connections. */
  close(): void {
    for (const s of [...this.streams]) s.close();
    clearInterval(this.probeTimer);
    this.agent.destroy();
  }
}

function putBody(p: PutOp): Record<string, string> {
  return { key: b64(p.key), value: b64(p.value), ...(p.lease ? { lease: p.lease } : {}) };
}
