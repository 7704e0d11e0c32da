// The ingress controller's admission check at `apply` (ingress-nginx's validating webhook):
// the Ingresses of the input, with the ones the cluster already serves, must name services
// and ports that exist (in the cluster or in the same input), TLS Secrets that exist, and no
// host/path another Ingress serves. Anything wrong is refused before anything is applied,
// located in its file at the field at fault.
import type { Etcd3 } from 'etcd3';
import { type Issue, TopologyError } from '../../../model/errors.js';
import { listPrefix } from '../etcd-list.js';
import { INGRESS_PREFIX, type IngressObject } from '../manifests/ingress.js';
import { SECRETS_PREFIX, type SecretObject, TLS_SECRET } from '../manifests/secret.js';
import type { Desired, DesiredIngress } from '../manifests/types.js';
import {
  ENDPOINTS_PREFIX,
  type EndpointsObject,
  HEADLESS,
  type ServiceObject,
  SPECS_PREFIX,
} from '../services/objects.js';
import { buildRoutes, type IngressInput, type ServiceInput } from './routes.js';

const parse = <T>(kvs: { value: Buffer }[]): T[] => kvs.map((kv) => JSON.parse(kv.value.toString()) as T);

/** What the controller reads from etcd: Ingresses (oldest first), services, TLS secrets. */
export async function readCluster(etcd: Etcd3): Promise<{
  ingresses: IngressObject[];
  services: Map<string, ServiceInput>;
  secrets: Map<string, SecretObject>;
}> {
  const [ing, svc, sec, eps] = await Promise.all([
    listPrefix(etcd, INGRESS_PREFIX),
    listPrefix(etcd, SPECS_PREFIX),
    listPrefix(etcd, SECRETS_PREFIX),
    listPrefix(etcd, ENDPOINTS_PREFIX),
  ]);
  const endpoints = new Map(
    parse<EndpointsObject>(eps.kvs).map((e) => [
      `${e.metadata.namespace}/${e.metadata.name}`,
      e.subsets.flatMap((x) => x.addresses.map((a) => a.ip)),
    ]),
  );
  const ingresses = parse<IngressObject>(ing.kvs).sort(
    (a, b) =>
      a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp) ||
      `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
        `${b.metadata.namespace}/${b.metadata.name}`,
      ),
  );
  const services = new Map<string, ServiceInput>(
    parse<ServiceObject>(svc.kvs).map((s) => [
      `${s.metadata.namespace}/${s.metadata.name}`,
      {
        clusterIP: s.spec.clusterIP,
        ports: s.spec.ports,
        ...(s.spec.clusterIP === HEADLESS
          ? { endpoints: endpoints.get(`${s.metadata.namespace}/${s.metadata.name}`) ?? [] }
          : {}),
      },
    ]),
  );
  const secrets = new Map(
    parse<SecretObject>(sec.kvs)
      .filter((s) => s.type === TLS_SECRET)
      .map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]),
  );
  return { ingresses, services, secrets };
}

/** Throws a located TopologyError when an Ingress of `objects` cannot be served. */
export async function admitIngresses(etcd: Etcd3, objects: Desired[]): Promise<void> {
  const mine = objects.filter((o): o is DesiredIngress => o.kind === 'Ingress');
  if (mine.length === 0) return;
  const { ingresses, services, secrets } = await readCluster(etcd);
  for (const o of objects) {
    if (o.kind === 'Service')
      services.set(`${o.namespace}/${o.name}`, { clusterIP: o.spec.clusterIP, ports: o.spec.ports });
  }
  const tls = new Set(secrets.keys());
  for (const o of objects)
    if (o.kind === 'Secret' && o.type === TLS_SECRET) tls.add(`${o.namespace}/${o.name}`);
  const byId = new Map(mine.map((o) => [`${o.namespace}/${o.name}`, o]));
  // the cluster's own in their order (one being replaced keeps its place), then the new ones
  const inputs: IngressInput[] = ingresses.map((i) => {
    const id = `${i.metadata.namespace}/${i.metadata.name}`;
    const o = byId.get(id);
    return { namespace: i.metadata.namespace, name: i.metadata.name, spec: o ? o.spec : i.spec };
  });
  const stored = new Set(inputs.map((i) => `${i.namespace}/${i.name}`));
  for (const [id, o] of byId)
    if (!stored.has(id)) inputs.push({ namespace: o.namespace, name: o.name, spec: o.spec });
  const issues: Issue[] = [];
  for (const e of buildRoutes(inputs, services, tls).errors) {
    const o = byId.get(e.ingress);
    if (o)
      issues.push({
        path: e.path,
        message: `Ingress ${e.ingress}: ${e.message}`,
        pos: o.source.locate(e.path),
      });
  }
  if (issues.length) throw new TopologyError(issues);
}
