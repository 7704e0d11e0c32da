// A cluster's pods: objects and addresses in etcd, namespaces and veths as a plan fragment
// applied through the simulation (like the first build), their commands as recorded daemons.
// Also the pods reflected from elsewhere (a virtual node's pods), which exist here only as
// objects in etcd so that this cluster's services select them.
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kernel } from '../../kernel/kernel.js';
import { processStartTime } from '../../kernel/proc.js';
import { Plan } from '../../plan/plan.js';
import { type Cidr, formatIp, networkOf, parseIp } from '../../util/ipv4.js';
import { formatIp6 } from '../../util/ipv6.js';
import type { ClusterCore } from './cluster-core.js';
import { bandwidthIssues, podBandwidth } from './cni/bandwidth.js';
import { createCniPods, deleteCniPods } from './cni/pods.js';
import { type SubnetEnv, subnet6Of } from './flannel.js';
import { requireNamespace } from './namespaces.js';
import { PodNode, planPods, podHosts, podModel, podNamespace, podResolvConf } from './pod.js';
import {
  DuplicatePodError,
  getPod,
  POD_NAMESPACE,
  type PodObject,
  podKeyOf,
  podNodeName,
  registerPods,
  unregisterPod,
  updatePods,
} from './registry.js';
import { dnsServiceIp } from './services/api.js';
import { POD_NAME_RE } from './spec.js';
import type { WorkerNode } from './worker.js';

export interface PodRequest {
  name: string;
  /** its namespace (default: default); outside default its node is `<name>.<namespace>` */
  namespace?: string;
  /** "w1" or "C0w1" */
  worker: string;
  labels?: Record<string, string>;
  command?: string;
  ports?: PodObject['spec']['ports'];
  /** kubernetes.io/ingress-bandwidth / egress-bandwidth (e.g. "5M") shape it through the bandwidth plugin */
  annotations?: Record<string, string>;
}

/** A pod that runs elsewhere and is reflected here (Liqo's virtual node), with how to remove it. */
export interface ReflectedPod {
  object: PodObject;
  /** the cluster that runs it */
  cluster: string;
  /** its address where it runs */
  remoteIp: string;
  remove: () => Promise<void>;
}

/** A virtual node and its pods: where this cluster sees them (ip) and where they run (remoteIp). */
export interface VirtualNode {
  name: string;
  cluster: string;
  pods: { name: string; ip: string; remoteIp: string }[];
}

export function podObject(
  name: string,
  nodeName: string,
  opts: {
    namespace?: string;
    labels?: Record<string, string>;
    command?: string;
    ports?: PodObject['spec']['ports'];
    annotations?: Record<string, string>;
  },
): Omit<PodObject, 'status'> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: opts.namespace ?? POD_NAMESPACE,
      uid: randomUUID(),
      labels: opts.labels ?? {},
      ...(opts.annotations && Object.keys(opts.annotations).length ? { annotations: opts.annotations } : {}),
      creationTimestamp: new Date().toISOString(),
    },
    spec: {
      nodeName,
      ...(opts.command ? { command: opts.command } : {}),
      ...(opts.ports?.length ? { ports: opts.ports } : {}),
    },
  };
}

/** A pod's IPv6 address (dual stack), as its model has it. */
export function podIp6(p: PodNode): string | undefined {
  const a = p.model.ifaces[0]?.addr6;
  return a ? formatIp6(a.ip) : undefined;
}

export class ClusterPods {
  private readonly procs = new Map<string, { pid: number; start?: string }>();
  /** pods reflected from elsewhere, by name */
  readonly reflected = new Map<string, ReflectedPod>();

  constructor(private readonly c: ClusterCore) {}

  /** Live pod objects of this cluster. */
  local(): PodNode[] {
    return [...this.c.sim.nodes.values()].filter(
      (n): n is PodNode => n instanceof PodNode && n.cluster === this.c.name,
    );
  }

