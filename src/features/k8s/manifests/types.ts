// The objects manifests describe, as netsim applies them (after validation), and what
// validation needs to know of the cluster.
import type { Path, SourceLocator } from '../../../model/errors.js';
import type { Cidr } from '../../../util/ipv4.js';
import type { Cidr6 } from '../../../util/ipv6.js';
import type { ClusterCore } from '../cluster-core.js';
import type { PodRequest } from '../cluster-pods.js';
import type { PodNode } from '../pod.js';
import type { ServiceObject } from '../services/objects.js';
import type { ServiceSpec } from '../services/schema.js';
import type { IngressSpec } from './ingress.js';
import type { PolicyManifest } from './schema.js';

export interface ManifestDoc {
  source: SourceLocator;
  value: unknown;
}

export type Add = (path: Path, message: string) => void;
export type Note = (field: string) => void;

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol: 'TCP' | 'UDP';
}

/** What a pod runs with: from a Pod, or a Deployment's template. */
export interface PodTemplate {
  labels: Record<string, string>;
  /** the first container's command and args as one shell line */
  command?: string;
  /** a worker's full name */
  nodeName?: string;
  /** the labels its worker must have */
  nodeSelector?: Record<string, string>;
  ports: ContainerPort[];
  /** the pod's annotations (the bandwidth ones shape it) */
  annotations?: Record<string, string>;
}

interface Base {
  name: string;
  namespace: string;
  /** the document it came from */
  source: SourceLocator;
}
export interface DesiredPod extends Base, PodTemplate {
  kind: 'Pod';
}
/** A container as the stored object shows it (netsim runs the first one's command). */
export interface ContainerView {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number; protocol?: 'TCP' | 'UDP' }[];
}
export interface DesiredDeployment extends Base {
  kind: 'Deployment';
  /** the deployment's own labels, and its template's containers (for the stored object) */
  labels?: Record<string, string>;
  containers: ContainerView[];
  replicas: number;
  selector: Record<string, string>;
  /** its pods' template, labels including pod-template-hash */
  template: PodTemplate;
  hash: string;
}
export interface DesiredService extends Base {
  kind: 'Service';
  spec: ServiceSpec;
}
export interface DesiredPolicy extends Base {
  kind: 'NetworkPolicy';
  spec: PolicyManifest['spec'];
}
export interface DesiredIngress extends Base {
  kind: 'Ingress';
  labels?: Record<string, string>;
  spec: IngressSpec;
}
/** A Secret: its type and base64 data (stringData folded in). */
export interface DesiredSecret extends Base {
  kind: 'Secret';
  labels?: Record<string, string>;
  type: string;
  data: Record<string, string>;
}
/** A Namespace (cluster-scoped: its `namespace` is empty). */
export interface DesiredNamespace extends Base {
  kind: 'Namespace';
  labels: Record<string, string>;
}
export type Desired =
  | DesiredPod
  | DesiredDeployment
  | DesiredService
  | DesiredPolicy
  | DesiredIngress
  | DesiredSecret
  | DesiredNamespace;

/** Pods a service may select: `Pod/<ns>/<name>` or `Deployment/<ns>/<name>` (its template). */
export interface PodSource extends PodTemplate {
  key: string;
  namespace: string;
}

export interface ValidationContext {
  workers: string[];
  resolveWorker(name: string): string | undefined;
  /** a worker's Node labels (default: kubernetes.io/hostname only) */
  nodeLabels?(worker: string): Record<string, string>;
  serviceCidr: Cidr;
  /** the IPv6 service range of a dual-stack cluster */
  serviceCidr6?: Cidr6;
  /** false: the cluster's pods take the direct path (no bandwidth annotations); default true */
  cni?: boolean;
  /** pods and deployments applied before (for named target ports) */
  knownPods: PodSource[];
  /** why a pod may not take this node name (another node has it), or undefined */
  podNameTaken(name: string): string | undefined;
  /** the namespaces the cluster has (default: the ones every cluster starts with) */
  namespaces?: ReadonlySet<string>;
  /** for `delete -f`: the objects are only named, named target ports are not resolved */
  forDelete?: boolean;
}

export interface Validated {
  objects: Desired[];
  /** one line per file: the fields accepted but not emulated */
  notes: string[];
}

/** The pods an object makes, as a service sees them. */
export function podSources(objects: Desired[]): PodSource[] {
  return objects.flatMap((o): PodSource[] => {
    if (o.kind === 'Pod') return [{ ...o, key: `Pod/${o.namespace}/${o.name}` }];
    if (o.kind === 'Deployment')
      return [{ ...o.template, namespace: o.namespace, key: `Deployment/${o.namespace}/${o.name}` }];
    return [];
  });
}

/** What applying needs of a cluster (the Cluster facade; an interface, so no import cycle). */
export interface ManifestCluster extends ClusterCore {
  createPods(reqs: PodRequest[]): Promise<PodNode[]>;
  /** by node name (`web`, `web.prod`) */
  deletePod(name: string): Promise<void>;
  localPods(): PodNode[];
  addService(name: string, spec: unknown): Promise<ServiceObject>;
  deleteService(name: string, namespace?: string): Promise<void>;
  addNetworkPolicy(name: string, spec: unknown, namespace?: string): Promise<unknown>;
  deleteNetworkPolicy(name: string, namespace?: string): Promise<void>;
}
