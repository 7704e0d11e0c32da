// `kubectl ...` on a running simulation: the REPL verbs `kubectl`/`k` and `netsim kubectl` (through
// the control channel) both come here. There is no kube-apiserver: the views read the cluster's
// etcd, and exec/logs act on the live pods. Exit status 0, or 1 with kubectl's words on stderr.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { withNetnsEtc } from '../../../kernel/enter.js';
import type { Io } from '../../../runtime/plugin.js';
import type { Simulation } from '../../../runtime/simulation.js';
import { type Cluster, clustersOf } from '../cluster.js';
import type { DeploymentObject } from '../manifests/stored.js';
import { PodNode } from '../pod.js';
import { podNodeName } from '../registry.js';
import type { EndpointsObject, ServiceObject } from '../services/objects.js';
import { type KubectlArgs, KubectlError, matches, parseKubectl, type Resource } from './args.js';
import { describeDeployment, describeNode, describePod, describeService } from './describe.js';
import {
  CLUSTER_SCOPED,
  type KubeObject,
  labelsOf,
  listObjects,
  type NodeObject,
  namespaceOf,
} from './objects.js';
import { tableOf } from './printers.js';
import { renderTable } from './table.js';

/** Runs a command in a pod's network namespace in the foreground; resolves with its status. */
export type ExecIn = (ns: string, argv: string[]) => Promise<number>;

/** kubectl's singular names, for "pods \"x\" not found" (plural) and -o name (singular). */
const KIND_NAME: Record<Resource, string> = {
  pods: 'pod',
  services: 'service',
  endpoints: 'endpoints',
  endpointslices: 'endpointslice.discovery.k8s.io',
  deployments: 'deployment.apps',
  ingresses: 'ingress.networking.k8s.io',
  networkpolicies: 'networkpolicy.networking.k8s.io',
  nodes: 'node',
  namespaces: 'namespace',
};
const PLURAL: Record<Resource, string> = {
  pods: 'pods',
  services: 'services',
  endpoints: 'endpoints',
  endpointslices: 'endpointslices.discovery.k8s.io',
  deployments: 'deployments.apps',
  ingresses: 'ingresses.networking.k8s.io',
  networkpolicies: 'networkpolicies.networking.k8s.io',
  nodes: 'nodes',
  namespaces: 'namespaces',
};

const notFound = (r: Resource, name: string) =>
  new KubectlError(`Error from server (NotFound): ${PLURAL[r]} "${name}" not found`);

/** The cluster --context names; without it, the only one. */
export function contextCluster(sim: Simulation, context: string | undefined): Cluster {
  const all = clustersOf(sim);
  const names = all.map((c) => c.name).join(', ') || 'none';
  if (context === undefined) {
    if (all.length === 1) return all[0];
    throw new KubectlError(
      all.length === 0
        ? 'error: this simulation has no cluster'
        : `error: several clusters (${names}): choose one with --context CLUSTER`,
    );
  }
  const c = all.find((x) => x.name === context);
  if (!c) throw new KubectlError(`error: context "${context}" does not exist (clusters: ${names})`);
  return c;
}

/** The objects `get` shows: one namespace (or all), the names asked for, the selector. */
async function select(c: Cluster, a: KubectlArgs): Promise<KubeObject[]> {
  const r = a.resource!;
  const ns = a.namespace ?? 'default';
  let objects = await listObjects(c, r);
  if (a.allNamespaces && a.names.length)
    throw new KubectlError('error: a resource cannot be retrieved by name across all namespaces');
  if (!CLUSTER_SCOPED.has(r) && !a.allNamespaces) objects = objects.filter((o) => namespaceOf(o) === ns);
  if (a.names.length) {
    const picked: KubeObject[] = [];
    for (const name of a.names) {
      const o = objects.find((x) => x.metadata.name === name);
      if (!o) throw notFound(r, name);
      picked.push(o);
    }
    objects = picked;
  }
  return objects.filter((o) => matches(a.selector, labelsOf(o)));
}