  /** Checks every request first: nothing is made if one is wrong. */
  private byWorker(reqs: PodRequest[]): Map<WorkerNode, PodRequest[]> {
    const byWorker = new Map<WorkerNode, PodRequest[]>();
    const seen = new Set<string>();
    for (const r of reqs) {
      if (!POD_NAME_RE.test(r.name))
        throw new Error(
          `invalid pod name "${r.name}": lower-case letters, digits and -, at most 32, starting and ending with a letter or digit`,
        );
      const worker = this.c.worker(r.worker);
      const node = podNodeName(r.name, r.namespace);
      const inNs = node === r.name ? '' : ` in namespace ${r.namespace}`;
      if (seen.has(node)) throw new Error(`pod "${r.name}"${inNs} is requested twice`);
      seen.add(node);
      const other = this.c.sim.nodes.get(node);
      if (other instanceof PodNode)
        throw new Error(
          `a pod named "${r.name}" already exists${inNs} (in ${other.cluster} on ${other.worker}, ${other.ip})`,
        );
      if (other)
        throw new Error(`"${node}" is already the name of a node (${other.kind}): pick another pod name`);
      if (r.ports?.some((p) => p.hostPort) && !this.c.config.cni)
        throw new Error(
          `pod "${r.name}": a hostPort needs the CNI plugins (portmap), which cni: false on ${this.c.name} turns off`,
        );
      for (const [key, msg] of bandwidthIssues(r.annotations))
        throw new Error(`pod "${r.name}": annotation ${key}: ${msg}`);
      if (!this.c.config.cni && podBandwidth(r.annotations))
        throw new Error(
          `pod "${r.name}": bandwidth annotations need the CNI plugins (bandwidth), which cni: false on ${this.c.name} turns off`,
        );
      byWorker.set(worker, [...(byWorker.get(worker) ?? []), r]);
    }
    return byWorker;
  }

  /**
   * Creates pods in batches: registers them and takes their addresses in etcd, then makes all
   * namespaces, veths and addresses as one plan fragment, then starts their commands.
   */
  async create(reqs: PodRequest[]): Promise<PodNode[]> {
    if (reqs.length === 0) return [];
    const { c } = this;
    const byWorker = this.byWorker(reqs);
    await c.ensureNetworkConfig();
    for (const ns of new Set(reqs.map((r) => r.namespace ?? POD_NAMESPACE)))
      await requireNamespace(c.etcd, ns);
    const made: PodNode[] = [];
    const envs = new Map<WorkerNode, SubnetEnv>();
    await Promise.all([...byWorker.keys()].map(async (w) => envs.set(w, await w.waitReady())));
    try {
      if (c.config.cni) {
        // through the CNI plugins: namespaces, ADD (host-local hands out the addresses), etcd
        const pods = [...byWorker].flatMap(([worker, list]) => list.map((r) => this.pending(worker, r)));
        await createCniPods(c, pods, made);
      } else {
        // 1. etcd: objects (Pending) and addresses, one transaction per worker chunk
        for (const [worker, list] of byWorker)
          made.push(...(await this.register(worker, envs.get(worker)!, list)));
        // 2. kernel: namespaces (ledger first), veths, one script per namespace
        const plan = new Plan(c.sim.features);
        for (const worker of byWorker.keys()) {
          const mine = made.filter((p) => p.worker === worker.name);
          planPods(
            plan,
            worker.ns,
            envs.get(worker)!,
            mine.map((p) => ({
              ns: p.ns,
              ip: p.model.ifaces[0].addr!.ip,
              ip6: p.model.ifaces[0].addr6?.ip,
              hostname: p.object.metadata.name,
            })),
          );
        }
        await c.sim.apply(plan);
      }
      // each pod's own /etc/hosts (and resolv.conf), bound in a mount namespace of its own
      const nameserver = c.config.dns ? dnsServiceIp(c.serviceCidr) : undefined;
      await c.sim.kernel.writeNetnsFiles(
        made.flatMap((p) => [
          { ns: p.ns, file: 'hosts', content: podHosts(p.ip!, p.object.metadata.name, podIp6(p)) },
          ...(nameserver
            ? [
                {
                  ns: p.ns,
                  file: 'resolv.conf',
                  content: podResolvConf(nameserver, p.object.metadata.namespace),
                },
              ]
            : []),
        ]),
      );
      c.sim.addRuntimeNodes(made.map((p) => ({ node: p, parent: p.worker })));
      // 3. commands, then the objects become Running
      for (const p of made) {
        const command = p.object.spec.command;
        if (command) {
          mkdirSync(join(c.sim.dir, 'pods'), { recursive: true });
          const pid = c.sim.kernel.spawnDaemon({
            ns: p.ns,
            cmd: 'sh',
            args: ['-c', p.shellLine(`exec ${command}`)],
            logFile: join(c.sim.dir, 'pods', `${p.name}.log`),
          });
          this.procs.set(p.name, { pid, start: processStartTime(pid) });
          p.object.status.pid = pid;
        }
        p.object.status.phase = 'Running';
      }
      await updatePods(
        c.etcd,
        made.map((p) => p.object),
      );
      return made;
    } catch (err) {
      await this.remove(made).catch(() => {});
      if (err instanceof DuplicatePodError) throw new Error(err.message);
      throw err;
    }
  }

