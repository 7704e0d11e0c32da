// The CNI configuration a flannel node has: the conflist flannel's DaemonSet installs
// (/etc/cni/net.d/10-flannel.conflist) and the configuration flannel's CNI plugin hands to the
// plugin it delegates to (`bridge` with `host-local` IPAM), built from subnet.env exactly as
// flannel-cni-plugin's doCmdAdd/getDelegateIPAM do. Pure functions: no files, no processes.
import { formatCidr, formatIp, networkOf } from '../../../util/ipv4.js';
import { formatCidr6 } from '../../../util/ipv6.js';
import type { SubnetEnv } from '../flannel.js';
import { parseSubnetEnv, subnet6Of } from '../flannel.js';

/** CNI spec version of the conflist (1.0.0: the first with CHECK and the current result shape). */
export const CNI_VERSION = '1.0.0';
export const CONFLIST_FILE = '10-flannel.conflist';
export const NETWORK_NAME = 'cbr0';

export interface PluginConf {
  type: string;
  [key: string]: unknown;
}

export interface ConfList {
  cniVersion: string;
  name: string;
  plugins: PluginConf[];
}

/**
 * flannel's conflist: the flannel plugin (delegating to bridge), then portmap for hostPorts,
 * then bandwidth for the pods' bandwidth annotations (what a node that shapes pods adds).
 */
export function flannelConflist(): ConfList {
  return {
    name: NETWORK_NAME,
    cniVersion: CNI_VERSION,
    plugins: [
      // no ipMasq here, as flannel ships it: its plugin gives bridge ipMasq = !FLANNEL_IPMASQ,
      // and netsim's agent writes FLANNEL_IPMASQ=true as kube-flannel's flanneld --ip-masq
      // does, so bridge masquerades nothing (pod-to-pod packets keep the pod's address)
      { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'bandwidth', capabilities: { bandwidth: true } },
    ],
  };
}

export function formatConflist(c: ConfList): string {
  return `${JSON.stringify(c, null, 2)}\n`;
}

/** A conflist read back from its file: the shape is checked, the first error named. */
export function parseConflist(text: string): ConfList {
  const v = JSON.parse(text) as Partial<ConfList>;
  if (typeof v.name !== 'string') throw new Error('conflist: "name" is missing');
  if (typeof v.cniVersion !== 'string') throw new Error('conflist: "cniVersion" is missing');
  if (!Array.isArray(v.plugins) || v.plugins.length === 0) throw new Error('conflist: "plugins" is empty');
  v.plugins.forEach((p, i) => {
    if (typeof p?.type !== 'string') throw new Error(`conflist: plugins[${i}].type is missing`);
  });
  return v as ConfList;
}

/**
 * What flannel's plugin passes to its delegate: the delegate block of the conflist with
 * flannel's defaults (type bridge, isGateway, ipMasq = !FLANNEL_IPMASQ, mtu = FLANNEL_MTU),
 * the network's name and version, and host-local IPAM over the node's subnet with a route to
 * the whole pod network; dual stack (FLANNEL_IPV6_SUBNET): a second range, the node's IPv6
 * subnet, and a route to the IPv6 pod network (bridge's isDefaultGateway adds ::/0 next to
 * 0.0.0.0/0). `dataDir` keeps host-local's leases (netsim: inside the simulation).
 */
export function delegateConfig(
  list: ConfList,
  flannel: PluginConf,
  env: SubnetEnv,
  dataDir: string,
): Record<string, unknown> {
  const d = { ...((flannel.delegate as Record<string, unknown> | undefined) ?? {}) };
  d.name = list.name;
  d.type ??= 'bridge';
  if (d.type === 'bridge') {
    d.bridge ??= 'cni0';
    d.isGateway ??= true;
  }
  d.ipMasq ??= !env.ipMasq;
  d.mtu ??= env.mtu;
  d.cniVersion = list.cniVersion;
  const subnet = networkOf(env.subnet.ip, env.subnet.prefix);
  const subnet6 = subnet6Of(env);
  d.ipam = {
    type: 'host-local',
    ranges: [
      [{ subnet: `${formatIp(subnet.net)}/${subnet.prefix}` }],
      ...(subnet6 ? [[{ subnet: formatCidr6(subnet6) }]] : []),
    ],
    routes: [
      { dst: formatCidr(env.network) },
      ...(subnet6 && env.network6 ? [{ dst: formatCidr6(env.network6) }] : []),
    ],
    dataDir,
  };
  return d;
}

/** The same from subnet.env's text (what the plugin reads from /run/flannel/subnet.env). */
export function delegateFromSubnetEnv(
  list: ConfList,
  flannel: PluginConf,
  subnetEnvText: string,
  dataDir: string,
): Record<string, unknown> {
  const env = parseSubnetEnv(subnetEnvText);
  if (!env) throw new Error('subnet.env: FLANNEL_NETWORK, FLANNEL_SUBNET and FLANNEL_MTU are required');
  return delegateConfig(list, flannel, env, dataDir);
}

/** A chained plugin's configuration: its conflist entry with name, version and the previous result. */
export function chainedConfig(
  list: ConfList,
  plugin: PluginConf,
  prevResult: unknown,
  runtimeConfig?: Record<string, unknown>,
): Record<string, unknown> {
  const { capabilities: _caps, ...rest } = plugin;
  const out: Record<string, unknown> = { ...rest, name: list.name, cniVersion: list.cniVersion };
  if (runtimeConfig) out.runtimeConfig = runtimeConfig;
  if (prevResult !== undefined) out.prevResult = prevResult;
  return out;
}

/** A CNI 1.0.0 result: the container's interface and its address. */
export interface CniResult {
  cniVersion?: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
}

/**
 * The pod's IPv4 address (ip/prefix), its IPv6 one when it has one (dual stack), its interface
 * and the host end of its veth from a result.
 */
export function podAddress(
  result: unknown,
  ifname = 'eth0',
): { address: string; address6?: string; gateway?: string; hostVeth?: string; mac?: string } {
  const r = result as CniResult;
  const mine = r?.ips?.filter(
    (x) => x.interface === undefined || r.interfaces?.[x.interface]?.name === ifname,
  );
  if (!mine?.length)
    throw new Error(`the CNI result has no address for ${ifname}: ${JSON.stringify(result)}`);
  const ip = mine.find((x) => !x.address.includes(':'));
  if (!ip) throw new Error(`the CNI result has no IPv4 address for ${ifname}: ${JSON.stringify(result)}`);
  const ip6 = mine?.find((x) => x.address.includes(':'));
  const iface = ip.interface !== undefined ? r.interfaces?.[ip.interface] : undefined;
  const host = r.interfaces?.find((i) => !i.sandbox && i.name.startsWith('veth'));
  return {
    address: ip.address,
    ...(ip6 ? { address6: ip6.address } : {}),
    gateway: ip.gateway,
    hostVeth: host?.name,
    mac: iface?.mac,
  };
}
