// A Kubernetes-style cluster at run time: the live object `C0` of the REPL. A facade over its
// etcd members and workers (here), its pods (cluster-pods.ts), services and DNS
// (cluster-services.ts) and network policies (cluster-policies.ts). Multi-cluster verbs
// (C0.peer, C0.skupperLink ...) are added by src/features/multicluster when it is registered.

import type { Etcd3 } from 'etcd3';
import type { RunResult } from '../../kernel/run.js';
import { ObjectKey } from '../../runtime/objects.js';
import { type MatrixResult, pingMatrix } from '../../runtime/ping.js';
import type { Simulation } from '../../runtime/simulation.js';
import type { Cidr } from '../../util/ipv4.js';
import { sleep } from '../../util/wait.js';
import type { NetworkPolicyObject } from './agent/policy.js';
import type { ClusterCore } from './cluster-core.js';
import { ClusterPods, type PodRequest, type ReflectedPod, type VirtualNode } from './cluster-pods.js';
import { addNetworkPolicy, deleteNetworkPolicy } from './cluster-policies.js';
import {
  addAddressService,
  addService,
  addVipService,
  endpointCounters,
  startDns,
} from './cluster-services.js';
import type { EtcdNode } from './etcd.js';
import { etcd3 } from './etcd-list.js';
import type { NetworkConfig } from './flannel.js';
import { publishLbPool } from './lb-pool.js';
import { type LeaseInfo, listLeases } from './leases.js';
import { type ApplyResult, applyManifests, deleteManifests } from './manifests/apply.js';
import type { ManifestInput } from './manifests/input.js';
import {
  ensureNamespace,
  ensureSystemNamespaces,
  listNamespaces,
  type NamespaceObject,
} from './namespaces.js';
import type { PodNode } from './pod.js';
import { listPods, type PodObject, podNodeName } from './registry.js';
import { createService, deleteService, listServices, type ServiceView } from './services/api.js';
import { EndpointsController } from './services/controller.js';
import { parseServiceCidr, type ServiceObject } from './services/objects.js';
import { serviceRangesOf } from './services/schema.js';
import { type ClusterConfig, networkConfig, resolveWorker } from './spec.js';
import type { WorkerNode } from './worker.js';

export type { PodRequest, ReflectedPod, VirtualNode } from './cluster-pods.js';
export type { LeaseInfo } from './leases.js';

/** `C0.addPod('virtual-C1', 'p1')`: the virtual node of a peered cluster (Liqo's offloading). */
export const VIRTUAL_NODE_PREFIX = 'virtual-';

/** The cluster object of a simulation, made on first use from a member's configuration. */
export function clusterOf(sim: Simulation, config: ClusterConfig): Cluster {
  let c = sim.objects.get(CLUSTERS, config.name);
  if (!c) {
    c = new Cluster(sim, config);
    sim.objects.set(CLUSTERS, config.name, c);
  }
  return c;
}

/** Live clusters, by name: `C0` in the REPL and scripts. */
export const CLUSTERS = new ObjectKey<Cluster>('cluster');

export function clustersOf(sim: Simulation): Cluster[] {
  return sim.objects.all(CLUSTERS);
}

export class Cluster implements ClusterCore {
  private etcdClient?: Etcd3;
  private configReady?: Promise<void>;
  private controller?: EndpointsController;
  private readonly podSet = new ClusterPods(this);

  constructor(
    readonly sim: Simulation,
    readonly config: ClusterConfig,
  ) {}

  get name(): string {
    return this.config.name;
  }

  get etcdMembers(): EtcdNode[] {
    return this.config.etcd.map((n) => this.sim.node(n) as EtcdNode);
  }

  get workers(): WorkerNode[] {
    return this.config.workers.map((n) => this.sim.node(n) as WorkerNode);
  }

  worker(name: string): WorkerNode {
    const full = resolveWorker(this.config, name);
    if (!full)
      throw new Error(
        `unknown worker "${name}" in ${this.name} (workers: ${this.config.workers.join(', ')})`,
      );
    return this.sim.node(full) as WorkerNode;
  }

  /** The etcd client of the main process: the members' Unix sockets (not the simulated network). */
  get etcd(): Etcd3 {
    const { Etcd3: Client } = etcd3();
    this.etcdClient ??= new Client({
      hosts: this.etcdMembers.map((m) => `unix://${m.socketPath}`),
      dialTimeout: 1000,
    });
    return this.etcdClient;
  }

  get networkConfig(): NetworkConfig {
    return networkConfig(this.config);
  }

  /** Health of each member (etcd's /health). */
  async health(): Promise<Record<string, boolean>> {
    const res = await Promise.all(this.etcdMembers.map(async (m) => [m.name, await m.health()] as const));
    return Object.fromEntries(res);
  }

