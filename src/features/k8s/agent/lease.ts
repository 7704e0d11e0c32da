// The agent's subnet lease, as flanneld's etcd subnet manager keeps it: listed, acquired
// (our old lease, else the subnet of subnet.env, else a random free one), renewed with a
// fresh etcd lease before expiry. A dual-stack network leases an IPv4 and an IPv6 subnet
// together under one key (`10.244.1.0-24&fd00:10:244:1::-64`).
import { existsSync, readFileSync } from 'node:fs';
import { type Cidr, formatCidr, networkOf } from '../../../util/ipv4.js';
import { type Cidr6, formatCidr6 } from '../../../util/ipv6.js';
import {
  type LeaseSubnets,
  parseLease,
  parseSubnetEnv,
  parseSubnetKey,
  type ResolvedConfig,
  type ResolvedConfig6,
  subnet6Of,
  subnetKey,
} from '../flannel.js';
import type { EtcdHttp } from './etcd-http.js';
import type { KeyValue } from './etcd-wire.js';

export interface Lease extends LeaseSubnets {
  leaseId: string;
  expires: number;
}

/** flanneld picks at random among the first 100 free subnets of each family. */
const CANDIDATES = 100;

export class SubnetLeases {
  constructor(
    private readonly etcd: EtcdHttp,
    private readonly prefix: string,
    private readonly publicIp: string,
    private readonly subnetFile: string,
    private readonly ttl: number,
    private readonly log: (msg: string) => void,
  ) {}

  keyOf(l: LeaseSubnets): string {
    return subnetKey(this.prefix, l.subnet, l.subnet6);
  }

  /** All leases under `<prefix>/subnets/` and the revision they were read at. */
  async list(): Promise<{ leases: Map<string, KeyValue>; revision: string }> {
    const res = await this.etcd.getPrefix(`${this.prefix}/subnets/`);
    const leases = new Map<string, KeyValue>();
    for (const kv of res.kvs) leases.set(kv.key.toString(), kv);
    return { leases, revision: res.revision };
  }

  async grant(): Promise<string> {
    return this.etcd.leaseGrant(this.ttl);
  }

  /** The lease written again under a fresh etcd lease (the old one revoked). */
  async renew(lease: Lease, value: string): Promise<Lease> {
    const leaseId = await this.grant();
    await this.etcd.put(this.keyOf(lease), value, leaseId);
    await this.etcd.leaseRevoke(lease.leaseId).catch(() => {});
    return { ...lease, leaseId, expires: Date.now() + this.ttl * 1000 };
  }

  /**
   * flannel's order: a lease that already carries our public IP and fits the config (a
   * restart), else the subnets of an existing subnet.env if they are free, else random free
   * subnets between SubnetMin and SubnetMax (IPv6: IPv6SubnetMin and IPv6SubnetMax).
   */
  async acquire(cfg: ResolvedConfig, value: string): Promise<Lease> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const { leases } = await this.list();
      const taken = new Set<number>();
      const taken6 = new Set<bigint>();
      let mine: LeaseSubnets | undefined;
      for (const [key, kv] of leases) {
        const s = parseSubnetKey(this.prefix, key);
        if (!s) continue;
        taken.add(s.subnet.net);
        if (s.subnet6) taken6.add(s.subnet6.net);
        if (parseLease(kv.value.toString())?.PublicIP === this.publicIp && fits(cfg, s)) mine = s;
      }
      const leaseId = await this.grant();
      const expires = Date.now() + this.ttl * 1000;
      if (mine) {
        // ours already: renew it with a fresh lease (and our VTEP MACs, which may have changed)
        await this.etcd.put(this.keyOf(mine), value, leaseId);
        this.log(`reusing lease ${describe(mine)}`);
        return { ...mine, leaseId, expires };
      }
      let want: LeaseSubnets | undefined;
      const previous = existsSync(this.subnetFile)
        ? parseSubnetEnv(readFileSync(this.subnetFile, 'utf8'))
        : undefined;
      if (previous) {
        const p: LeaseSubnets = { subnet: networkOf(previous.subnet.ip, previous.subnet.prefix) };
        const p6 = subnet6Of(previous);
        if (p6) p.subnet6 = p6;
        if (fits(cfg, p) && !taken.has(p.subnet.net) && !(p.subnet6 && taken6.has(p.subnet6.net))) want = p;
      }
      if (!want) {
        const step = 2 ** (32 - cfg.subnetLen);
        const free: number[] = [];
        for (let n = cfg.subnetMin; n <= cfg.subnetMax && free.length < CANDIDATES; n += step)
          if (!taken.has(n)) free.push(n);
        if (free.length === 0) throw new Error(`no free subnet left in ${formatCidr(cfg.network)}`);
        want = { subnet: { net: pick(free), prefix: cfg.subnetLen } };
        if (cfg.ipv6) want.subnet6 = { net: pick(free6(cfg.ipv6, taken6)), prefix: cfg.ipv6.subnetLen };
      }
      const key = this.keyOf(want);
      const created = await this.etcd.txn(
        [{ key, target: 'CREATE', result: 'EQUAL', value: 0 }],
        [{ key, value, lease: leaseId }],
      );
      if (created) {
        this.log(`acquired lease ${describe(want)}`);
        return { ...want, leaseId, expires };
      }
      await this.etcd.leaseRevoke(leaseId).catch(() => {});
    }
    throw new Error('could not acquire a subnet lease (too many conflicts)');
  }
}

function pick<T>(xs: T[]): T {
  return xs[Math.floor(Math.random() * xs.length)];
}

function free6(c: ResolvedConfig6, taken: Set<bigint>): bigint[] {
  const step = 1n << BigInt(128 - c.subnetLen);
  const out: bigint[] = [];
  for (let n = c.subnetMin; n <= c.subnetMax && out.length < CANDIDATES; n += step)
    if (!taken.has(n)) out.push(n);
  if (out.length === 0) throw new Error(`no free IPv6 subnet left in ${formatCidr6(c.network)}`);
  return out;
}

/** A lease's subnets fit the config: the right lengths, within Min..Max, IPv6 exactly when enabled. */
function fits(cfg: ResolvedConfig, s: LeaseSubnets): boolean {
  const v4 =
    s.subnet.prefix === cfg.subnetLen && s.subnet.net >= cfg.subnetMin && s.subnet.net <= cfg.subnetMax;
  if (!cfg.ipv6) return v4 && !s.subnet6;
  return v4 && s.subnet6 !== undefined && fits6(cfg.ipv6, s.subnet6);
}

function fits6(c: ResolvedConfig6, s: Cidr6): boolean {
  return s.prefix === c.subnetLen && s.net >= c.subnetMin && s.net <= c.subnetMax;
}

export function describe(s: { subnet: Cidr; subnet6?: Cidr6 }): string {
  return s.subnet6 ? `${formatCidr(s.subnet)} and ${formatCidr6(s.subnet6)}` : formatCidr(s.subnet);
}
