// A worker's CNI runtime, in the kubelet's (libcni's) place: it reads the worker's conflist,
// plays flannel's CNI plugin itself (reads subnet.env, delegates to the real `bridge` with
// `host-local` IPAM), chains the real `portmap` when the pod has hostPorts, and keeps what
// libcni and flannel keep on a node: the cached result per container and flannel's delegate
// configuration (both needed by DEL and CHECK), plus the last invocation per pod for people to
// read (`cni POD`). Everything lives in the worker's directory inside the simulation's.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CniCall, type CniCommand, CniError, type CniTrace } from '../../../kernel/cni.js';
import type { Kernel } from '../../../kernel/kernel.js';
import { podNodeName } from '../registry.js';
import type { BandwidthEntry } from './bandwidth.js';
import {
  type CniResult,
  CONFLIST_FILE,
  type ConfList,
  chainedConfig,
  delegateFromSubnetEnv,
  flannelConflist,
  formatConflist,
  type PluginConf,
  parseConflist,
  podAddress,
} from './config.js';

export interface HostPort {
  hostPort: number;
  containerPort: number;
  protocol?: 'tcp' | 'udp';
}

/** What the runtime needs to know of a pod (kubelet's sandbox). */
export interface CniPod {
  name: string;
  namespace: string;
  uid: string;
  /** its network namespace (name under /run/netns) */
  netns: string;
  hostPorts?: HostPort[];
  /** from its bandwidth annotations (the bandwidth capability's runtimeConfig) */
  bandwidth?: BandwidthEntry;
}

/** The last invocation for a pod, as `cni POD` shows it. */
export interface CniInvocation {
  pod: string;
  worker: string;
  command: CniCommand;
  conflist: string;
  calls: CniTrace[];
  result?: unknown;
  error?: string;
}

export interface AddResult {
  /** 10.244.1.2/24 */
  address: string;
  gateway?: string;
  hostVeth?: string;
  mac?: string;
  result: unknown;
}

export const IFNAME = 'eth0';

export class WorkerCni {
  constructor(
    private readonly kernel: Kernel,
    readonly worker: string,
    /** the worker's network namespace: where the plugins run */
    readonly hostNs: string,
    /** the worker's directory (subnet.env is there) */
    readonly dir: string,
  ) {}

  get conflistPath(): string {
    return join(this.dir, CONFLIST_FILE);
  }
  get stateDir(): string {
    return join(this.dir, 'cni');
  }
  /** host-local's dataDir (/var/lib/cni/networks on a node) */
  get dataDir(): string {
    return join(this.stateDir, 'networks');
  }
  tracePath(pod: string): string {
    return join(this.stateDir, 'trace', `${pod}.json`);
  }
  private resultPath(list: ConfList, pod: CniPod): string {
    return join(this.stateDir, 'results', `${list.name}-${pod.uid}-${IFNAME}`);
  }
  private delegatePath(pod: CniPod): string {
    return join(this.stateDir, 'flannel', pod.uid);
  }

  /** Writes the conflist flannel's DaemonSet installs, unless the worker has one. */
  install(): void {
    if (existsSync(this.conflistPath)) return;
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(this.conflistPath, formatConflist(flannelConflist()));
  }

  private conflist(): { list: ConfList; text: string } {
    this.install();
    const text = readFileSync(this.conflistPath, 'utf8');
    return { list: parseConflist(text), text };
  }

