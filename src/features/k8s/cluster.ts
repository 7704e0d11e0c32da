// A Kubernetes-style cluster at run time: its etcd members, its workers, its pod network
// config in etcd, and its pods (objects in etcd, namespaces in the kernel). The live object
// `C0` of the REPL; `C0.addPod('w1', 'c1', {labels})` as in knetsim.

import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { Kernel } from '../../kernel/kernel.js';
import { processStartTime } from '../../kernel/proc.js';
import type { RunResult } from '../../kernel/run.js';
import { formatPath } from '../../model/errors.js';
import { type MatrixResult, pingMatrix } from '../../runtime/ping.js';
import type { Simulation } from '../../runtime/simulation.js';
import { type Cidr, formatCidr, formatIp, networkOf, parseIp } from '../../util/ipv4.js';
import { type Peering, peer, peeringsOf, unpeer, viewOf } from '../multicluster/liqo/peering.js';
import {
  type ExposeOptions,
  encodeToken,
  type SkupperSite,
  type SkupperToken,
  siteOf,
} from '../multicluster/skupper/site.js';
import { type NetworkPolicyObject, POLICY_PREFIX } from './agent/policy.js';
import type { EtcdNode } from './etcd.js';
import { etcd3 } from './etcd-list.js';
import { type LeaseAttrs, type NetworkConfig, parseLease, type SubnetEnv, subnetOfKey } from './flannel.js';
import { PodNode, planPods, podModel, podNamespace, podResolvConf, resolvConfPath } from './pod.js';
import {
  DuplicatePodError,
  getPod,
  listPods,
  POD_NAMESPACE,
  type PodObject,
  podKey,
  registerPods,
  unregisterPod,
  updatePods,
} from './registry.js';
import {
  createService,
  deleteService,
  dnsServiceIp,
  listServices,
  parseServiceSpec,
  type ServiceView,
} from './services/api.js';
import { EndpointsController } from './services/controller.js';
import { ANNOTATION_IPS, parseServiceCidr, type ServiceObject, specKey } from './services/objects.js';
import { policySpecSchema, type ServiceSpec } from './services/schema.js';
import { type ClusterConfig, networkConfig, POD_NAME_RE, resolveWorker } from './spec.js';
import { AGENT_NODE_FLAGS, DNS_MAIN, type WorkerNode } from './worker.js';

export interface PodRequest {
  name: string;
  /** "w1" or "C0w1" */
  worker: string;
  labels?: Record<string, string>;
  command?: string;
}

export interface LeaseInfo {
  subnet: string;
  worker?: string;
  attrs: LeaseAttrs;
  /** the raw value, as flanneld would read it */
  value: string;
  lease: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `C0.addPod('virtual-C1', 'p1')`: the virtual node of a peered cluster (Liqo's offloading). */
export const VIRTUAL_NODE_PREFIX = 'virtual-';

/** The cluster object of a simulation, made on first use from a member's configuration. */
export function clusterOf(sim: Simulation, config: ClusterConfig): Cluster {
  let c = sim.objects.get(config.name) as Cluster | undefined;
  if (!c) {
    c = new Cluster(sim, config);
    sim.objects.set(config.name, c);
  }
  return c;
}

export class Cluster {
  private etcdClient?: Etcd3;
  private configReady?: Promise<void>;
  private readonly podProcs = new Map<string, { pid: number; start?: string }>();
  private controller?: EndpointsController;
  /** pods offloaded to peered clusters (Liqo-style), by name */
  private readonly offloaded = new Map<string, { remote: Cluster; object: PodObject }>();

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
      await sleep(50);
    }
  }

  /**
   * Writes flannel's network config at `<prefix>/config` once etcd answers (as an operator does
   * with etcdctl before starting flanneld); an existing config is left as it is.
   */
  ensureNetworkConfig(): Promise<void> {
    this.configReady ??= (async () => {
      await this.waitHealthy();
      const key = `${this.config.prefix}/config`;
      await this.etcd
        .if(key, 'Create', '==', 0)
        .then(this.etcd.put(key).value(JSON.stringify(this.networkConfig)))
        .commit();
      this.controller = new EndpointsController(this.etcd);
      await this.controller.start();
      const existing = new Set((await listServices(this.etcd)).map((s) => `${s.namespace}/${s.name}`));
      for (const [name, spec] of Object.entries(this.config.services))
        if (!existing.has(`${spec.namespace ?? 'default'}/${name}`))
          await createService(this.etcd, name, spec, this.serviceCidr);
    })();
    this.configReady.catch(() => {
      this.configReady = undefined;
    });
    return this.configReady;
  }

