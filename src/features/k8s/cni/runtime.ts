// A worker's CNI runtime, in the kubelet's (libcni's) place: it reads the worker's conflist,
// plays flannel's CNI plugin itself (reads subnet.env, delegates to the real `bridge` with
// `host-local` IPAM), chains the real `portmap` when the pod has hostPorts, and keeps what
// libcni and flannel keep on a node: the cached result per container and flannel's delegate
// configuration (both needed by DEL and CHECK), plus the last invocation per pod for people to
// read (`cni POD`). Everything lives in the worker's directory inside the simulation's.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
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
  /** dual stack: fd00:10:244:1::2/64 */
  address6?: string;
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

  private callOf(command: CniCommand, pod: CniPod, type: string, config: Record<string, unknown>): CniCall {
    return {
      command,
      type,
      containerId: pod.uid,
      netns: pod.netns,
      ifname: IFNAME,
      config,
      hostNs: this.hostNs,
      args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${pod.uid};K8S_POD_UID=${pod.uid}`,
    };
  }

  /** Runs the conflist's plugins in order (ADD/CHECK) or in reverse (DEL), tracing each call. */
  private async invoke(command: CniCommand, pod: CniPod): Promise<unknown> {
    const [outcome] = await WorkerCni.invokeMany(this.kernel, command, [{ cni: this, pod }]);
    if (outcome instanceof Error) throw outcome;
    return outcome;
  }

  /**
   * One command for many pods, on any workers, as kubelet would run it for each: the chain's
   * plugins in order (in reverse for DEL), each pod's calls one after the other, and the calls
   * of all pods at the same step of their chains started together (kernel.cniMany). Each pod's
   * outcome, in order: its final result (ADD), undefined (DEL, CHECK), or the error that
   * stopped its chain; every pod's invocation is kept for `cni POD`.
   */
  static async invokeMany(
    kernel: Kernel,
    command: CniCommand,
    items: { cni: WorkerCni; pod: CniPod }[],
  ): Promise<unknown[]> {
    const runs = items.map(({ cni, pod }) => {
      const { list, text } = cni.conflist();
      const inv: CniInvocation = { pod: pod.name, worker: cni.worker, command, conflist: text, calls: [] };
      const plugins = command === 'DEL' ? [...list.plugins].reverse() : list.plugins;
      const prev: unknown = command === 'ADD' ? undefined : cni.cachedResult(list, pod);
      return { cni, pod, list, inv, plugins, prev, next: 0, error: undefined as Error | undefined };
    });
    for (;;) {
      const steps: { run: (typeof runs)[number]; call: CniCall }[] = [];
      for (const r of runs) {
        try {
          while (!r.error && r.next < r.plugins.length) {
            const step = await r.cni.pluginConfig(command, r.list, r.plugins[r.next++], r.pod, r.prev);
            if (step) {
              steps.push({ run: r, call: r.cni.callOf(command, r.pod, step.type, step.config) });
              break;
            }
          }
        } catch (err) {
          r.error = err as Error;
        }
      }
      if (steps.length === 0) break;
      const dirs = [...new Set(steps.map((s) => s.run.cni.stateDir))];
      const outcomes = await kernel.cniMany(
        steps.map((s) => s.call),
        dirs,
      );
      outcomes.forEach((o, i) => {
        const r = steps[i].run;
        if (o instanceof CniError) {
          if (o.trace) r.inv.calls.push(o.trace);
          r.error = o;
        } else {
          r.inv.calls.push(o.trace);
          if (command === 'ADD') r.prev = o.result;
        }
      });
    }
    return Promise.all(
      runs.map(async (r) => {
        try {
          if (!r.error) {
            r.inv.result = command === 'ADD' ? r.prev : undefined;
            await r.cni.afterSuccess(command, r.list, r.pod, r.prev);
          }
        } catch (err) {
          r.error = err as Error;
        }
        if (r.error) r.inv.error = r.error.message;
        // written without blocking: hundreds of pods start at once
        await mkdir(join(r.cni.stateDir, 'trace'), { recursive: true });
        await writeFile(
          r.cni.tracePath(podNodeName(r.pod.name, r.pod.namespace)),
          `${JSON.stringify(r.inv, null, 2)}\n`,
        );
        return r.error ?? (command === 'ADD' ? r.prev : undefined);
      }),
    );
  }

  /** One plugin's binary and stdin, or undefined when it has nothing to do for this pod. */
  private async pluginConfig(
    command: CniCommand,
    list: ConfList,
    p: PluginConf,
    pod: CniPod,
    prev: unknown,
  ): Promise<{ type: string; config: Record<string, unknown> } | undefined> {
    if (p.type === 'flannel') {
      // netsim plays flannel's plugin: the delegate's config (saved at ADD, as flannel does)
      let config: Record<string, unknown>;
      if (command === 'ADD') {
        const env = readFileSync(join(this.dir, 'subnet.env'), 'utf8');
        config = delegateFromSubnetEnv(list, p, env, this.dataDir);
        await mkdir(join(this.stateDir, 'flannel'), { recursive: true });
        await writeFile(this.delegatePath(pod), JSON.stringify(config));
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

  private async afterSuccess(
    command: CniCommand,
    list: ConfList,
    pod: CniPod,
    result: unknown,
  ): Promise<void> {
    if (command === 'ADD') {
      await mkdir(join(this.stateDir, 'results'), { recursive: true });
      await writeFile(this.resultPath(list, pod), JSON.stringify(result));
    } else if (command === 'DEL') {
      await rm(this.resultPath(list, pod), { force: true });
      await rm(this.delegatePath(pod), { force: true });
    }
  }

  /** ADD: the pod's eth0 on cni0 with the address host-local handed out. */
  async add(pod: CniPod): Promise<AddResult> {
    const result = await this.invoke('ADD', pod);
    return { ...podAddress(result, IFNAME), result };
  }

  /** ADD for many pods at once (invokeMany): each pod's address, or the error of its chain. */
  static async addMany(
    kernel: Kernel,
    items: { cni: WorkerCni; pod: CniPod }[],
  ): Promise<(AddResult | Error)[]> {
    const outcomes = await WorkerCni.invokeMany(kernel, 'ADD', items);
    return outcomes.map((o) => {
      if (o instanceof Error) return o;
      try {
        return { ...podAddress(o, IFNAME), result: o };
      } catch (err) {
        return err as Error;
      }
    });
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
  // dual stack: each route via the gateway of its own family
  const gwOf = (dst: string) =>
    r?.ips?.find((i) => i.gateway && i.gateway.includes(':') === dst.includes(':'))?.gateway;
  if (!r?.routes) return result;
  return { ...r, routes: r.routes.map((x) => (x.gw || !gwOf(x.dst) ? x : { ...x, gw: gwOf(x.dst) })) };
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