  private call(command: CniCommand, pod: CniPod, type: string, config: Record<string, unknown>) {
    const c: CniCall = {
      command,
      type,
      containerId: pod.uid,
      netns: pod.netns,
      ifname: IFNAME,
      config,
      hostNs: this.hostNs,
      args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${pod.uid};K8S_POD_UID=${pod.uid}`,
    };
    return this.kernel.cni(c, [this.stateDir]);
  }

  /** Runs the conflist's plugins in order (ADD/CHECK) or in reverse (DEL), tracing each call. */
  private async invoke(command: CniCommand, pod: CniPod): Promise<unknown> {
    const { list, text } = this.conflist();
    const inv: CniInvocation = { pod: pod.name, worker: this.worker, command, conflist: text, calls: [] };
    const cached = this.cachedResult(list, pod);
    const plugins = command === 'DEL' ? [...list.plugins].reverse() : list.plugins;
    let prev: unknown = command === 'ADD' ? undefined : cached;
    try {
      for (const p of plugins) {
        const step = this.pluginConfig(command, list, p, pod, prev);
        if (!step) continue;
        try {
          const { result, trace } = await this.call(command, pod, step.type, step.config);
          inv.calls.push(trace);
          if (command === 'ADD') prev = result;
        } catch (err) {
          if (err instanceof CniError && err.trace) inv.calls.push(err.trace);
          throw err;
        }
      }
      inv.result = command === 'ADD' ? prev : undefined;
      this.afterSuccess(command, list, pod, prev);
      return prev;
    } catch (err) {
      inv.error = (err as Error).message;
      throw err;
    } finally {
      mkdirSync(join(this.stateDir, 'trace'), { recursive: true });
      writeFileSync(
        this.tracePath(podNodeName(pod.name, pod.namespace)),
        `${JSON.stringify(inv, null, 2)}\n`,
      );
    }
  }

  /** One plugin's binary and stdin, or undefined when it has nothing to do for this pod. */
  private pluginConfig(
    command: CniCommand,
    list: ConfList,
    p: PluginConf,
    pod: CniPod,
    prev: unknown,
  ): { type: string; config: Record<string, unknown> } | undefined {
    if (p.type === 'flannel') {
      // netsim plays flannel's plugin: the delegate's config (saved at ADD, as flannel does)
      let config: Record<string, unknown>;
      if (command === 'ADD') {
        const env = readFileSync(join(this.dir, 'subnet.env'), 'utf8');
        config = delegateFromSubnetEnv(list, p, env, this.dataDir);
        mkdirSync(join(this.stateDir, 'flannel'), { recursive: true });
        writeFileSync(this.delegatePath(pod), JSON.stringify(config));
      } else {
        if (!existsSync(this.delegatePath(pod))) return undefined;
        config = JSON.parse(readFileSync(this.delegatePath(pod), 'utf8')) as Record<string, unknown>;
        if (prev !== undefined)
          config = { ...config, prevResult: command === 'CHECK' ? asConfigured(prev) : prev };
      }
      return { type: String(config.type), config };
    }
    if (p.type === 'portmap') {
      if (!pod.hostPorts?.length) return undefined;
      const portMappings = pod.hostPorts.map((h) => ({
        hostPort: h.hostPort,
        containerPort: h.containerPort,
        protocol: h.protocol ?? 'tcp',
      }));
      return { type: 'portmap', config: chainedConfig(list, p, prev, { portMappings }) };
    }
    if (p.type === 'bandwidth') {
      // like portmap: a plugin with nothing to shape is not run (libcni would run it to no effect)
      if (!pod.bandwidth) return undefined;
      return { type: 'bandwidth', config: chainedConfig(list, p, prev, { bandwidth: pod.bandwidth }) };
    }
    return { type: p.type, config: chainedConfig(list, p, prev) };
  }

  private cachedResult(list: ConfList, pod: CniPod): unknown {
    const path = this.resultPath(list, pod);
    return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as unknown) : undefined;
  }

  private afterSuccess(command: CniCommand, list: ConfList, pod: CniPod, result: unknown): void {
    if (command === 'ADD') {
      mkdirSync(join(this.stateDir, 'results'), { recursive: true });
      writeFileSync(this.resultPath(list, pod), JSON.stringify(result));
    } else if (command === 'DEL') {
      rmSync(this.resultPath(list, pod), { force: true });
      rmSync(this.delegatePath(pod), { force: true });
    }
  }

  /** ADD: the pod's eth0 on cni0 with the address host-local handed out. */
  async add(pod: CniPod): Promise<AddResult> {
    const result = await this.invoke('ADD', pod);
    return { ...podAddress(result, IFNAME), result };
  }

  /** DEL: releases the address and removes the pod's interface (idempotent, like CNI's DEL). */
  async del(pod: CniPod): Promise<void> {
    await this.invoke('DEL', pod);
  }

  /** CHECK: the plugins verify the pod's interface, address and routes against the cached result. */
  async check(pod: CniPod): Promise<void> {
    await this.invoke('CHECK', pod);
  }

  /** The last invocation for a pod, if any. */
  lastInvocation(pod: string): CniInvocation | undefined {
    const path = this.tracePath(pod);
    return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as CniInvocation) : undefined;
  }
}

/**
 * A result as the kernel holds it: bridge's CHECK compares routes with their gateway, but
 * host-local's routes (flannel's route to the pod network) carry none; the plugin installed
 * them via the address's gateway (ipam.ConfigureIface), so CHECK is given that gateway.
 * (flannel's own plugin answers CHECK without looking; netsim delegates it to bridge.)
 */
export function asConfigured(result: unknown): unknown {
  const r = result as CniResult;
  const gw = r?.ips?.find((i) => i.gateway)?.gateway;
  if (!gw || !r.routes) return result;
  return { ...r, routes: r.routes.map((x) => (x.gw ? x : { ...x, gw })) };
}

/** The invocation as a person reads it: per plugin the environment, stdin and result. */
export function formatInvocation(inv: CniInvocation): string {
  const lines = [
    `${inv.command} for pod ${inv.pod} on ${inv.worker}${inv.error ? ` FAILED: ${inv.error}` : ''}`,
  ];
  for (const c of inv.calls) {
    lines.push(`--- ${c.plugin} (${c.ms} ms, exit ${c.exitCode}${c.hostNs ? `, run in ${c.hostNs}` : ''})`);
    lines.push('environment:');
    for (const [k, v] of Object.entries(c.env)) lines.push(`  ${k}=${v}`);
    lines.push('stdin:', indent(JSON.stringify(c.stdin, null, 2)));
    if (c.result !== undefined) lines.push('result:', indent(JSON.stringify(c.result, null, 2)));
    if (c.error) lines.push('error:', indent(JSON.stringify(c.error, null, 2)));
    if (c.stderr) lines.push('stderr:', indent(c.stderr));
  }
  if (inv.calls.length === 0) lines.push('(no plugin had anything to do)');
  return `${lines.join('\n')}\n`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
