// Kubernetes-style clusters as a feature: the cluster, etcd, worker and pod kinds with their
// runtime (etcd members, the workers' agents, pods), the cluster verbs, clusters as node
// groups, and the cluster's metrics.
import type { NodeModel } from '../../model/model.js';
import type { Plugin } from '../../runtime/plugin.js';
import type { Simulation } from '../../runtime/simulation.js';
import { formatIp } from '../../util/ipv4.js';
import { startWorkerBgp } from './bgp.js';
import { createTopologyPods, startClusterAgents } from './boot.js';
import { clusterOf, clustersOf } from './cluster.js';
import { EtcdNode } from './etcd.js';
import { ingressVerbs, installIngressMethods, startIngress, stopIngress } from './ingress/index.js';
import { clusterKind } from './kinds/cluster.js';
import { etcdKind } from './kinds/etcd.js';
import { podKind } from './kinds/pod.js';
import { workerKind } from './kinds/worker.js';
import { kubectlVerbs } from './kubectl/verbs.js';
import { applyTopologyManifests } from './manifests/topology.js';
import { manifestVerbs } from './manifests/verbs.js';
import { k8sMetrics } from './metrics.js';
import { PodNode } from './pod.js';
import { settleServices } from './settle.js';
import { interruptWorkers, k8sVerbs } from './verbs.js';
import { WorkerNode } from './worker.js';

/** A member's live object; the first member of a cluster also makes the cluster's. */
function member<N extends EtcdNode | WorkerNode>(Node: new (sim: Simulation, node: NodeModel) => N) {
  return (node: NodeModel, sim: Simulation): N => {
    const n = new Node(sim, node);
    clusterOf(sim, n.config);
    return n;
  };
}

export const k8sPlugin: Plugin = {
  name: 'k8s',
  kinds: [
    { kind: clusterKind },
    {
      kind: etcdKind,
      runtime: {
        createRuntime: member(EtcdNode),
        // spawn only: members answer once a quorum has started, which workers wait for
        start: async (node) => (node as EtcdNode).start(),
        async stop(node) {
          const n = node as EtcdNode;
          stopIngress(clusterOf(n.sim, n.config));
          clusterOf(n.sim, n.config).close();
          await n.stop();
        },
      },
    },
    {
      kind: workerKind,
      runtime: {
        createRuntime: member(WorkerNode),
        async start(node, sim) {
          const w = node as WorkerNode;
          const cluster = clusterOf(sim, w.config);
          // all the cluster's agents at once, its topology pods in one batch (boot.ts)
          await startClusterAgents(cluster);
          const env = await w.waitReady();
          if (w.config.bgp)
            w.frr = await startWorkerBgp(w, sim.model, `${formatIp(env.subnet.ip)}/${env.subnet.prefix}`);
          if (w.config.dns && w.name === w.config.workers[0]) await cluster.startDns(w);
          await createTopologyPods(cluster);
          // the cluster's manifests, once every worker has its subnet
          if (w.name === w.config.workers.at(-1)) {
            await applyTopologyManifests(cluster, sim.model);
            await startIngress(cluster);
          }
        },
        stop: async (node) => {
          await (node as WorkerNode).frr?.stop();
          await (node as WorkerNode).stopAgent();
        },
      },
    },
    { kind: podKind },
  ],
  verbs: (ctx) => [
    ...k8sVerbs(ctx.sim, ctx.io, (line, from) => ctx.substitute(line, from)),
    ...manifestVerbs(ctx.sim, ctx.io, () => clustersOf(ctx.sim)),
    ...kubectlVerbs(ctx),
    ...ingressVerbs(ctx.sim, ctx.io),
  ],
  install: installIngressMethods,
  interrupt: interruptWorkers,
  groups: (sim) =>
    clustersOf(sim).map((c) => ({
      name: c.name,
      kind: 'cluster',
      detail: c.config.podCidr,
      members: [...sim.nodes.values()]
        .filter((n) => (n instanceof PodNode ? n.cluster : n.model.spec.cluster) === c.name)
        .map((n) => n.name),
    })),
  async nodeDetails(_sim, node) {
    return node instanceof PodNode ? { labels: node.labels } : undefined;
  },
  metrics: k8sMetrics,
  settle: settleServices,
};
