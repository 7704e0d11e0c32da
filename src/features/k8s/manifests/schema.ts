// What a manifest may hold, per kind: the fields netsim emulates (validated here), and the
// Kubernetes fields it accepts but does not emulate (listed as a note, never dropped silently).
// Anything else is an error naming the field.
import { z } from 'zod';
import { ipFamilyFields, policySpecSchema } from '../services/schema.js';
import { ingressSpecSchema } from './ingress.js';
import { secretFields } from './secret.js';

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** a container port's name (IANA service name: at most 15, letters, digits, -) */
export const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

const required = (what: string) => (iss: { input: unknown }) =>
  iss.input === undefined ? `required: ${what}` : `expected ${what}`;

const port = z
  .number({ error: required('a port number') })
  .int('a port is a whole number')
  .min(1, 'ports are 1..65535')
  .max(65535, 'ports are 1..65535');
const labels = z.record(z.string(), z.string({ error: 'label values are strings (quote numbers)' }), {
  error: 'a map of labels, e.g. {app: web}',
});
/** read: kubernetes.io/ingress-bandwidth and egress-bandwidth; the others are noted */
const annotations = z.record(
  z.string(),
  z.string({ error: 'annotation values are strings (quote numbers)' }),
  { error: 'a map of annotations' },
);

/** Accepted and kept aside: each becomes a "not emulated" note. */
const notEmulated = (keys: string[]) => Object.fromEntries(keys.map((k) => [k, z.unknown().optional()]));

export const IGNORED = {
  metadata: [
    'uid',
    'resourceVersion',
    'generation',
    'creationTimestamp',
    'ownerReferences',
    'finalizers',
    'managedFields',
  ],
  podSpec: [
    'volumes',
    'securityContext',
    'serviceAccountName',
    'serviceAccount',
    'automountServiceAccountToken',
    'restartPolicy',
    'terminationGracePeriodSeconds',
    'tolerations',
    'affinity',
    'dnsPolicy',
    'dnsConfig',
    'initContainers',
    'imagePullSecrets',
    'priorityClassName',
    'priority',
    'hostname',
    'subdomain',
    'schedulerName',
    'topologySpreadConstraints',
    'enableServiceLinks',
    'shareProcessNamespace',
    'runtimeClassName',
    'activeDeadlineSeconds',
    'hostAliases',
  ],
  container: [
    'image',
    'imagePullPolicy',
    'env',
    'envFrom',
    'resources',
    'volumeMounts',
    'livenessProbe',
    'readinessProbe',
    'startupProbe',
    'securityContext',
    'workingDir',
    'lifecycle',
    'stdin',
    'tty',
    'terminationMessagePath',
    'terminationMessagePolicy',
  ],
  containerPort: ['hostPort', 'hostIP'],
  serviceSpec: [
    'publishNotReadyAddresses',
    'allocateLoadBalancerNodePorts',
    'externalIPs',
    'loadBalancerSourceRanges',
  ],
  servicePort: ['appProtocol'],
  deploymentSpec: [
    'strategy',
    'minReadySeconds',
    'revisionHistoryLimit',
    'progressDeadlineSeconds',
    'paused',
  ],
  top: ['status'],
} as const;

const metadata = z.strictObject({
  name: z
    .string({ error: required('a name') })
    .regex(DNS_LABEL, 'a name is a DNS label: lower-case letters, digits and -'),
  namespace: z
    .string({ error: 'a namespace name' })
    .regex(DNS_LABEL, 'a namespace is a DNS label: lower-case letters, digits and -')
    .optional(),
  labels: labels.optional(),
  annotations: annotations.optional(),
  ...notEmulated([...IGNORED.metadata]),
});

const containerPort = z.strictObject({
  containerPort: port,
  name: z.string().regex(PORT_NAME, 'a port name: at most 15 lower-case letters, digits and -').optional(),
  protocol: z.enum(['TCP', 'UDP'], { error: 'TCP or UDP' }).optional(),
  ...notEmulated([...IGNORED.containerPort]),
});

const container = z.strictObject({
  name: z.string({ error: required('a container name') }).regex(DNS_LABEL, 'a container name is a DNS label'),
  command: z.array(z.string({ error: 'command words are strings' }), { error: 'a list of words' }).optional(),
  args: z.array(z.string({ error: 'args are strings' }), { error: 'a list of words' }).optional(),
  ports: z.array(containerPort, { error: 'a list of container ports' }).optional(),
  ...notEmulated([...IGNORED.container]),
});

export const podSpecSchema = z.strictObject({
  containers: z
    .array(container, { error: required('a list of containers') })
    .min(1, 'a pod needs a container'),
  nodeName: z.string({ error: 'a worker name' }).optional(),
  nodeSelector: labels.optional(),
  ...notEmulated([...IGNORED.podSpec]),
});

const servicePort = z.strictObject({
  name: z.string().regex(DNS_LABEL, 'a port name is a DNS label').optional(),
  protocol: z.enum(['TCP', 'UDP'], { error: 'TCP or UDP' }).optional(),
  port,
  targetPort: z
    .union([port, z.string().regex(PORT_NAME, 'a container port name')], {
      error: 'a port number (1..65535) or the name of a container port',
    })
    .optional(),
  nodePort: z
    .number({ error: 'a port number' })
    .int()
    .min(30000, 'node ports are 30000..32767')
    .max(32767, 'node ports are 30000..32767')
    .optional(),
  ...notEmulated([...IGNORED.servicePort]),
});

