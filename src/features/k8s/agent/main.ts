// The pod network agent: flanneld's job (etcd backend, vxlan backend) for one worker, run as a
// child process inside the worker's namespace so its etcd traffic crosses the simulated
// network. It reads `<prefix>/config`, leases a subnet under `<prefix>/subnets/` (TTL lease,
// renewed before expiry), runs the VTEP `flannel.<VNI>` (dual stack: also `flannel-v6.<VNI>`
// over the underlay's IPv6 address), writes subnet.env, and for every other worker's lease
// keeps a route, a permanent neighbour and an FDB entry on each VTEP, as flanneld does.
//
//   node agent/main.js --etcd-endpoints http://10.0.0.2:2379,... --public-ip 10.0.0.5 \
//        [--public-ip6 fd00::5] --iface eth1 --subnet-file /run/.../subnet.env [--etcd-prefix /coreos.com/network]
//        [--lease-ttl 86400] [--renew-margin 3600] [--name C0w1]
import { renameSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { formatCidr, formatIp, parseIp } from '../../../util/ipv4.js';
import { formatCidr6, formatIp6, parseIp6 } from '../../../util/ipv6.js';
import { sleep } from '../../../util/wait.js';
import {
  DEFAULT_LEASE_TTL_S,
  DEFAULT_PREFIX,
  DEFAULT_RENEW_MARGIN_S,
  formatLease,
  formatSubnetEnv,
  type NetworkConfig,
  parseLease,
  parseSubnetKey,
  type ResolvedConfig,
  resolveConfig,
  VXLAN_OVERHEAD,
  VXLAN6_OVERHEAD,
  vxlanDevice,
  vxlanDevice6,
} from '../flannel.js';
import { EtcdHttp } from './etcd-http.js';
import { watchAfter } from './etcd-prefix.js';
import type { KeyValue } from './etcd-wire.js';
import { ensureVxlan, mtuOf, type RemoteVtep, setNftScratchDir, setVtepAddress } from './kernel.js';
import { describe, type Lease, SubnetLeases } from './lease.js';
import { PolicyAgent } from './policy.js';
import { KubeProxy } from './proxy.js';
import { shardingFromEnv } from './proxy-tables.js';
import { Speaker } from './speaker.js';
import { Vtep } from './vtep.js';

const { values: opt } = parseArgs({
  options: {
    'etcd-endpoints': { type: 'string', default: 'http://127.0.0.1:2379' },
    'etcd-prefix': { type: 'string', default: DEFAULT_PREFIX },
    'public-ip': { type: 'string' },
    /** the worker's underlay IPv6 address: flannel-v6.<VNI>'s local end (a dual-stack network) */
    'public-ip6': { type: 'string' },
    iface: { type: 'string' },
    'subnet-file': { type: 'string', default: '/run/flannel/subnet.env' },
    'lease-ttl': { type: 'string', default: String(DEFAULT_LEASE_TTL_S) },
    'renew-margin': { type: 'string', default: String(DEFAULT_RENEW_MARGIN_S) },
    name: { type: 'string', default: 'agent' },
    /** also run kube-proxy (nftables mode) in this process */
    proxy: { type: 'boolean', default: false },
  },
});

const prefix = opt['etcd-prefix']!.replace(/\/+$/, '');
const publicIp = opt['public-ip'];
const publicIp6 = opt['public-ip6'];
const iface = opt.iface;
const subnetFile = opt['subnet-file']!;
const leaseTtl = Number(opt['lease-ttl']);
const renewMargin = Number(opt['renew-margin']);

function log(msg: string): void {
  process.stdout.write(`${new Date().toISOString()} ${opt.name}: ${msg}\n`);
}

if (!publicIp || parseIp(publicIp) === undefined || !iface) {
  log('--public-ip and --iface are required');
  process.exit(2);
}
if (publicIp6 !== undefined && parseIp6(publicIp6) === undefined) {
  log(`--public-ip6 ${publicIp6} is not an IPv6 address`);
  process.exit(2);
}
if (!(leaseTtl > 0) || !(renewMargin >= 0) || renewMargin >= leaseTtl) {
  log('--lease-ttl must be positive and --renew-margin smaller than it');
  process.exit(2);
}

const endpoints = opt['etcd-endpoints']!.split(',');
const etcd = new EtcdHttp(endpoints);

/** One member's /health (etcd's HTTP endpoint next to gRPC): true once it is part of a quorum with a leader. */
function memberHealthy(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpGet(`${url}/health`, { timeout: 500 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve(/"health":\s*"true"/.test(body)));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/**
 * Waits until a member answers healthy, asking one member at a time, before the client's first
 * call: the agent is started while etcd is still electing its first leader (its start-up
 * overlaps etcd's), and the client would shut out a member that refused three calls for 5 s.
 */
async function waitForEtcd(): Promise<void> {
  for (let attempt = 0; !(await memberHealthy(endpoints[attempt % endpoints.length])); attempt++) {
    if (attempt > 0 && attempt % 200 === 0) log('waiting for a healthy etcd member');
    await sleep(50);
  }
}

/** Retries an etcd call until it succeeds: flanneld waits for etcd the same way. */
async function retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt % 10 === 0) log(`${what}: ${(err as Error).message} (retrying)`);
      await sleep(Math.min(100 * 2 ** Math.min(attempt, 4), 1000));
    }
  }
}

