// flannel's etcd schema and files, as flanneld (etcd backend, vxlan) reads and writes them:
// the network config, subnet lease keys and values, subnet.env. Shared by the agent and the
// main process, so it imports nothing heavy (the agent must stay small). Dual stack follows
// flanneld's schema: EnableIPv6/IPv6Network/IPv6SubnetLen in the config, lease keys
// `10.244.1.0-24&fd00:10:244:1::-64`, PublicIPv6 and BackendV6Data in the lease, the
// FLANNEL_IPV6_* lines of subnet.env, and a second VTEP flannel-v6.<VNI>.
import { type Cidr, formatCidr, formatIp, networkOf, parseCidr, parseIp } from '../../util/ipv4.js';
import { type Cidr6, formatCidr6, formatIp6, networkOf6, parseCidr6, parseIp6 } from '../../util/ipv6.js';

export const DEFAULT_PREFIX = '/coreos.com/network';
/** the Linux kernel's default VXLAN port, which flannel uses when Backend.Port is 0 */
export const VXLAN_PORT = 8472;
/** flannel's lease TTL (24 h) and the renewal margin before expiry (1 h) */
export const DEFAULT_LEASE_TTL_S = 24 * 3600;
export const DEFAULT_RENEW_MARGIN_S = 3600;
/** VXLAN over IPv4 costs 50 bytes per packet (outer IP 20 + UDP 8 + VXLAN 8 + inner Ethernet 14) */
export const VXLAN_OVERHEAD = 50;
/** over IPv6 the outer header is 40 bytes: 70 (flanneld subtracts 50 for both; netsim keeps IPv6 packets whole) */
export const VXLAN6_OVERHEAD = 70;

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
  IPv6Network?: string;
  IPv6SubnetLen?: number;
  IPv6SubnetMin?: string;
  IPv6SubnetMax?: string;
  Backend?: BackendConfig;
}

/** The IPv6 half of a resolved config (EnableIPv6). */
export interface ResolvedConfig6 {
  network: Cidr6;
  subnetLen: number;
  subnetMin: bigint;
  subnetMax: bigint;
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
  /** present when EnableIPv6 */
  ipv6?: ResolvedConfig6;
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
  // flanneld's etcd subnet manager always leases an IPv4 subnet (its keys start with one)
  if (cfg.EnableIPv4 === false)
    return 'EnableIPv4 false: the etcd subnet manager always leases an IPv4 subnet';
  let ipv6: ResolvedConfig6 | undefined;
  if (cfg.EnableIPv6) {
    const r = resolveConfig6(cfg);
    if (typeof r === 'string') return r;
    ipv6 = r;
  }
  const backend = cfg.Backend ?? { Type: 'udp' };
  return {
    ...(ipv6 ? { ipv6 } : {}),
    network,
    subnetLen,
    subnetMin,
    subnetMax,
    vni: backend.VNI ?? 1,
    port: backend.Port || VXLAN_PORT,
    backendType: backend.Type ?? 'udp',
  };
}

/**
 * flanneld's IPv6 defaults: IPv6SubnetLen 64 (a network longer than /62: prefix + 2; at most
 * 126, and at least four subnets), Min = the 2nd subnet, Max = the last.
 */
function resolveConfig6(cfg: NetworkConfig): ResolvedConfig6 | string {
  const net = parseCidr6(cfg.IPv6Network ?? '');
  if (!net) return `IPv6Network "${cfg.IPv6Network ?? ''}" is not an IPv6 network`;
  const network = networkOf6(net.ip, net.prefix);
  let subnetLen = cfg.IPv6SubnetLen ?? 0;
  if (subnetLen) {
    if (subnetLen > 126) return `IPv6SubnetLen ${subnetLen} is more than 126`;
    if (subnetLen < network.prefix + 2)
      return `IPv6SubnetLen ${subnetLen} leaves fewer than four subnets in the /${network.prefix} IPv6 network (at least /${network.prefix + 2})`;
  } else if (network.prefix > 124) return `IPv6Network /${network.prefix} is too small (at most /124)`;
  else subnetLen = network.prefix <= 62 ? 64 : network.prefix + 2;
  const step = 1n << BigInt(128 - subnetLen);
  const last = network.net + (1n << BigInt(128 - network.prefix)) - step;
  const bound = (text: string | undefined, dflt: bigint) =>
    text === undefined ? dflt : parseIp6(text.split('/')[0]);
  const subnetMin = bound(cfg.IPv6SubnetMin, network.net + step);
  const subnetMax = bound(cfg.IPv6SubnetMax, last);
  if (subnetMin === undefined || subnetMax === undefined)
    return 'IPv6SubnetMin/IPv6SubnetMax are not IPv6 addresses';
  return { network, subnetLen, subnetMin, subnetMax };
}

/** How many subnets a config can lease (both families: the smaller count). */
export function subnetCount(c: ResolvedConfig): number {
  const v4 = Math.max(0, Math.floor((c.subnetMax - c.subnetMin) / 2 ** (32 - c.subnetLen)) + 1);
  return c.ipv6 ? Math.min(v4, subnetCount6(c.ipv6)) : v4;
}

