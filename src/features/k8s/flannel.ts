// flannel's etcd schema and files, as flanneld (etcd backend, vxlan) reads and writes them:
// the network config, subnet lease keys and values, subnet.env. Shared by the agent and the
// main process, so it imports nothing heavy (the agent must stay small).
import { type Cidr, formatCidr, formatIp, networkOf, parseCidr, parseIp } from '../../util/ipv4.js';

export const DEFAULT_PREFIX = '/coreos.com/network';
/** the Linux kernel's default VXLAN port, which flannel uses when Backend.Port is 0 */
export const VXLAN_PORT = 8472;
/** flannel's lease TTL (24 h) and the renewal margin before expiry (1 h) */
export const DEFAULT_LEASE_TTL_S = 24 * 3600;
export const DEFAULT_RENEW_MARGIN_S = 3600;
/** VXLAN over IPv4 costs 50 bytes per packet (outer IP 20 + UDP 8 + VXLAN 8 + inner Ethernet 14) */
export const VXLAN_OVERHEAD = 50;

export interface BackendConfig {
  Type: string;
  VNI?: number;
  Port?: number;
  Learning?: boolean;
  DirectRouting?: boolean;
  MTU?: number;
}

/** The JSON at `<prefix>/config`. */
export interface NetworkConfig {
  Network: string;
  SubnetLen?: number;
  SubnetMin?: string;
  SubnetMax?: string;
  EnableIPv4?: boolean;
  EnableIPv6?: boolean;
  Backend?: BackendConfig;
}

/** The config with flannel's defaults filled in and parsed. */
export interface ResolvedConfig {
  network: Cidr;
  subnetLen: number;
  subnetMin: number;
  subnetMax: number;
  vni: number;
  port: number;
  backendType: string;
}

/** flannel's defaults: SubnetLen 24 (network smaller than /22: prefix + 2), Min = 2nd, Max = last. */
export function resolveConfig(cfg: NetworkConfig): ResolvedConfig | string {
  const net = parseCidr(cfg.Network ?? '');
  if (!net) return `Network "${cfg.Network}" is not an IPv4 network`;
  const network = networkOf(net.ip, net.prefix);
  let subnetLen = cfg.SubnetLen ?? 0;
  if (!subnetLen) subnetLen = network.prefix < 22 ? 24 : network.prefix + 2;
  if (subnetLen > 30) return `SubnetLen ${subnetLen} is more than 30`;
  if (subnetLen <= network.prefix)
    return `SubnetLen ${subnetLen} must be longer than the network's /${network.prefix}`;
  const step = 2 ** (32 - subnetLen);
  const last = network.net + 2 ** (32 - network.prefix) - step;
  const subnetMin = cfg.SubnetMin ? parseIp(cfg.SubnetMin.split('/')[0]) : network.net + step;
  const subnetMax = cfg.SubnetMax ? parseIp(cfg.SubnetMax.split('/')[0]) : last;
  if (subnetMin === undefined || subnetMax === undefined) return 'SubnetMin/SubnetMax are not IPv4 addresses';
  const backend = cfg.Backend ?? { Type: 'udp' };
  return {
    network,
    subnetLen,
    subnetMin,
    subnetMax,
    vni: backend.VNI ?? 1,
    port: backend.Port || VXLAN_PORT,
    backendType: backend.Type ?? 'udp',
  };
}

/** How many subnets a config can lease. */
export function subnetCount(c: ResolvedConfig): number {
  return Math.max(0, Math.floor((c.subnetMax - c.subnetMin) / 2 ** (32 - c.subnetLen)) + 1);
}

/** `<prefix>/subnets/10.244.1.0-24` */
export function subnetKey(prefix: string, subnet: Cidr): string {
  return `${prefix}/subnets/${formatIp(subnet.net)}-${subnet.prefix}`;
}

/** The subnet named by a lease key, or undefined for other keys. */
export function subnetOfKey(prefix: string, key: string): Cidr | undefined {
  const head = `${prefix}/subnets/`;
  if (!key.startsWith(head)) return undefined;
  const m = /^(\d+\.\d+\.\d+\.\d+)-(\d+)$/.exec(key.slice(head.length));
  if (!m) return undefined;
  const ip = parseIp(m[1]);
  const len = Number(m[2]);
  if (ip === undefined || len < 0 || len > 32) return undefined;
  return networkOf(ip, len);
}

/** A lease's value: flanneld's LeaseAttrs JSON. */
export interface LeaseAttrs {
  PublicIP: string;
  PublicIPv6: string | null;
  BackendType: string;
  BackendData: { VNI: number; VtepMAC: string } | null;
}

/** Byte for byte the shape flanneld writes (field order included). */
export function formatLease(publicIp: string, vni: number, vtepMac: string): string {
  const attrs: LeaseAttrs = {
    PublicIP: publicIp,
    PublicIPv6: null,
    BackendType: 'vxlan',
    BackendData: { VNI: vni, VtepMAC: vtepMac },
  };
  return JSON.stringify(attrs);
}

export function parseLease(value: string): LeaseAttrs | undefined {
  try {
    const v = JSON.parse(value) as Partial<LeaseAttrs>;
    if (typeof v.PublicIP !== 'string' || parseIp(v.PublicIP) === undefined) return undefined;
    return {
      PublicIP: v.PublicIP,
      PublicIPv6: v.PublicIPv6 ?? null,
      BackendType: v.BackendType ?? '',
      BackendData: v.BackendData ?? null,
    };
  } catch {
    return undefined;
  }
}

/** /run/flannel/subnet.env */
export interface SubnetEnv {
  network: Cidr;
  /** first usable address of the node's subnet with its length: 10.244.1.1/24 */
  subnet: { ip: number; prefix: number };
  mtu: number;
  ipMasq: boolean;
}

export function formatSubnetEnv(e: SubnetEnv): string {
  return (
    `FLANNEL_NETWORK=${formatCidr(e.network)}\n` +
    `FLANNEL_SUBNET=${formatIp(e.subnet.ip)}/${e.subnet.prefix}\n` +
    `FLANNEL_MTU=${e.mtu}\n` +
    `FLANNEL_IPMASQ=${e.ipMasq}\n`
  );
}

export function parseSubnetEnv(text: string): SubnetEnv | undefined {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z_0-9]+)=(.*)$/.exec(line);
    if (m) kv.set(m[1], m[2].trim());
  }
  const network = parseCidr(kv.get('FLANNEL_NETWORK') ?? '');
  const subnet = parseCidr(kv.get('FLANNEL_SUBNET') ?? '');
  const mtu = Number(kv.get('FLANNEL_MTU'));
  if (!network || !subnet || !(mtu > 0)) return undefined;
  return {
    network: networkOf(network.ip, network.prefix),
    subnet,
    mtu,
    ipMasq: kv.get('FLANNEL_IPMASQ') === 'true',
  };
}

/** flannel.<VNI> */
export function vxlanDevice(vni: number): string {
  return `flannel.${vni}`;
}
