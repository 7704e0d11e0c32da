// The agents' list-then-watch of a key prefix (the etcd3 version for the main process is
// ../etcd-list.ts): listed in pages of 500 keys (one gateway answer stays small), all at the
// revision of the first page, then followed from just after that revision, so that nothing
// written in between is missed.
import type { EtcdHttp } from './etcd-http.js';
import type { WatchHandlers, WatchStream } from './etcd-watch.js';
import { type KeyValue, prefixEnd } from './etcd-wire.js';

export async function listPrefix(
  etcd: EtcdHttp,
  prefix: string,
  pageSize = 500,
): Promise<{ kvs: KeyValue[]; revision: string }> {
  const end = prefixEnd(prefix);
  const kvs: KeyValue[] = [];
  let start: Buffer = Buffer.from(prefix);
  let revision: string | undefined;
  for (;;) {
    const res = await etcd.range({ key: start, rangeEnd: end, limit: pageSize, revision });
    revision ??= res.revision;
    kvs.push(...res.kvs);
    if (!res.more || res.kvs.length === 0) return { kvs, revision };
    // the next page starts just after the last key
    start = Buffer.concat([res.kvs[res.kvs.length - 1].key, Buffer.from([0])]);
  }
}

/** Follows a prefix from just after `revision` (the revision a `listPrefix` read at); resolves once etcd confirmed the watch. */
export async function watchAfter(
  etcd: EtcdHttp,
  prefix: string,
  revision: string,
  on: WatchHandlers,
): Promise<WatchStream> {
  const w = etcd.watch(prefix, prefixEnd(prefix), String(BigInt(revision) + 1n), on);
  await w.created;
  return w;
}