  /**
   * Pending objects and addresses in etcd for one worker's pods; their live objects. A
   * dual-stack pod's IPv6 address is the same host number in the worker's IPv6 subnet (the
   * IPv4 address taken in etcd reserves it).
   */
  private async register(worker: WorkerNode, env: SubnetEnv, list: PodRequest[]): Promise<PodNode[]> {
    const { c } = this;
    const subnet = networkOf(env.subnet.ip, env.subnet.prefix);
    const subnet6 = subnet6Of(env);
    const addr6 = (ip: number) =>
      subnet6 ? { ip: subnet6.net + BigInt(ip - subnet.net), prefix: subnet6.prefix } : undefined;
    const podIPs = (ip: number) => {
      const a6 = addr6(ip);
      return a6 ? { podIPs: [{ ip: formatIp(ip) }, { ip: formatIp6(a6.ip) }] } : {};
    };
    const made: PodNode[] = [];
    for (let i = 0; i < list.length; i += 100) {
      const objects = list.slice(i, i + 100).map((r) => podObject(r.name, worker.name, r));
      const ips = await registerPods(c.etcd, subnet, objects, (p, ip) => ({
        phase: 'Pending',
        podIP: formatIp(ip),
        ...podIPs(ip),
        hostIP: worker.ip,
        netns: podNamespace(c.sim.name, worker.name, podNodeName(p.metadata.name, p.metadata.namespace)),
      }));
      for (const o of objects) {
        const ip = ips.get(podKeyOf(o))!;
        const node = podNodeName(o.metadata.name, o.metadata.namespace);
        const model = podModel(c.sim.name, worker.name, node, ip, env.subnet.prefix, addr6(ip));
        const object: PodObject = {
          ...o,
          status: {
            phase: 'Pending',
            podIP: formatIp(ip),
            ...podIPs(ip),
            hostIP: worker.ip,
            netns: model.ns,
          },
        };
        made.push(new PodNode(c.sim, model, worker.name, c.name, object));
      }
    }
    return made;
  }

  /** A pod to be wired by CNI: its object (Pending, no address yet) and live node. */
  private pending(worker: WorkerNode, r: PodRequest): PodNode {
    const { c } = this;
    const o = podObject(r.name, worker.name, r);
    const model = podModel(c.sim.name, worker.name, podNodeName(r.name, r.namespace), 0, 0);
    const object: PodObject = {
      ...o,
      status: { phase: 'Pending', podIP: '', hostIP: worker.ip, netns: model.ns },
    };
    return new PodNode(c.sim, model, worker.name, c.name, object);
  }