function printObjects(a: KubectlArgs, objects: KubeObject[], now: number, io: Io): number {
  const r = a.resource!;
  const single = a.names.length === 1 && objects.length === 1;
  if (a.output === 'json' || a.output === 'yaml') {
    const doc = single
      ? objects[0]
      : { apiVersion: 'v1', kind: 'List', items: objects, metadata: { resourceVersion: '' } };
    io.out(a.output === 'json' ? `${JSON.stringify(doc, null, 4)}\n` : stringify(doc));
    return 0;
  }
  if (objects.length === 0) {
    const where = CLUSTER_SCOPED.has(r) || a.allNamespaces ? '' : ` in ${a.namespace ?? 'default'} namespace`;
    io.err(`No resources found${where}.\n`);
    return 0;
  }
  if (a.output === 'name') {
    for (const o of objects) io.out(`${KIND_NAME[r]}/${o.metadata.name}\n`);
    return 0;
  }
  const withNamespace = a.allNamespaces && !CLUSTER_SCOPED.has(r) && a.names.length === 0;
  const t = tableOf(r, objects, { wide: a.output === 'wide', withNamespace, now, showLabels: a.showLabels });
  io.out(renderTable(t.header, t.rows));
  return 0;
}

async function describe(c: Cluster, a: KubectlArgs, io: Io): Promise<number> {
  const r = a.resource!;
  const objects = await select(c, { ...a, names: [] });
  const wanted = a.names.length ? a.names : objects.map((o) => o.metadata.name);
  const texts: string[] = [];
  for (const name of wanted) {
    const o = objects.find((x) => x.metadata.name === name);
    if (!o) throw notFound(r, name);
    if (r === 'pods') texts.push(describePod(o as Parameters<typeof describePod>[0]));
    else if (r === 'deployments') texts.push(describeDeployment(o as DeploymentObject));
    else if (r === 'nodes') texts.push(describeNode(o as NodeObject, await c.pods()));
    else {
      const s = o as ServiceObject;
      const eps = (await listObjects(c, 'endpoints')) as EndpointsObject[];
      const ep = eps.find(
        (e) => e.metadata.name === s.metadata.name && e.metadata.namespace === s.metadata.namespace,
      );
      texts.push(describeService(s, ep));
    }
  }
  if (texts.length === 0) io.err(`No resources found in ${a.namespace ?? 'default'} namespace.\n`);
  io.out(texts.join('\n\n'));
  return 0;
}

/** The pod `exec`/`logs` act on: in the chosen cluster's etcd, in the namespace, and live here. */
async function livePod(sim: Simulation, c: Cluster, a: KubectlArgs): Promise<PodNode> {
  const name = a.names[0];
  const ns = a.namespace ?? 'default';
  const o = (await c.pods()).find((p) => p.metadata.name === name && p.metadata.namespace === ns);
  const node = sim.nodes.get(podNodeName(name, ns));
  if (!o || !(node instanceof PodNode) || node.cluster !== c.name) throw notFound('pods', name);
  return node;
}

/**
 * One kubectl command line (without the word kubectl). `exec` runs through `execIn`; `now` is
 * the clock AGE counts from (tests fix it).
 */
export async function runKubectl(
  sim: Simulation,
  argv: string[],
  io: Io,
  execIn: ExecIn,
  now = Date.now(),
): Promise<number> {
  try {
    const a = parseKubectl(argv);
    const c = contextCluster(sim, a.context);
    switch (a.verb) {
      case 'get':
        return printObjects(a, await select(c, a), now, io);
      case 'describe':
        return await describe(c, a, io);
      case 'logs': {
        const pod = await livePod(sim, c, a);
        const log = join(sim.dir, 'pods', `${pod.name}.log`);
        if (existsSync(log)) io.out(readFileSync(log, 'utf8'));
        return 0;
      }
      case 'exec': {
        const pod = await livePod(sim, c, a);
        // as in the pod itself: its resolv.conf over /etc/resolv.conf, so service names resolve
        return await execIn(pod.ns, withNetnsEtc(pod.ns, a.command));
      }
    }
  } catch (err) {
    const msg = (err as Error).message;
    io.err(err instanceof KubectlError ? `${msg}\n` : `error: ${msg}\n`);
    return 1;
  }
}

/** For the control channel: the output collected; an exec is handed back to run in the caller. */
export async function kubectlCommand(
  sim: Simulation,
  argv: string[],
): Promise<{ out: string; err: string; code: number; exec?: { ns: string; argv: string[] } }> {
  const r = { out: '', err: '', code: 0 } as {
    out: string;
    err: string;
    code: number;
    exec?: { ns: string; argv: string[] };
  };
  const io: Io = {
    out: (s) => {
      r.out += s;
    },
    err: (s) => {
      r.err += s;
    },
  };
  r.code = await runKubectl(sim, argv, io, async (ns, cmd) => {
    r.exec = { ns, argv: cmd };
    return 0;
  });
  return r;
}
