// The metadata the API server keeps on an object it stores again: the uid and the creation time
// stay, the generation grows only when the spec changed (applying the same file twice is a no-op).
import { randomUUID } from 'node:crypto';

export interface StoredMeta {
  name: string;
  namespace: string;
  uid: string;
  generation: number;
  creationTimestamp: string;
  labels?: Record<string, string>;
}

export function storedMetadata(
  o: { name: string; namespace: string; labels?: Record<string, string> },
  before: { metadata: StoredMeta } | undefined,
  sameSpec: boolean,
): StoredMeta {
  return {
    name: o.name,
    namespace: o.namespace,
    uid: before?.metadata.uid ?? randomUUID(),
    generation: before ? before.metadata.generation + (sameSpec ? 0 : 1) : 1,
    creationTimestamp: before?.metadata.creationTimestamp ?? new Date().toISOString(),
    ...(o.labels ? { labels: o.labels } : {}),
  };
}