async function readConfig(): Promise<ResolvedConfig> {
  for (let attempt = 0; ; attempt++) {
    const raw = await retry('read config', () => etcd.get(`${prefix}/config`));
    if (raw) {
      let cfg: NetworkConfig;
      try {
        cfg = JSON.parse(raw) as NetworkConfig;
      } catch {
        throw new Error(`${prefix}/config is not JSON: ${raw}`);
      }
      const resolved = resolveConfig(cfg);
      if (typeof resolved === 'string') throw new Error(`${prefix}/config: ${resolved}`);
      if (resolved.backendType !== 'vxlan')
        throw new Error(`backend ${resolved.backendType}: only vxlan is supported`);
      return resolved;
    }
    if (attempt % 250 === 0) log(`waiting for ${prefix}/config`);
    await sleep(20);
  }
}

function writeSubnetFile(cfg: ResolvedConfig, lease: Lease, mtu: number): void {
  const text = formatSubnetEnv({
    network: cfg.network,
    subnet: { ip: lease.subnet.net + 1, prefix: lease.subnet.prefix },
    mtu,
    // kube-flannel runs flanneld with --ip-masq, so flannel's CNI plugin hands `bridge` ipMasq:
    // false: pod-to-pod traffic between workers keeps the pod's source address (NetworkPolicy
    // matches on it). Pods here reach pod networks and services only: nothing to masquerade.
    ipMasq: true,
    ...(cfg.ipv6 && lease.subnet6
      ? { network6: cfg.ipv6.network, subnet6: { ip: lease.subnet6.net + 1n, prefix: lease.subnet6.prefix } }
      : {}),
  });
  writeFileSync(`${subnetFile}.tmp`, text);
  renameSync(`${subnetFile}.tmp`, subnetFile);
}

/** What each VTEP needs for a lease of another worker (none for other backends, or our own). */
function remotesOf(key: string, value: string, own: Lease): { v4?: RemoteVtep; v6?: RemoteVtep } {
  const s = parseSubnetKey(prefix, key);
  if (!s || s.subnet.net === own.subnet.net) return {};
  const attrs = parseLease(value);
  if (attrs?.BackendType !== 'vxlan' || attrs.PublicIP === publicIp) return {};
  const out: { v4?: RemoteVtep; v6?: RemoteVtep } = {};
  if (attrs.BackendData?.VtepMAC)
    out.v4 = {
      subnet: formatCidr(s.subnet),
      gateway: formatIp(s.subnet.net),
      mac: attrs.BackendData.VtepMAC.toLowerCase(),
      publicIp: attrs.PublicIP,
    };
  // flannel-v6 only between dual-stack leases: the remote's IPv6 subnet, address and VTEP
  if (s.subnet6 && attrs.PublicIPv6 && attrs.BackendV6Data?.VtepMAC)
    out.v6 = {
      subnet: formatCidr6(s.subnet6),
      gateway: formatIp6(s.subnet6.net),
      mac: attrs.BackendV6Data.VtepMAC.toLowerCase(),
      publicIp: attrs.PublicIPv6,
    };
  return out;
}

