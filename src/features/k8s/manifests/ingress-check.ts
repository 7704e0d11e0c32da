// An Ingress manifest as netsim keeps it: its spec as written (the ingress controller,
// src/features/k8s/ingress, serves it, TLS included).
import type { IngressManifest } from './schema.js';
import type { DesiredIngress, Note } from './types.js';

export function ingressObject(
  m: IngressManifest,
  base: Pick<DesiredIngress, 'name' | 'namespace' | 'source'>,
  _note: Note,
): DesiredIngress {
  return {
    kind: 'Ingress',
    ...base,
    ...(m.metadata.labels ? { labels: m.metadata.labels } : {}),
    spec: m.spec,
  };
}