  get serviceCidr(): Cidr {
    return parseServiceCidr(this.config.serviceCidr);
  }

  /**
   * Cluster DNS: a process in worker `w` serving on its cni0 address, behind the kube-dns
   * service (kube-system, the 10th address of the service CIDR) that every pod's resolv.conf names.
   */
  async startDns(w: WorkerNode): Promise<void> {
    const env = await w.waitReady();
    const listen = formatIp(env.subnet.ip);
    const members = this.etcdMembers.map((m) => `http://${m.ip}:2379`).join(',');
    mkdirSync(w.dir, { recursive: true });
    this.sim.kernel.spawnDaemon({
      ns: w.ns,
      cmd: process.execPath,
      args: [
        ...AGENT_NODE_FLAGS,
        DNS_MAIN,
        `--etcd-endpoints=${members}`,
        `--listen=${listen}`,
        `--name=${this.name}-dns`,
      ],
      logFile: join(w.dir, 'dns.log'),
    });
    await this.ensureNetworkConfig();
    const existing = await this.etcd.get(specKey('kube-system', 'kube-dns')).string();
    if (existing) return;
    const svc = await createService(
      this.etcd,
      'kube-dns',
      {
        namespace: 'kube-system',
        clusterIP: dnsServiceIp(this.serviceCidr),
        ports: [{ name: 'dns', protocol: 'UDP', port: 53, targetPort: 53 }],
      },
      this.serviceCidr,
      { annotations: { [ANNOTATION_IPS]: listen } },
    );
    this.controller?.observe(specKey('kube-system', 'kube-dns'), svc);
  }

