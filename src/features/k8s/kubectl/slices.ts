// EndpointSlices (discovery.k8s.io/v1) as the EndpointSlice controller would write them, made
// from the Endpoints netsim keeps: one slice per service and family (a dual-stack service has an
// IPv4 and an IPv6 slice), named <service>-<5 letters> (a generateName suffix, here fixed by the
// service's uid so that it stays the same between reads), labelled kubernetes.io/service-name so
// `-l kubernetes.io/service-name=web` finds it.
import { suffixOf } from '../manifests/deployment.js';
import {
  type EndpointsObject,
  FAMILY_NAME,
  type Family,
  familyOf,
  type IpFamily,
  type ServiceObject,
  serviceFamilies,
} from '../services/objects.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface EndpointSliceObject {
  apiVersion: 'discovery.k8s.io/v1';
  kind: 'EndpointSlice';
  metadata: {
    name: string;
    namespace: string;
    generateName: string;
    creationTimestamp?: string;
    labels: Record<string, string>;
    ownerReferences: { apiVersion: 'v1'; kind: 'Service'; name: string; uid: string; controller: true }[];
  };
  addressType: IpFamily;
  endpoints: {
    addresses: string[];
    conditions: { ready: boolean; serving: boolean; terminating: boolean };
    nodeName?: string;
    targetRef?: { kind: 'Pod'; name: string; namespace: string };
  }[];
  ports: { name: string; port: number; protocol: string }[] | null;
}

/** A service's slices, one per family, primary first. */
export const endpointSlicesOf = (svc: ServiceObject, ep: EndpointsObject | undefined) =>
  serviceFamilies(svc).map((f) => endpointSliceOf(svc, ep, f));

/**
 * The slice of a service's addresses of one family (default: its primary), given its Endpoints
 * (none yet: a slice without endpoints or ports).
 */
export function endpointSliceOf(
  svc: ServiceObject,
  ep: EndpointsObject | undefined,
  family: Family = serviceFamilies(svc)[0],
): EndpointSliceObject {
  const { name, namespace, uid } = svc.metadata;
  const subsets = ep?.subsets ?? [];
  const ports = subsets[0]?.ports ?? [];
  const primary = family === serviceFamilies(svc)[0];
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${name}-${suffixOf(primary ? uid : `${uid}/${family}`)}`,
      namespace,
      generateName: `${name}-`,
      creationTimestamp: svc.metadata.creationTimestamp,
      labels: {
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
        [SERVICE_NAME_LABEL]: name,
      },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid, controller: true }],
    },
    addressType: FAMILY_NAME[family],
    endpoints: subsets.flatMap((ss) =>
      ss.addresses
        .filter((a) => familyOf(a.ip) === family)
        .map((a) => ({
          addresses: [a.ip],
          conditions: { ready: true, serving: true, terminating: false },
          ...(a.nodeName ? { nodeName: a.nodeName } : {}),
          ...(a.targetRef ? { targetRef: a.targetRef } : {}),
        })),
    ),
    ports: ports.length
      ? ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol }))
      : null,
  };
}

/** Up to three, then " + N more..."; `<unset>` for none (kubectl's listWithMoreString). */
function listWithMore(all: string[]): string {
  if (all.length === 0) return '<unset>';
  const shown = all.slice(0, 3).join(',');
  return all.length > 3 ? `${shown} + ${all.length - 3} more...` : shown;
}

export const slicePorts = (s: EndpointSliceObject) =>
  listWithMore((s.ports ?? []).map((p) => String(p.port)));
export const sliceEndpoints = (s: EndpointSliceObject) =>
  listWithMore(s.endpoints.flatMap((e) => e.addresses));