export function subnetCount6(c: ResolvedConfig6): number {
  if (c.subnetMax < c.subnetMin) return 0;
  const n = (c.subnetMax - c.subnetMin) / (1n << BigInt(128 - c.subnetLen)) + 1n;
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

/** A lease's subnets: IPv4 always, IPv6 in a dual-stack network. */
export interface LeaseSubnets {
  subnet: Cidr;
  subnet6?: Cidr6;
}

/** `<prefix>/subnets/10.244.1.0-24`, dual stack `<prefix>/subnets/10.244.1.0-24&fd00:10:244:1::-64` */
export function subnetKey(prefix: string, subnet: Cidr, subnet6?: Cidr6): string {
  const v4 = `${formatIp(subnet.net)}-${subnet.prefix}`;
  return `${prefix}/subnets/${subnet6 ? `${v4}&${formatIp6(subnet6.net)}-${subnet6.prefix}` : v4}`;
}

/** The subnets named by a lease key (either form), or undefined for other keys. */
export function parseSubnetKey(prefix: string, key: string): LeaseSubnets | undefined {
  const head = `${prefix}/subnets/`;
  if (!key.startsWith(head)) return undefined;
  const m = /^(\d+\.\d+\.\d+\.\d+)-(\d+)(?:&([0-9a-f:]+)-(\d+))?$/.exec(key.slice(head.length));
  if (!m) return undefined;
  const ip = parseIp(m[1]);
  const len = Number(m[2]);
  if (ip === undefined || len < 0 || len > 32) return undefined;
  const subnet = networkOf(ip, len);
  if (m[3] === undefined) return { subnet };
  const ip6 = parseIp6(m[3]);
  const len6 = Number(m[4]);
  if (ip6 === undefined || len6 > 128) return undefined;
  return { subnet, subnet6: networkOf6(ip6, len6) };
}

/** A lease's subnets as text: 10.244.1.0/24 and fd00:10:244:1::/64 */
export function formatLeaseSubnets(s: LeaseSubnets): { subnet: string; subnet6?: string } {
  return { subnet: formatCidr(s.subnet), ...(s.subnet6 ? { subnet6: formatCidr6(s.subnet6) } : {}) };
}

/** The IPv4 subnet named by a lease key (either form), or undefined for other keys. */
export function subnetOfKey(prefix: string, key: string): Cidr | undefined {
  return parseSubnetKey(prefix, key)?.subnet;
}

export interface VxlanData {
  VNI: number;
  VtepMAC: string;
}

/** A lease's value: flanneld's LeaseAttrs JSON (BackendV6Data only in a dual-stack lease). */
export interface LeaseAttrs {
  PublicIP: string;
  PublicIPv6: string | null;
  BackendType: string;
  BackendData: VxlanData | null;
  BackendV6Data?: VxlanData;
}

/**
 * Byte for byte the shape flanneld writes (field order included); `v6`: the worker's underlay
 * IPv6 address and the MAC of its flannel-v6.<VNI>.
 */
export function formatLease(
  publicIp: string,
  vni: number,
  vtepMac: string,
  v6?: { publicIp: string; vtepMac: string },
): string {
  const attrs: LeaseAttrs = {
    PublicIP: publicIp,
    PublicIPv6: v6?.publicIp ?? null,
    BackendType: 'vxlan',
    BackendData: { VNI: vni, VtepMAC: vtepMac },
    ...(v6 ? { BackendV6Data: { VNI: vni, VtepMAC: v6.vtepMac } } : {}),
  };
  return JSON.stringify(attrs);
}

export function parseLease(value: string): LeaseAttrs | undefined {
  try {
    const v = JSON.parse(value) as Partial<LeaseAttrs>;
    if (typeof v.PublicIP !== 'string' || parseIp(v.PublicIP) === undefined) return undefined;
    const v6 = typeof v.PublicIPv6 === 'string' && parseIp6(v.PublicIPv6) !== undefined;
    return {
      PublicIP: v.PublicIP,
      PublicIPv6: v6 ? v.PublicIPv6! : null,
      BackendType: v.BackendType ?? '',
      BackendData: v.BackendData ?? null,
      ...(v6 && v.BackendV6Data ? { BackendV6Data: v.BackendV6Data } : {}),
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
  /** dual stack: FLANNEL_IPV6_NETWORK */
  network6?: Cidr6;
  /** dual stack: FLANNEL_IPV6_SUBNET, the first address of the node's IPv6 subnet: fd00:10:244:1::1/64 */
  subnet6?: { ip: bigint; prefix: number };
}

/** In flanneld's order: the IPv4 lines, the IPv6 lines, MTU, IPMASQ. */
export function formatSubnetEnv(e: SubnetEnv): string {
  const v6 =
    e.network6 && e.subnet6
      ? `FLANNEL_IPV6_NETWORK=${formatCidr6(e.network6)}\n` +
        `FLANNEL_IPV6_SUBNET=${formatIp6(e.subnet6.ip)}/${e.subnet6.prefix}\n`
      : '';
  return (
    `FLANNEL_NETWORK=${formatCidr(e.network)}\n` +
    `FLANNEL_SUBNET=${formatIp(e.subnet.ip)}/${e.subnet.prefix}\n` +
    v6 +
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
  const network6 = parseCidr6(kv.get('FLANNEL_IPV6_NETWORK') ?? '');
  const subnet6 = parseCidr6(kv.get('FLANNEL_IPV6_SUBNET') ?? '');
  return {
    network: networkOf(network.ip, network.prefix),
    subnet,
    mtu,
    ipMasq: kv.get('FLANNEL_IPMASQ') === 'true',
    ...(network6 && subnet6 ? { network6: networkOf6(network6.ip, network6.prefix), subnet6 } : {}),
  };
}

/** The worker's IPv6 pod subnet from subnet.env (undefined in an IPv4-only cluster). */
export function subnet6Of(e: SubnetEnv): Cidr6 | undefined {
  return e.subnet6 ? networkOf6(e.subnet6.ip, e.subnet6.prefix) : undefined;
}

/** flannel.<VNI> */
export function vxlanDevice(vni: number): string {
  return `flannel.${vni}`;
}

/** flannel-v6.<VNI>: the VTEP over the underlay's IPv6 addresses */
export function vxlanDevice6(vni: number): string {
  return `flannel-v6.${vni}`;
}