  /**
   * A NetworkPolicy (networking.k8s.io/v1 spec: podSelector, policyTypes, ingress.from /
   * egress.to with podSelector, namespaceSelector, ipBlock, and ports), enforced by every
   * worker's agent for its own pods.
   */
  async addNetworkPolicy(name: string, spec: unknown, namespace = 'default'): Promise<NetworkPolicyObject> {
    const res = policySpecSchema.safeParse(spec);
    if (!res.success)
      throw new Error(
        `network policy "${name}": ${res.error.issues.map((i) => `${formatPath(i.path as (string | number)[]) || '(spec)'}: ${i.message}`).join('; ')}`,
      );
    const obj: NetworkPolicyObject = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name, namespace },
      spec: res.data as NetworkPolicyObject['spec'],
    };
    await this.ensureNetworkConfig();
    await this.etcd.put(`${POLICY_PREFIX}${namespace}/${name}`).value(JSON.stringify(obj));
    return obj;
  }

  async deleteNetworkPolicy(name: string, namespace = 'default'): Promise<void> {
    await this.etcd.delete().key(`${POLICY_PREFIX}${namespace}/${name}`);
  }

  // ---- services (kube-proxy's nftables mode in every worker) ----

  /** `C0.addService('web', {selector: {app: 'web'}, ports: [{port: 80, targetPort: 8000}]})` */
  async addService(name: string, spec: unknown): Promise<ServiceObject> {
    const parsed = parseServiceSpec(name, spec, this.serviceCidr);
    for (const p of parsed.pods ?? []) this.pod(p);
    await this.ensureNetworkConfig();
    const svc = await createService(this.etcd, name, parsed, this.serviceCidr);
    this.controller?.observe(specKey(svc.metadata.namespace, name), svc);
    await this.controller?.settled();
    return svc;
  }

  async deleteService(name: string, namespace = 'default'): Promise<void> {
    await deleteService(this.etcd, name, namespace);
  }

  /** A ClusterIP service whose endpoints are fixed addresses, not pods (e.g. a Skupper listener). */
  async addAddressService(
    name: string,
    ports: { port: number; targetPort: number }[],
    ips: string[],
  ): Promise<ServiceObject> {
    await this.ensureNetworkConfig();
    const svc = await createService(this.etcd, name, { ports }, this.serviceCidr, {
      annotations: { [ANNOTATION_IPS]: ips.join(',') },
    });
    this.controller?.observe(specKey(svc.metadata.namespace, name), svc);
    await this.controller?.settled();
    return svc;
  }

  // ---- Skupper-style service interconnect (src/features/multicluster/skupper) ----

  /** A token for one link to this cluster's site router (a client certificate from its site CA). */
  async skupperToken(opts: { cost?: number } = {}): Promise<string> {
    return encodeToken(await (await siteOf(this)).token(opts));
  }

  /** Links this cluster's site router to the token's site (mutual TLS over the underlay). */
  async skupperLink(
    token: string | SkupperToken,
    opts: { name?: string; cost?: number } = {},
  ): Promise<string> {
    return (await siteOf(this)).link(token, opts);
  }

  /** Revokes a token this cluster's site issued: its link closes and stays refused. */
  async skupperRevoke(token: string | SkupperToken): Promise<{ closed: number }> {
    return (await siteOf(this)).revoke(token);
  }

  async skupperUnlink(name: string): Promise<void> {
    await (await siteOf(this)).unlink(name);
  }

  /** `C0.skupperExpose('svc1', {port: 80})`: other sites get a listener and a ClusterIP service svc1. */
  async skupperExpose(name: string, opts: ExposeOptions): Promise<{ key: string; listenerPort: number }> {
    return (await siteOf(this)).expose(name, opts);
  }

  async skupperUnexpose(name: string, opts: { routingKey?: string } = {}): Promise<void> {
    await (await siteOf(this)).unexpose(name, opts);
  }

  /** The site router's links, routes, connectors and listeners. */
  async skupperStatus(): Promise<Record<string, unknown>> {
    return (await siteOf(this)).status();
  }

  /** The site object (waitLink, waitRoute, ...). */
  skupperSite(): Promise<SkupperSite> {
    return siteOf(this);
  }

  // ---- Liqo-style peering (src/features/multicluster/liqo) ----

  private clusterNamed(other: Cluster | string): Cluster {
    if (typeof other !== 'string') return other;
    const c = this.sim.objects.get(other);
    if (!(c instanceof Cluster)) throw new Error(`no cluster "${other}"`);
    return c;
  }

  /** Peers with another cluster: gateways, a VXLAN tunnel, remapped pod CIDRs (`C0.peer('C1')`). */
  peer(other: Cluster | string, opts: { remap?: [string, string] } = {}): Promise<Peering> {
    return peer(this, this.clusterNamed(other), opts);
  }

  unpeer(other: Cluster | string): Promise<void> {
    return unpeer(this, this.clusterNamed(other));
  }

  /** This cluster's peerings. */
  peerings(): Peering[] {
    return [...peeringsOf(this.sim).values()].filter((p) => p.sides.some((s) => s.cluster === this.name));
  }

  /** Where this cluster sees a pod of a peered cluster: `C0.remoteIp('C1', 'b1')` (pod name or IP). */
  remoteIp(other: Cluster | string, pod: string): string {
    const c = this.clusterNamed(other);
    const ip = parseIp(pod) !== undefined ? pod : c.pod(pod).ip!;
    return viewOf(this.sim, this.name, c.name, ip);
  }

  /** Services with their ClusterIP, ports and current endpoints. */
  services(): Promise<ServiceView[]> {
    return listServices(this.etcd);
  }

  /**
   * knetsim's `kp_vip_add(vip, pods)`: a service on `vip` (any address, not only the service
   * CIDR, as knetsim allowed) to these pods, TCP `port` (default 80), answering ping.
   */
  async kp_vip_add(vip: string, pods: string[], opts: { port?: number; targetPort?: number } = {}) {
    if (parseIp(vip) === undefined) throw new Error(`kp_vip_add: "${vip}" is not an IPv4 address`);
    for (const p of pods) this.pod(p);
    await this.ensureNetworkConfig();
    const spec: ServiceSpec = {
      clusterIP: vip,
      pods,
      ports: [{ port: opts.port ?? 80, targetPort: opts.targetPort ?? opts.port ?? 80 }],
      answerPing: true,
    };
    const svc = await createService(this.etcd, `vip-${vip.replaceAll('.', '-')}`, spec, this.serviceCidr);
    this.controller?.observe(specKey(svc.metadata.namespace, svc.metadata.name), svc);
    await this.controller?.settled();
    return svc;
  }

  kpVipAdd(vip: string, pods: string[], opts?: { port?: number; targetPort?: number }) {
    return this.kp_vip_add(vip, pods, opts);
  }

  /** Packets DNATed to each endpoint of a service, summed over the workers (the endpoint chains' counters). */
  async endpointCounters(name: string, namespace = 'default'): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    await Promise.all(
      this.workers.map(async (w) => {
        const r = await w.exec('nft -j list table ip kube-proxy');
        if (r.exitCode !== 0) return;
        const doc = JSON.parse(r.stdout) as {
          nftables: { rule?: { chain: string; expr: { counter?: { packets: number } }[] } }[];
        };
        for (const x of doc.nftables) {
          const rule = x.rule;
          if (!rule?.chain.startsWith('endpoint-')) continue;
          const m = /^endpoint-[A-Z2-7]{8}-([^/]+)\/([^/]+)\/(tcp|udp|icmp)[^_]*__([\d.]+)/.exec(rule.chain);
          if (!m || m[1] !== namespace || m[2] !== name) continue;
          const c = rule.expr.find((e) => e.counter)?.counter;
          if (!c) continue;
          const key = `${m[4]} ${m[3]}`;
          out[key] = (out[key] ?? 0) + c.packets;
        }
      }),
    );
    return out;
  }

  /** Subnet leases under `<prefix>/subnets/`, with the worker that holds each. */
  async leases(): Promise<LeaseInfo[]> {
    const res = await this.etcd.getAll().prefix(`${this.config.prefix}/subnets/`).exec();
    const out: LeaseInfo[] = [];
    for (const kv of res.kvs) {
      const key = kv.key.toString();
      const subnet = subnetOfKey(this.config.prefix, key);
      const value = kv.value.toString();
      const attrs = parseLease(value);
      if (!subnet || !attrs) continue;
      out.push({
        subnet: formatCidr(subnet),
        worker: this.workers.find((w) => w.ip === attrs.PublicIP)?.name,
        attrs,
        value,
        lease: kv.lease,
      });
    }
    return out;
  }

  /** Pods as the registry in etcd has them. */
  pods(): Promise<PodObject[]> {
    return listPods(this.etcd);
  }

  /** Live pod objects of this cluster (for exec, ping...). */
  localPods(): PodNode[] {
    return [...this.sim.nodes.values()].filter(
      (n): n is PodNode => n instanceof PodNode && n.cluster === this.name,
    );
  }

  pod(name: string): PodNode {
    const p = this.localPods().find((x) => x.name === name);
    if (!p)
      throw new Error(
        `no pod "${name}" in ${this.name} (pods: ${
          this.localPods()
            .map((x) => x.name)
            .join(', ') || 'none'
        })`,
      );
    return p;
  }

  /** knetsim's `C0.addPod('w1', 'c1')`, with labels and an optional command. */
  async addPod(
    worker: string,
    name: string,
    opts: { labels?: Record<string, string>; command?: string } = {},
  ): Promise<PodNode> {
    if (worker.startsWith(VIRTUAL_NODE_PREFIX))
      return this.offloadPod(worker.slice(VIRTUAL_NODE_PREFIX.length), name, opts);
    const [pod] = await this.createPods([{ name, worker, ...opts }]);
    return pod;
  }

  /**
   * Liqo-style offloading: `C0.addPod('virtual-C1', 'p1')` runs p1 in C1 (peering first if
   * needed) and reflects it here as a pod of the virtual node virtual-C1 with its remapped IP,
   * so this cluster's services select it and kube-proxy sends their traffic through the tunnel.
   */
  private async offloadPod(
    remoteName: string,
    name: string,
    opts: { labels?: Record<string, string>; command?: string },
  ): Promise<PodNode> {
    const remote = this.clusterNamed(remoteName);
    if (!this.peerings().some((p) => p.sides.some((s) => s.cluster === remote.name))) await this.peer(remote);
    const workers = remote.config.workers;
    const pod = await remote.addPod(workers[workers.length - 1], name, {
      ...opts,
      labels: { ...opts.labels, 'liqo.io/origin-cluster': this.name },
    });
    const shadow: PodObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: POD_NAMESPACE,
        uid: randomUUID(),
        labels: opts.labels ?? {},
        creationTimestamp: new Date().toISOString(),
      },
      spec: {
        nodeName: `${VIRTUAL_NODE_PREFIX}${remote.name}`,
        ...(opts.command ? { command: opts.command } : {}),
      },
      status: { phase: 'Running', podIP: this.remoteIp(remote, pod.ip!), hostIP: remote.name, netns: pod.ns },
    };
    await this.ensureNetworkConfig();
    await this.etcd.put(podKey(name)).value(JSON.stringify(shadow));
    this.controller?.observe(podKey(name), shadow);
    await this.controller?.settled();
    this.offloaded.set(name, { remote, object: shadow });
    return pod;
  }

  /** Virtual nodes (one per peered cluster that runs offloaded pods) and their pods as this cluster sees them. */
  virtualNodes(): {
    name: string;
    cluster: string;
    pods: { name: string; ip: string; remoteIp: string }[];
  }[] {
    const out = new Map<
      string,
      { name: string; cluster: string; pods: { name: string; ip: string; remoteIp: string }[] }
    >();
    for (const [name, o] of this.offloaded) {
      const node = o.object.spec.nodeName;
      if (!out.has(node)) out.set(node, { name: node, cluster: o.remote.name, pods: [] });
      out.get(node)!.pods.push({ name, ip: o.object.status.podIP, remoteIp: o.remote.pod(name).ip! });
    }
    return [...out.values()];
  }

  /**
   * Creates pods in batches: checks every request first (nothing is made if one is wrong),
   * registers them and takes their addresses in etcd, then makes all namespaces, veths and
   * addresses through the kernel layer in a few batches.
   */
  async createPods(reqs: PodRequest[]): Promise<PodNode[]> {
    if (reqs.length === 0) return [];
    const byWorker = new Map<WorkerNode, PodRequest[]>();
    const seen = new Set<string>();
    for (const r of reqs) {
      if (!POD_NAME_RE.test(r.name))
        throw new Error(
          `invalid pod name "${r.name}": lower-case letters, digits and -, at most 32, starting and ending with a letter or digit`,
        );
      const worker = this.worker(r.worker);
      if (seen.has(r.name)) throw new Error(`pod "${r.name}" is requested twice`);
      seen.add(r.name);
      const other = this.sim.nodes.get(r.name);
      if (other instanceof PodNode)
        throw new Error(
          `a pod named "${r.name}" already exists (in ${other.cluster} on ${other.worker}, ${other.ip})`,
        );
      if (other)
        throw new Error(`"${r.name}" is already the name of a node (${other.kind}): pick another pod name`);
      byWorker.set(worker, [...(byWorker.get(worker) ?? []), r]);
    }
    await this.ensureNetworkConfig();
    const made: PodNode[] = [];
    const envs = new Map<WorkerNode, SubnetEnv>();
    await Promise.all([...byWorker.keys()].map(async (w) => envs.set(w, await w.waitReady())));
    try {
      // 1. etcd: objects (Pending) and addresses, one transaction per worker chunk
      for (const [worker, list] of byWorker) {
        const env = envs.get(worker)!;
        const subnet = networkOf(env.subnet.ip, env.subnet.prefix);
        for (let i = 0; i < list.length; i += 100) {
          const chunk = list.slice(i, i + 100);
          const objects = chunk.map((r) => this.podObject(r, worker));
          const ips = await registerPods(this.etcd, subnet, objects, (p, ip) => ({
            phase: 'Pending',
            podIP: formatIp(ip),
            hostIP: worker.ip,
            netns: podNamespace(this.sim.name, worker.name, p.metadata.name),
          }));
          for (const o of objects) {
            const ip = ips.get(o.metadata.name)!;
            const model = podModel(this.sim.name, worker.name, o.metadata.name, ip, env.subnet.prefix);
            const object: PodObject = {
              ...o,
              status: { phase: 'Pending', podIP: formatIp(ip), hostIP: worker.ip, netns: model.ns },
            };
            made.push(new PodNode(this.sim, model, worker.name, this.name, object));
          }
        }
      }
      // 2. kernel: namespaces (ledger first), veths, one script per namespace
      const k = this.sim.kernel;
      await k.addNamespaces(made.map((p) => p.ns));
      const veths = [];
      const scripts = new Map();
      for (const [worker] of byWorker) {
        const mine = made.filter((p) => p.worker === worker.name);
        const plan = planPods(
          worker.ns,
          envs.get(worker)!,
          mine.map((p) => ({ ns: p.ns, ip: p.model.ifaces[0].addr!.ip })),
        );
        veths.push(...plan.veths);
        for (const [ns, s] of plan.scripts) scripts.set(ns, s);
      }
      await k.addVeths(veths);
      await k.applyScripts(scripts);
      if (this.config.dns) {
        const ns = dnsServiceIp(this.serviceCidr);
        k.writeNetnsFiles(
          made.map((p) => ({
            ns: p.ns,
            file: 'resolv.conf',
            content: podResolvConf(ns, p.object.metadata.namespace),
          })),
        );
        for (const p of made) p.resolvConf = resolvConfPath(p.ns);
      }
      this.sim.addRuntimeNodes(made.map((p) => ({ node: p, parent: p.worker })));
      // 3. commands, then the objects become Running
      for (const p of made) {
        const command = p.object.spec.command;
        if (command) {
          const logFile = join(this.sim.dir, 'pods', `${p.name}.log`);
          mkdirSync(join(this.sim.dir, 'pods'), { recursive: true });
          const pid = k.spawnDaemon({
            ns: p.ns,
            cmd: 'sh',
            args: ['-c', p.shellLine(`exec ${command}`)],
            logFile,
          });
          this.podProcs.set(p.name, { pid, start: processStartTime(pid) });
          p.object.status.pid = pid;
        }
        p.object.status.phase = 'Running';
      }
      await updatePods(
        this.etcd,
        made.map((p) => p.object),
      );
      return made;
    } catch (err) {
      await this.removePods(made).catch(() => {});
      if (err instanceof DuplicatePodError) throw new Error(err.message);
      throw err;
    }
  }

  private podObject(r: PodRequest, worker: WorkerNode): Omit<PodObject, 'status'> {
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: r.name,
        namespace: POD_NAMESPACE,
        uid: randomUUID(),
        labels: r.labels ?? {},
        creationTimestamp: new Date().toISOString(),
      },
      spec: { nodeName: worker.name, ...(r.command ? { command: r.command } : {}) },
    };
  }

  /** Deletes a pod: its processes and namespace, then its object and address in etcd. */
  async deletePod(name: string): Promise<void> {
    const off = this.offloaded.get(name);
    if (off) {
      this.offloaded.delete(name);
      await this.etcd.delete().key(podKey(name));
      this.controller?.observe(podKey(name), undefined);
      await this.controller?.settled();
      await off.remote.deletePod(name);
      return;
    }
    const pod = this.pod(name);
    await this.removePods([pod]);
  }

  private async removePods(pods: PodNode[]): Promise<void> {
    if (pods.length === 0) return;
    const k = this.sim.kernel;
    // like Kubernetes: the pod leaves its services' endpoints before its processes stop
    const terminating = pods
      .filter((p) => p.object.status.phase === 'Running')
      .map((p) => ({
        ...p.object,
        metadata: { ...p.object.metadata, deletionTimestamp: new Date().toISOString() },
      }));
    if (terminating.length && this.controller) {
      await updatePods(this.etcd, terminating).catch(() => {});
      for (const o of terminating) this.controller.observe(podKey(o.metadata.name), o);
      await this.controller.settled();
    }
    const procs = pods.flatMap((p) => (this.podProcs.has(p.name) ? [this.podProcs.get(p.name)!] : []));
    const nsSet = new Set(pods.map((p) => p.ns));
    // also whatever was started in them from the REPL or exec
    for (const pid of Kernel.processesInNamespaces(nsSet)) if (pid !== process.pid) procs.push({ pid });
    await k.stopProcesses(procs);
    // the pod's veth goes first, at once: a deleted namespace is freed asynchronously, and its
    // veth's worker end (named after the pod's IP) would still be there for a new pod given
    // the same address
    await Promise.all(pods.map((p) => k.ip(p.ns, ['link', 'del', 'eth0'], { check: false })));
    await k.deleteNamespaces([...nsSet]);
    k.removeNetnsFiles([...nsSet]);
    for (const p of pods) {
      this.podProcs.delete(p.name);
      this.sim.removeRuntimeNode(p.name);
      const current = await getPod(this.etcd, p.name);
      // only our own object (a failed duplicate must not delete the existing pod)
      if (current && current.metadata.uid === p.object.metadata.uid) {
        const ip = parseIp(current.status.podIP);
        const worker = this.sim.nodes.get(current.spec.nodeName) as WorkerNode | undefined;
        const env = worker?.subnet();
        const subnet: Cidr | undefined = env ? networkOf(env.subnet.ip, env.subnet.prefix) : undefined;
        await unregisterPod(this.etcd, current, ip !== undefined ? subnet : undefined);
      }
    }
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
    return `<cluster ${this.name}: ${this.config.etcd.length} etcd, ${this.config.workers.length} workers, ${this.localPods().length} pods, ${this.config.podCidr}>`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
