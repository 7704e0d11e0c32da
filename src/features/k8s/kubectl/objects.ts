// What the views show, read like kubectl reads the API server: pods, services, endpoints and
// network policies are the objects in the cluster's etcd; nodes are the cluster's workers (their
// agents and flannel leases); namespaces are the Namespace objects in etcd. Nodes are not
// stored, so their objects are made here from what the workers are.
import { readFileSync, statSync } from 'node:fs';
import { arch, release } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../model/load.js';
import { formatIp } from '../../../util/ipv4.js';
import { type NetworkPolicyObject, POLICY_PREFIX } from '../agent/policy.js';
import type { Cluster } from '../cluster.js';
import { INGRESS_PREFIX, type IngressObject } from '../manifests/ingress.js';
import { DEPLOYMENTS_PREFIX, type DeploymentObject, withStatus } from '../manifests/stored.js';
import type { NamespaceObject } from '../namespaces.js';
import type { PodObject } from '../registry.js';
import {
  ENDPOINTS_PREFIX,
  type EndpointsObject,
  type ServiceObject,
  SPECS_PREFIX,
} from '../services/objects.js';
import { workerNodeLabels } from '../spec.js';
import type { Resource } from './args.js';
import { type EndpointSliceObject, endpointSlicesOf } from './slices.js';

export interface NodeObject {
  apiVersion: 'v1';
  kind: 'Node';
  metadata: { name: string; labels: Record<string, string>; creationTimestamp?: string };
  spec: { podCIDR?: string };
  status: {
    conditions: { type: 'Ready'; status: 'True' | 'False'; reason: string; message: string }[];
    addresses: { type: 'InternalIP' | 'Hostname'; address: string }[];
    nodeInfo: {
      kubeletVersion: string;
      osImage: string;
      kernelVersion: string;
      containerRuntimeVersion: string;
      operatingSystem: 'linux';
      architecture: string;
    };
  };
}

export type { NamespaceObject } from '../namespaces.js';

export type KubeObject =
  | PodObject
  | ServiceObject
  | EndpointsObject
  | NetworkPolicyObject
  | NodeObject
  | NamespaceObject
  | DeploymentObject
  | EndpointSliceObject
  | IngressObject;

/** Nodes and namespaces have no namespace. */
export const CLUSTER_SCOPED: ReadonlySet<Resource> = new Set(['nodes', 'namespaces']);

async function stored<T>(c: Cluster, prefix: string): Promise<T[]> {
  const all = await c.etcd.getAll().prefix(prefix).strings();
  return Object.keys(all)
    .sort()
    .map((k) => JSON.parse(all[k]) as T);
}

function osImage(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
    return m ? m[1] : 'Linux';
  } catch {
    return 'Linux';
  }
}

function netsimVersion(): string {
  try {
    return `netsim-v${JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')).version}`;
  } catch {
    return 'netsim';
  }
}

/** When a worker was made: its state directory's birth (its change time where there is none). */
function workerCreated(dir: string): string | undefined {
  try {
    const st = statSync(dir);
    return new Date(st.birthtimeMs > 0 ? st.birthtimeMs : st.ctimeMs).toISOString();
  } catch {
    return undefined;
  }
}

export function nodeObjects(c: Cluster): NodeObject[] {
  const info = {
    kubeletVersion: netsimVersion(),
    osImage: osImage(),
    kernelVersion: release(),
    containerRuntimeVersion: 'netsim://netns',
    operatingSystem: 'linux' as const,
    architecture: arch() === 'x64' ? 'amd64' : arch(),
  };
  return c.workers.map((w) => {
    const env = w.subnet();
    const ready = w.agentRunning && env !== undefined;
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: w.name,
        labels: workerNodeLabels(c.config, w.name),
        creationTimestamp: workerCreated(w.dir),
      },
      spec: env ? { podCIDR: `${formatIp(env.subnet.ip - 1)}/${env.subnet.prefix}` } : {},
      status: {
        conditions: [
          {
            type: 'Ready',
            status: ready ? 'True' : 'False',
            reason: ready ? 'AgentReady' : w.agentRunning ? 'NoSubnetLease' : 'AgentDown',
            message: ready ? "the worker's agent runs and holds a subnet lease" : 'the worker is not ready',
          },
        ],
        addresses: [
          ...(w.ip ? [{ type: 'InternalIP' as const, address: w.ip }] : []),
          { type: 'Hostname', address: w.name },
        ],
        nodeInfo: info,
      },
    };
  });
}

/** The objects of one resource in a cluster, all namespaces, sorted by namespace and name. */
export async function listObjects(c: Cluster, r: Resource): Promise<KubeObject[]> {
  const byName = (a: KubeObject, b: KubeObject) => {
    const na = (a.metadata as { namespace?: string }).namespace ?? '';
    const nb = (b.metadata as { namespace?: string }).namespace ?? '';
    return na === nb ? a.metadata.name.localeCompare(b.metadata.name) : na.localeCompare(nb);
  };
  switch (r) {
    case 'pods':
      return (await c.pods()).sort(byName);
    case 'services':
      return (await stored<ServiceObject>(c, SPECS_PREFIX)).sort(byName);
    case 'endpoints':
      return (await stored<EndpointsObject>(c, ENDPOINTS_PREFIX)).sort(byName);
    case 'deployments': {
      const [deps, pods] = await Promise.all([stored<DeploymentObject>(c, DEPLOYMENTS_PREFIX), c.pods()]);
      return deps.map((d) => withStatus(d, pods)).sort(byName);
    }
    case 'ingresses':
      return (await stored<IngressObject>(c, INGRESS_PREFIX)).sort(byName);
    case 'endpointslices': {
      const [svcs, eps] = await Promise.all([
        stored<ServiceObject>(c, SPECS_PREFIX),
        stored<EndpointsObject>(c, ENDPOINTS_PREFIX),
      ]);
      const epOf = (s: ServiceObject) =>
        eps.find((e) => e.metadata.name === s.metadata.name && e.metadata.namespace === s.metadata.namespace);
      return svcs.flatMap((s) => endpointSlicesOf(s, epOf(s))).sort(byName);
    }
    case 'networkpolicies':
      return (await stored<NetworkPolicyObject>(c, POLICY_PREFIX)).sort(byName);
    case 'nodes':
      return nodeObjects(c).sort(byName);
    case 'namespaces':
      return (await c.namespaces()).sort(byName);
  }
}

/** Labels an object has (services, endpoints and policies here have none). */
export function labelsOf(o: KubeObject): Record<string, string> {
  return (o.metadata as { labels?: Record<string, string> }).labels ?? {};
}

export function namespaceOf(o: KubeObject): string | undefined {
  return (o.metadata as { namespace?: string }).namespace;
}