async function main(): Promise<void> {
  await waitForEtcd();
  const cfg = await readConfig();
  if (cfg.ipv6 && !publicIp6)
    throw new Error('the network config enables IPv6, but no --public-ip6 was given');
  const underlayMtu = await mtuOf(iface!);
  const dev = vxlanDevice(cfg.vni);
  const vxlan = { vni: cfg.vni, dev: iface!, port: cfg.port };
  // flannel-v6.<VNI>: the same VNI and port over the underlay's IPv6 address; its outer header
  // is 20 bytes longer, and pods' MTU (one eth0 for both families) follows it
  const dev6 = cfg.ipv6 ? vxlanDevice6(cfg.vni) : undefined;
  const mtu = underlayMtu - (dev6 ? VXLAN6_OVERHEAD : VXLAN_OVERHEAD);
  const [mac, mac6] = await Promise.all([
    ensureVxlan({ ...vxlan, name: dev, local: publicIp!, mtu: underlayMtu - VXLAN_OVERHEAD }),
    dev6 ? ensureVxlan({ ...vxlan, name: dev6, local: publicIp6!, mtu }) : undefined,
  ]);
  const v6 = dev6 && mac6 ? { dev: dev6, mac: mac6 } : undefined;
  const value = formatLease(publicIp!, cfg.vni, mac, v6 && { publicIp: publicIp6!, vtepMac: v6.mac });
  const subnets = new SubnetLeases(etcd, prefix, publicIp!, subnetFile, leaseTtl, log);
  let lease = await retry('acquire lease', () => subnets.acquire(cfg, value));
  await Promise.all([
    setVtepAddress(dev, formatIp(lease.subnet.net)),
    v6 && lease.subnet6 ? setVtepAddress(v6.dev, formatIp6(lease.subnet6.net)) : undefined,
  ]);
  writeSubnetFile(cfg, lease, mtu);

  // full resync: what the kernel has (from before a restart) against what etcd says now
  const vtep4 = new Vtep(dev, 4, log);
  const vtep6 = v6 ? new Vtep(v6.dev, 6, log) : undefined;
  const want4 = new Map<string, RemoteVtep>();
  const want6 = new Map<string, RemoteVtep>();
  const { leases, revision } = await retry('list leases', () => subnets.list());
  for (const [key, kv] of leases) {
    const r = remotesOf(key, kv.value.toString(), lease);
    if (r.v4) want4.set(key, r.v4);
    if (r.v6) want6.set(key, r.v6);
  }
  await Promise.all([vtep4.resync(want4), vtep6?.resync(want6)]);
  log(
    `ready: subnet ${describe(lease)}, ${want4.size} remote leases${vtep6 ? ` (${want6.size} over ${vtep6.dev})` : ''}, mtu ${mtu}, vtep ${mac}${v6 ? `, vtep6 ${v6.mac}` : ''}`,
  );
  if (opt.proxy) {
    setNftScratchDir(dirname(subnetFile));
    const proxy = new KubeProxy(
      etcd,
      {
        clusterCidr: { addr: formatIp(cfg.network.net), len: cfg.network.prefix },
        // dual stack: table ip6 kube-proxy too, masquerading from outside the IPv6 pod network
        ...(cfg.ipv6
          ? { clusterCidr6: { addr: formatIp6(cfg.ipv6.network.net), len: cfg.ipv6.network.prefix } }
          : {}),
        node: opt.name,
        sharding: shardingFromEnv(),
      },
      log,
    );
    void retry('kube-proxy', () => proxy.start());
    const policy = new PolicyAgent(etcd, opt.name!, log, cfg.ipv6 ? [4, 6] : [4]);
    void retry('network policy', () => policy.start());
    const speaker = new Speaker(etcd, opt.name!, iface!, log);
    void retry('LoadBalancer speaker', () => speaker.start());
  }

  // then follow the changes from exactly that revision, applied in small batches
  const onPut = (kv: KeyValue) => {
    const key = kv.key.toString();
    const r = remotesOf(key, kv.value.toString(), lease);
    vtep4.change(key, r.v4 ?? null);
    vtep6?.change(key, r.v6 ?? null);
  };
  const onDelete = (kv: KeyValue) => {
    const key = kv.key.toString();
    vtep4.change(key, null);
    vtep6?.change(key, null);
    if (key === subnets.keyOf(lease)) {
      // our lease is gone (expired while etcd was unreachable, or deleted): take it again
      log('own lease disappeared: re-acquiring');
      void retry('re-acquire lease', () => subnets.acquire(cfg, value)).then((l) => {
        if (subnets.keyOf(l) !== subnets.keyOf(lease)) {
          log(`got a different subnet ${describe(l)}: exiting so that pods are not cut off silently`);
          process.exit(1);
        }
        lease = l;
      });
    }
  };
  await retry('watch', () =>
    watchAfter(etcd, `${prefix}/subnets/`, revision, {
      put: onPut,
      delete: onDelete,
      error: (err) => log(`watch: ${err.message}`),
    }),
  );

  // renew the lease `renewMargin` before it expires (flannel: 1 h before a 24 h TTL)
  const renewLoop = async () => {
    for (;;) {
      await sleep(Math.max(lease.expires - renewMargin * 1000 - Date.now(), 200));
      try {
        lease = await subnets.renew(lease, value);
      } catch (err) {
        log(`renewing lease: ${(err as Error).message} (retrying)`);
        await sleep(1000);
      }
    }
  };
  void renewLoop();
}

for (const sig of ['SIGTERM', 'SIGINT'] as const)
  process.on(sig, () => {
    // like flanneld: the lease stays (a restarted agent finds it by its public IP)
    log(`${sig}: exiting`);
    process.exit(0);
  });

main().catch((err) => {
  log(`fatal: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