const serviceSpec = z.strictObject({
  type: z
    .enum(['ClusterIP', 'NodePort', 'LoadBalancer'], {
      error: 'ClusterIP, NodePort or LoadBalancer (netsim has no ExternalName)',
    })
    .optional(),
  clusterIP: z.string({ error: 'an IP address or None' }).optional(),
  clusterIPs: z
    .array(z.string({ error: 'an IP address or None' }))
    .min(1)
    .max(2, 'at most two ClusterIPs, one per family')
    .optional(),
  ...ipFamilyFields,
  selector: labels.optional(),
  ports: z
    .array(servicePort, { error: required('a list of ports') })
    .min(1, 'a service needs at least one port'),
  sessionAffinity: z.enum(['None', 'ClientIP'], { error: 'None or ClientIP' }).optional(),
  sessionAffinityConfig: z
    .strictObject({ clientIP: z.strictObject({ timeoutSeconds: z.number().int().min(1).max(86400) }) })
    .optional(),
  externalTrafficPolicy: z.enum(['Cluster', 'Local'], { error: 'Cluster or Local' }).optional(),
  internalTrafficPolicy: z.enum(['Cluster', 'Local'], { error: 'Cluster or Local' }).optional(),
  ...notEmulated([...IGNORED.serviceSpec]),
});

const deploymentSpec = z.strictObject({
  replicas: z.number({ error: 'a number of pods' }).int('a whole number').min(0).max(1000).optional(),
  selector: z.strictObject(
    { matchLabels: labels.refine((l) => Object.keys(l).length > 0, 'at least one label') },
    { error: required('a selector with matchLabels') },
  ),
  template: z.strictObject(
    {
      metadata: z.strictObject(
        {
          labels: labels.optional(),
          annotations: annotations.optional(),
          ...notEmulated(['name', ...IGNORED.metadata]),
        },
        { error: required('template metadata with labels') },
      ),
      spec: podSpecSchema,
    },
    { error: required('a pod template') },
  ),
  ...notEmulated([...IGNORED.deploymentSpec]),
});

const object = <K extends string, S extends z.ZodType>(kind: K, apiVersion: string, spec: S) =>
  z.strictObject({
    apiVersion: z.literal(apiVersion),
    kind: z.literal(kind),
    metadata: z.custom<unknown>((v) => v !== undefined, 'required: metadata with a name').pipe(metadata),
    spec: z.custom<unknown>((v) => v !== undefined, `required: the ${kind}'s spec`).pipe(spec),
    ...notEmulated([...IGNORED.top]),
  });

export const podSchema = object('Pod', 'v1', podSpecSchema);
export const serviceSchema = object('Service', 'v1', serviceSpec);
export const deploymentSchema = object('Deployment', 'apps/v1', deploymentSpec);
export const policySchema = object('NetworkPolicy', 'networking.k8s.io/v1', policySpecSchema);
/** A Namespace: its name and labels (what a namespaceSelector matches); spec.finalizers is not emulated. */
export const namespaceSchema = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Namespace'),
  metadata: z.custom<unknown>((v) => v !== undefined, 'required: metadata with a name').pipe(metadata),
  spec: z.strictObject({ finalizers: z.unknown().optional() }).optional(),
  ...notEmulated([...IGNORED.top]),
});

export const ingressSchema = object('Ingress', 'networking.k8s.io/v1', ingressSpecSchema);
/** A Secret: type and data (or stringData); kubernetes.io/tls ones are what the ingress controller serves. */
export const secretSchema = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Secret'),
  metadata: z.custom<unknown>((v) => v !== undefined, 'required: metadata with a name').pipe(metadata),
  ...secretFields,
  ...notEmulated([...IGNORED.top]),
});

export type PodManifest = z.infer<typeof podSchema>;
export type ServiceManifest = z.infer<typeof serviceSchema>;
export type DeploymentManifest = z.infer<typeof deploymentSchema>;
export type PolicyManifest = z.infer<typeof policySchema>;
export type IngressManifest = z.infer<typeof ingressSchema>;
export type NamespaceManifest = z.infer<typeof namespaceSchema>;
export type SecretManifest = z.infer<typeof secretSchema>;

/** The kinds netsim reads, by kind: their apiVersion and schema. */
export const KINDS = {
  Pod: { apiVersion: 'v1', schema: podSchema },
  Service: { apiVersion: 'v1', schema: serviceSchema },
  Deployment: { apiVersion: 'apps/v1', schema: deploymentSchema },
  NetworkPolicy: { apiVersion: 'networking.k8s.io/v1', schema: policySchema },
  Ingress: { apiVersion: 'networking.k8s.io/v1', schema: ingressSchema },
  Namespace: { apiVersion: 'v1', schema: namespaceSchema },
  Secret: { apiVersion: 'v1', schema: secretSchema },
} as const;
export type Kind = keyof typeof KINDS;