  /** Puts a pod that runs elsewhere into this cluster's registry (services select it). */
  async reflect(pod: ReflectedPod): Promise<void> {
    const { c } = this;
    const name = pod.object.metadata.name;
    await c.ensureNetworkConfig();
    await c.etcd.put(podKeyOf(pod.object)).value(JSON.stringify(pod.object));
    c.endpointsController?.observe(podKeyOf(pod.object), pod.object);
    await c.endpointsController?.settled();
    this.reflected.set(name, pod);
  }

  /** The reflected pods, grouped by their virtual node. */
  virtualNodes(): VirtualNode[] {
    const out = new Map<string, VirtualNode>();
    for (const [name, o] of this.reflected) {
      const node = o.object.spec.nodeName;
      if (!out.has(node)) out.set(node, { name: node, cluster: o.cluster, pods: [] });
      out.get(node)!.pods.push({ name, ip: o.object.status.podIP, remoteIp: o.remoteIp });
    }
    return [...out.values()];
  }

  /** Deletes a pod: its processes and namespace, then its object and address in etcd. */
  async delete(name: string): Promise<void> {
    const { c } = this;
    const off = this.reflected.get(name);
    if (off) {
      this.reflected.delete(name);
      await c.etcd.delete().key(podKeyOf(off.object));
      c.endpointsController?.observe(podKeyOf(off.object), undefined);
      await c.endpointsController?.settled();
      await off.remove();
      return;
    }
    await this.remove([c.pod(name)]);
  }

  private async remove(pods: PodNode[]): Promise<void> {
    if (pods.length === 0) return;
    const { c } = this;
    const k = c.sim.kernel;
    const controller = c.endpointsController;
    // like Kubernetes: the pod leaves its services' endpoints before its processes stop
    const terminating = pods
      .filter((p) => p.object.status.phase === 'Running')
      .map((p) => ({
        ...p.object,
        metadata: { ...p.object.metadata, deletionTimestamp: new Date().toISOString() },
      }));
    if (terminating.length && controller) {
      await updatePods(c.etcd, terminating).catch(() => {});
      for (const o of terminating) controller.observe(podKeyOf(o), o);
      await controller.settled();
    }
    const procs = pods.flatMap((p) => (this.procs.has(p.name) ? [this.procs.get(p.name)!] : []));
    const nsSet = new Set(pods.map((p) => p.ns));
    // also whatever was started in them from the REPL or exec
    for (const pid of Kernel.processesInNamespaces(nsSet)) if (pid !== process.pid) procs.push({ pid });
    await k.stopProcesses(procs);
    // the pod's veth goes first, at once: a deleted namespace is freed asynchronously, and its
    // veth's worker end (named after the pod's IP) would still be there for a new pod given
    // the same address
    // (through CNI: DEL removes it and releases the address)
    await deleteCniPods(c, pods);
    await Promise.all(
      pods.filter((p) => !p.cni).map((p) => k.ip(p.ns, ['link', 'del', 'eth0'], { check: false })),
    );
    await k.deleteNamespaces([...nsSet]);
    k.removeNetnsFiles([...nsSet]);
    for (const p of pods) {
      this.procs.delete(p.name);
      c.sim.removeRuntimeNode(p.name);
      const current = await getPod(c.etcd, p.object.metadata.namespace, p.object.metadata.name);
      // only our own object (a failed duplicate must not delete the existing pod)
      if (current && current.metadata.uid === p.object.metadata.uid) {
        const ip = parseIp(current.status.podIP);
        const worker = c.sim.nodes.get(current.spec.nodeName) as WorkerNode | undefined;
        const env = worker?.subnet();
        const subnet: Cidr | undefined =
          env && !p.cni ? networkOf(env.subnet.ip, env.subnet.prefix) : undefined;
        await unregisterPod(c.etcd, current, ip !== undefined ? subnet : undefined);
      }
    }
  }
}
