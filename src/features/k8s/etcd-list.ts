// Listing a key prefix in pages: one etcd response is capped by gRPC at 4 MB (10,000 services
// and their endpoints are more), so a list is read 500 keys at a time, all at the revision of
// the first page, and a watch started after that revision misses nothing.
import { createRequire } from 'node:module';
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';

/** etcd3 on first use: gRPC and protobufjs would cost every CLI run (even validate) ~0.3 s to load */
export const etcd3 = (): typeof import('etcd3') => createRequire(import.meta.url)('etcd3');

export async function listPrefix(
  etcd: Etcd3,
  prefix: string,
  pageSize = 500,
): Promise<{ kvs: IKeyValue[]; revision: string }> {
  const { Range } = etcd3();
  const end = Range.prefix(prefix).end;
  const kvs: IKeyValue[] = [];
  let start: Buffer = Buffer.from(prefix);
  let revision: string | undefined;
  for (;;) {
    let q = etcd.getAll().inRange(new Range(start, end)).limit(pageSize);
    if (revision) q = q.revision(revision);
    const res = await q.exec();
    revision ??= res.header.revision;
    kvs.push(...res.kvs);
    if (!res.more || res.kvs.length === 0) return { kvs, revision };
    // the next page starts just after the last key
    start = Buffer.concat([res.kvs[res.kvs.length - 1].key, Buffer.from([0])]);
  }
}

/** Follows a prefix from just after `revision` (the revision a `listPrefix` read at). */
export async function watchAfter(
  etcd: Etcd3,
  prefix: string,
  revision: string,
  on: { put: (kv: IKeyValue) => void; delete: (kv: IKeyValue) => void; error?: (e: Error) => void },
): Promise<Watcher> {
  const w = await etcd
    .watch()
    .prefix(prefix)
    .startRevision(String(Number(revision) + 1))
    .create();
  w.on('put', on.put);
  w.on('delete', on.delete);
  if (on.error) w.on('error', on.error);
  return w;
}