  /** Waits until a quorum answers. */
  async waitHealthy(timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const h = await this.health();
      if (Object.values(h).some(Boolean)) return;
      const dead = this.etcdMembers.filter((m) => !m.running);
      if (dead.length > this.etcdMembers.length / 2 || Date.now() > deadline)
        throw new Error(
          `${this.name}: etcd has no quorum${dead.length ? ` (${dead.map((m) => m.name).join(', ')} not running)` : ''}:\n${this.etcdMembers[0].tail(8)}`,
        );
      await sleep(20);
    }
  }

  /** flannel's network config at `<prefix>/config` once etcd answers (an existing one stays), the LoadBalancer pool. */
  ensureNetworkConfig(): Promise<void> {
    this.configReady ??= (async () => {
      await this.waitHealthy();
      const key = `${this.config.prefix}/config`;
      await this.etcd
        .if(key, 'Create', '==', 0)
        .then(this.etcd.put(key).value(JSON.stringify(this.networkConfig)))
        .commit();
      await ensureSystemNamespaces(this.etcd);
      await publishLbPool(this.etcd, this.config, this.sim.model);
      this.controller = new EndpointsController(this.etcd);
      await this.controller.start();
      const existing = new Set((await listServices(this.etcd)).map((s) => `${s.namespace}/${s.name}`));
      for (const [name, spec] of Object.entries(this.config.services))
        if (!existing.has(`${spec.namespace ?? 'default'}/${name}`)) {
          // a topology's service may name a namespace: made with it
          if (spec.namespace) await ensureNamespace(this.etcd, spec.namespace);
          await createService(this.etcd, name, spec, serviceRangesOf(this.config));
        }
    })();
    this.configReady.catch(() => {
      this.configReady = undefined;
    });
    return this.configReady;
  }

  get serviceCidr(): Cidr {
    return parseServiceCidr(this.config.serviceCidr);
  }

  get endpointsController(): EndpointsController | undefined {
    return this.controller;
  }

  /** Cluster DNS in worker `w`, behind the kube-dns service every pod's resolv.conf names. */
  startDns(w: WorkerNode): Promise<void> {
    return startDns(
      this,
      w,
      this.etcdMembers.map((m) => `http://${m.ip}:2379`),
    );
  }

  /**
   * A NetworkPolicy (networking.k8s.io/v1 spec: podSelector, policyTypes, ingress.from /
   * egress.to with podSelector, namespaceSelector, ipBlock, and ports), enforced by every
   * worker's agent for its own pods.
   */
  addNetworkPolicy(name: string, spec: unknown, namespace = 'default'): Promise<NetworkPolicyObject> {
    return addNetworkPolicy(this, name, spec, namespace);
  }

  deleteNetworkPolicy(name: string, namespace = 'default'): Promise<void> {
    return deleteNetworkPolicy(this, name, namespace);
  }

  // ---- manifests (src/features/k8s/manifests) ----

  /**
   * `C0.apply('app.yaml')` (a file, a directory, YAML text or manifest objects): Pods, Services
   * and NetworkPolicies validated as a whole, then created, replaced or left as they are.
   */
  apply(input: ManifestInput): Promise<ApplyResult> {
    return applyManifests(this, input);
  }

  /** `C0.delete('app.yaml')`: removes the objects the manifests name. */
  delete(input: ManifestInput): Promise<ApplyResult> {
    return deleteManifests(this, input);
  }

  // ---- services (kube-proxy's nftables mode in every worker) ----

  /** `C0.addService('web', {selector: {app: 'web'}, ports: [{port: 80, targetPort: 8000}]})` */
  addService(name: string, spec: unknown): Promise<ServiceObject> {
    return addService(this, name, spec);
  }

  async deleteService(name: string, namespace = 'default'): Promise<void> {
    await deleteService(this.etcd, name, namespace);
  }

  /** A ClusterIP service whose endpoints are fixed addresses, not pods (e.g. a Skupper listener). */
  addAddressService(
    name: string,
    ports: { port: number; targetPort: number }[],
    ips: string[],
  ): Promise<ServiceObject> {
    return addAddressService(this, name, ports, ips);
  }

  /** Services with their ClusterIP, ports and current endpoints. */
  services(): Promise<ServiceView[]> {
    return listServices(this.etcd);
  }

  /**
   * knetsim's `kp_vip_add(vip, pods)`: a service on `vip` (any address, not only the service
   * CIDR, as knetsim allowed) to these pods, TCP `port` (default 80), answering ping.
   */
  kp_vip_add(vip: string, pods: string[], opts: { port?: number; targetPort?: number } = {}) {
    return addVipService(this, vip, pods, opts);
  }

  kpVipAdd(vip: string, pods: string[], opts?: { port?: number; targetPort?: number }) {
    return this.kp_vip_add(vip, pods, opts);
  }

  /** Packets DNATed to each endpoint of a service, summed over the workers (the endpoint chains' counters). */
  endpointCounters(name: string, namespace = 'default'): Promise<Record<string, number>> {
    return endpointCounters(this, name, namespace);
  }

  /** Subnet leases under `<prefix>/subnets/`, with the worker that holds each. */
  leases(): Promise<LeaseInfo[]> {
    return listLeases(this.etcd, this.config.prefix, this.workers);
  }

  // ---- pods ----

  /** Pods as the registry in etcd has them. */
  pods(): Promise<PodObject[]> {
    return listPods(this.etcd);
  }

  /** Live pod objects of this cluster (for exec, ping...). */
  localPods(): PodNode[] {
    return this.podSet.local();
  }

  /** A live pod by its node name (`c1`, `web.prod`), or by name and namespace. */
  pod(name: string, namespace?: string): PodNode {
    const node = namespace ? podNodeName(name, namespace) : name;
    const p = this.localPods().find((x) => x.name === node);
    if (!p)
      throw new Error(
        `no pod "${node}" in ${this.name} (pods: ${
          this.localPods()
            .map((x) => x.name)
            .join(', ') || 'none'
        })`,
      );
    return p;
  }

  /** knetsim's `C0.addPod('w1', 'c1')`, with labels, a command, a namespace (its node: `c1.prod`). */
  async addPod(
    worker: string,
    name: string,
    opts: {
      labels?: Record<string, string>;
      command?: string;
      ports?: PodRequest['ports'];
      /** e.g. {'kubernetes.io/ingress-bandwidth': '5M'} (the bandwidth plugin shapes the pod) */
      annotations?: Record<string, string>;
      namespace?: string;
    } = {},
  ): Promise<PodNode> {
    if (worker.startsWith(VIRTUAL_NODE_PREFIX))
      return this.offloadPod(worker.slice(VIRTUAL_NODE_PREFIX.length), name, opts);
    const [pod] = await this.createPods([{ name, worker, ...opts }]);
    return pod;
  }

  /**
   * A pod on the virtual node of cluster `remote` (`C0.addPod('virtual-C1', 'p1')`): runs it
   * there and reflects it here. Multi-cluster peering (src/features/multicluster/liqo)
   * provides it; without that feature there are no virtual nodes.
   */
  offloadPod(
    remote: string,
    _name: string,
    _opts: { labels?: Record<string, string>; command?: string },
  ): Promise<PodNode> {
    return Promise.reject(
      new Error(`no virtual node "${VIRTUAL_NODE_PREFIX}${remote}": multi-cluster peering is not registered`),
    );
  }

  /** Puts a pod that runs in another cluster into this one's registry, on a virtual node. */
  reflectPod(pod: ReflectedPod): Promise<void> {
    return this.podSet.reflect(pod);
  }

  /** Virtual nodes (one per peered cluster that runs offloaded pods) and their pods as this cluster sees them. */
  virtualNodes(): VirtualNode[] {
    return this.podSet.virtualNodes();
  }

  /**
   * Creates pods in batches: checks every request first (nothing is made if one is wrong),
   * registers them and takes their addresses in etcd, then makes all namespaces, veths and
   * addresses as one plan fragment applied through the simulation.
   */
  createPods(reqs: PodRequest[]): Promise<PodNode[]> {
    return this.podSet.create(reqs);
  }

  /** Deletes a pod (by node name, or name and namespace): processes, netns, object, address. */
  deletePod(name: string, namespace?: string): Promise<void> {
    return this.podSet.delete(namespace ? podNodeName(name, namespace) : name);
  }

  /** Namespaces as etcd has them (default, kube-system, ... and those applied). */
  async namespaces(): Promise<NamespaceObject[]> {
    await this.ensureNetworkConfig();
    return listNamespaces(this.etcd);
  }

  /** Every pod of the cluster pings every other (one fping per pod). */
  pingPods(opts: { timeoutMs?: number } = {}): Promise<MatrixResult> {
    return pingMatrix(
      this.localPods().map((p) => ({ name: p.name, ns: p.ns, ip: p.ip! })),
      opts,
    );
  }

  /** etcdctl against the whole cluster, run inside the first member that is up. */
  etcdctl(args: string): Promise<RunResult> {
    const m = this.etcdMembers.find((x) => x.running) ?? this.etcdMembers[0];
    return m.exec(`etcdctl ${args}`);
  }

  /** Closes the main process's etcd connections (at teardown). */
  close(): void {
    this.controller?.close();
    this.controller = undefined;
    this.etcdClient?.close();
    this.etcdClient = undefined;
  }

  toString(): string {
    return `<cluster ${this.name}: ${this.config.etcd.length} etcd, ${this.config.workers.length} workers, ${this.localPods().length} pods, ${this.config.podCidr}${this.config.podCidr6 ? ` ${this.config.podCidr6}` : ''}>`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
