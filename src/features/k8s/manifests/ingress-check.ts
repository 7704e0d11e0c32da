// An Ingress manifest as netsim keeps it: its spec as written (TLS noted as not emulated).
import { INGRESS_NOTE } from './ingress.js';
import type { IngressManifest } from './schema.js';
import type { DesiredIngress, Note } from './types.js';

export { INGRESS_NOTE };

export function ingressObject(
  m: IngressManifest,
  base: Pick<DesiredIngress, 'name' | 'namespace' | 'source'>,
  note: Note,
): DesiredIngress {
  if (m.spec.tls !== undefined) note('spec.tls (TLS is not emulated)');
  return {
    kind: 'Ingress',
    ...base,
    ...(m.metadata.labels ? { labels: m.metadata.labels } : {}),
    spec: m.spec,
  };
}
