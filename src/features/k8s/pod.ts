// A pod: its own network namespace (netsim-<sim>-<worker>-<pod>), eth0 on a veth whose other
// end is a port of the worker's cni0 bridge, an address from the worker's subnet with the
// bridge (.1) as default gateway. Made at run time, through the kernel layer.

import { NETNS_ETC } from '../../kernel/kernel.js';
import type { NodeModel } from '../../model/model.js';
import type { Plan } from '../../plan/plan.js';
import { SimNode } from '../../runtime/node.js';
import type { Simulation } from '../../runtime/simulation.js';
import { formatIp } from '../../util/ipv4.js';
import { formatIp6 } from '../../util/ipv6.js';
import type { SubnetEnv } from './flannel.js';
import type { PodObject } from './registry.js';

export const BRIDGE = 'cni0';

export function resolvConfPath(ns: string): string {
  return `${NETNS_ETC}/${ns}/resolv.conf`;
}

/** The /etc/hosts the kubelet writes in a pod: localhost lines, then each pod IP with its name. */
export function podHosts(ip: string, name: string, ip6?: string): string {
  return [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    `${ip}\t${name}`,
    ...(ip6 ? [`${ip6}\t${name}`] : []),
    '',
  ].join('\n');
}

/** A pod's resolv.conf as the kubelet writes it (ClusterFirst). */
export function podResolvConf(nameserver: string, namespace: string, domain = 'cluster.local'): string {
  return `search ${namespace}.svc.${domain} svc.${domain} ${domain}\nnameserver ${nameserver}\noptions ndots:5\n`;
}

/** The worker-side end of a pod's veth: unique in the worker because the pod's IP is. */
export function hostVethName(ip: number): string {
  return `veth${(ip >>> 0).toString(16).padStart(8, '0')}`;
}

export function podNamespace(sim: string, worker: string, pod: string): string {
  return `netsim-${sim}-${worker}-${pod}`;
}

export class PodNode extends SimNode<Simulation> {
  constructor(
    sim: Simulation,
    model: NodeModel,
    /** the worker the pod runs on */
    readonly worker: string,
    readonly cluster: string,
    public object: PodObject,
  ) {
    super(sim, model);
  }

  get labels(): Record<string, string> {
    return this.object.metadata.labels;
  }

  /** PID of the pod's command (if it has one). */
  get pid(): number | undefined {
    return this.object.status.pid;
  }

  /** wired by the CNI plugins (deleting it runs DEL) */
  cni = false;

  override toString(): string {
    return `<pod ${this.name} on ${this.worker} ${this.ip ?? ''}>`;
  }
}

/**
 * A pod's IPv6 namespace settings, before its eth0 has addresses: addresses usable at once
 * (no duplicate address detection; the CNI bridge plugin would otherwise wait for it) and no
 * router advertisements taken.
 */
export function podSysctls6(ifaces: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const scope of ['all', 'default', ...ifaces]) {
    out[`net.ipv6.conf.${scope}.accept_dad`] = '0';
    out[`net.ipv6.conf.${scope}.accept_ra`] = '0';
  }
  return out;
}

export function podModel(
  sim: string,
  worker: string,
  name: string,
  ip: number,
  prefix: number,
  addr6?: { ip: bigint; prefix: number },
): NodeModel {
  const ns = podNamespace(sim, worker, name);
  return {
    name,
    kind: 'pod',
    ns,
    spec: { kind: 'pod', worker },
    ifaces: [
      {
        node: name,
        name: 'eth0',
        link: -1,
        peer: { node: worker, name: hostVethName(ip) },
        segment: -1,
        addr: { ip, prefix },
        ...(addr6 ? { addr6 } : {}),
      },
    ],
  };
}

/**
 * Adds a batch of pods on one worker to a plan fragment: their namespaces, veths to the
 * worker's cni0 and one script per pod namespace, plus the bridge ports in the worker's script.
 */
export function planPods(
  plan: Plan,
  workerNs: string,
  env: SubnetEnv,
  pods: { ns: string; ip: number; ip6?: bigint; hostname: string }[],
): void {
  const gateway = formatIp(env.subnet.ip);
  for (const p of pods) {
    const host = hostVethName(p.ip);
    plan.namespaces.push(p.ns);
    plan.hostnames.set(p.ns, p.hostname);
    plan.veths.push({ a: { ns: p.ns, ifname: 'eth0' }, b: { ns: workerNs, ifname: host }, mtu: env.mtu });
    const script = plan.script(p.ns);
    // dual stack: the IPv6 address (nodad: usable at once) and a default route via cni0's
    const v6 =
      p.ip6 !== undefined && env.subnet6
        ? [`addr add ${formatIp6(p.ip6)}/${env.subnet6.prefix} dev eth0 nodad`]
        : [];
    if (v6.length) Object.assign(script.sysctls, podSysctls6(['eth0']));
    script.ip.push(
      'link set lo up',
      `addr add ${formatIp(p.ip)}/${env.subnet.prefix} dev eth0`,
      ...v6,
      'link set eth0 up',
      `route add default via ${gateway} dev eth0`,
      ...(v6.length ? [`route add ::/0 via ${formatIp6(env.subnet6!.ip)} dev eth0`] : []),
    );
    plan.script(workerNs).ip.push(`link set ${host} master ${BRIDGE} up`);
  }
}
