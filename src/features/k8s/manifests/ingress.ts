// Ingress (networking.k8s.io/v1): validated as the API server does (rules, paths, backends,
// defaultBackend, ingressClassName, tls), stored at /registry/ingress/<ns>/<name> and shown by
// `kubectl get ingress`. The ingress controller (src/features/k8s/ingress) serves it with nginx.
import type { Etcd3 } from 'etcd3';
import { z } from 'zod';
import { type StoredMeta, storedMetadata } from './stored-meta.js';

export const INGRESS_PREFIX = '/registry/ingress/';
export const ingressKey = (ns: string, name: string) => `${INGRESS_PREFIX}${ns}/${name}`;

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** a host: a DNS name, possibly with a leading `*.` wildcard label; no IP address */
const HOST = /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

const backend = z
  .strictObject(
    {
      service: z
        .strictObject({
          name: z
            .string({ error: 'required: a service name' })
            .regex(DNS_LABEL, 'a service name is a DNS label'),
          port: z
            .strictObject(
              {
                number: z
                  .number({ error: 'a port number' })
                  .int('a port is a whole number')
                  .min(1, 'ports are 1..65535')
                  .max(65535, 'ports are 1..65535')
                  .optional(),
                name: z
                  .string({ error: "the name of a service's port" })
                  .regex(DNS_LABEL, 'a port name')
                  .optional(),
              },
              { error: 'required: port.number or port.name' },
            )
            .refine((p) => (p.number === undefined) !== (p.name === undefined), 'give one of number or name'),
        })
        .optional(),
      resource: z.unknown().optional(),
    },
    { error: 'a backend: {service: {name, port: {number}}}' },
  )
  .refine((b) => !b.resource, {
    message: 'resource backends are not emulated: give a service',
    path: ['resource'],
  })
  .refine((b) => !!b.service, 'required: service (a backend names a service and its port)');

const path = z
  .strictObject({
    path: z.string({ error: 'a path' }).optional(),
    pathType: z.enum(['Exact', 'Prefix', 'ImplementationSpecific'], {
      error: (i) =>
        i.input === undefined
          ? 'required: pathType (Exact, Prefix or ImplementationSpecific)'
          : 'Exact, Prefix or ImplementationSpecific',
    }),
    backend: z.custom<unknown>((v) => v !== undefined, 'required: a backend').pipe(backend),
  })
  .refine((p) => p.pathType === 'ImplementationSpecific' || (p.path ?? '').startsWith('/'), {
    message: 'an Exact or Prefix path is absolute: it starts with /',
    path: ['path'],
  });

const rule = z.strictObject({
  host: z
    .string({ error: 'a host name' })
    .refine((h) => !IPV4.test(h), 'a host is a DNS name, not an IP address')
    .refine((h) => HOST.test(h), 'a host is a DNS name (lower case), optionally *.name')
    .optional(),
  http: z
    .strictObject(
      { paths: z.array(path, { error: 'required: a list of paths' }).min(1, 'at least one path') },
      { error: 'http: {paths: [...]}' },
    )
    .optional(),
});

export const ingressSpecSchema = z
  .strictObject({
    ingressClassName: z
      .string({ error: 'an IngressClass name' })
      .regex(DNS_LABEL, 'a class name is a DNS label')
      .optional(),
    defaultBackend: backend.optional(),
    rules: z.array(rule, { error: 'a list of rules' }).optional(),
    /** served by the ingress controller from kubernetes.io/tls Secrets */
    tls: z
      .array(
        z.strictObject({
          hosts: z
            .array(z.string().regex(HOST, 'a host is a DNS name (lower case), optionally *.name'))
            .optional(),
          secretName: z.string().regex(DNS_LABEL, 'a Secret name').optional(),
        }),
        { error: 'a list of TLS entries: {hosts, secretName}' },
      )
      .optional(),
  })
  .refine(
    (s) => s.defaultBackend || (s.rules ?? []).length > 0,
    'an Ingress needs rules or a defaultBackend',
  );
export type IngressSpec = z.infer<typeof ingressSpecSchema>;

export interface IngressObject {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'Ingress';
  metadata: StoredMeta;
  spec: IngressSpec;
  status: { loadBalancer: { ingress?: { ip?: string; hostname?: string }[] } };
}

/** Stores the ingress; `created`, `configured` or `unchanged`. */
export async function storeIngress(
  etcd: Etcd3,
  o: { name: string; namespace: string; labels?: Record<string, string>; spec: IngressSpec },
): Promise<'created' | 'configured' | 'unchanged'> {
  const key = ingressKey(o.namespace, o.name);
  const raw = await etcd.get(key).string();
  const before = raw ? (JSON.parse(raw) as IngressObject) : undefined;
  const sameSpec = before && JSON.stringify(before.spec) === JSON.stringify(o.spec);
  const obj: IngressObject = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: storedMetadata(o, before, !!sameSpec),
    spec: o.spec,
    status: { loadBalancer: {} },
  };
  if (before && JSON.stringify(before) === JSON.stringify(obj)) return 'unchanged';
  await etcd.put(key).value(JSON.stringify(obj));
  return before ? 'configured' : 'created';
}
