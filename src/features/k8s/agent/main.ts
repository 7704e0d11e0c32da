// The pod network agent: flanneld's job (etcd backend, vxlan backend) for one worker, run as a
// child process inside the worker's namespace so its etcd traffic crosses the simulated
// network. It reads `<prefix>/config`, leases a subnet under `<prefix>/subnets/` (TTL lease,
// renewed before expiry), runs the VTEP `flannel.<VNI>`, writes subnet.env, and for every
// other worker's lease keeps a route, a permanent neighbour and an FDB entry, as flanneld does.
//
//   node agent/main.js --etcd-endpoints http://10.0.0.2:2379,... --public-ip 10.0.0.5 \
//        --iface eth1 --subnet-file /run/.../subnet.env [--etcd-prefix /coreos.com/network]
//        [--lease-ttl 86400] [--renew-margin 3600] [--name C0w1]
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { Etcd3, type IKeyValue, type Watcher } from 'etcd3';
import { type Cidr, formatCidr, formatIp, networkOf, parseIp } from '../../../util/ipv4.js';
import { sleep } from '../../../util/wait.js';
import { etcdClientOptions } from '../etcd-client.js';
import {
  DEFAULT_LEASE_TTL_S,
  DEFAULT_PREFIX,
  DEFAULT_RENEW_MARGIN_S,
  formatLease,
  formatSubnetEnv,
  type NetworkConfig,
  parseLease,
  parseSubnetEnv,
  type ResolvedConfig,
  resolveConfig,
  subnetKey,
  subnetOfKey,
  VXLAN_OVERHEAD,
  vxlanDevice,
} from '../flannel.js';
import {
  applyVtep,
  ensureVxlan,
  mtuOf,
  type RemoteVtep,
  readVtepState,
  setNftScratchDir,
  setVtepAddress,
} from './kernel.js';
import { PolicyAgent } from './policy.js';
import { KubeProxy } from './proxy.js';
import { Speaker } from './speaker.js';

const { values: opt } = parseArgs({
  options: {
    'etcd-endpoints': { type: 'string', default: 'http://127.0.0.1:2379' },
    'etcd-prefix': { type: 'string', default: DEFAULT_PREFIX },
    'public-ip': { type: 'string' },
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
if (!(leaseTtl > 0) || !(renewMargin >= 0) || renewMargin >= leaseTtl) {
  log('--lease-ttl must be positive and --renew-margin smaller than it');
  process.exit(2);
}

const etcd = new Etcd3(etcdClientOptions(opt['etcd-endpoints']!.split(','), 2000));

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
    const raw = await retry('read config', () => etcd.get(`${prefix}/config`).string());
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
    if (attempt % 50 === 0) log(`waiting for ${prefix}/config`);
    await sleep(100);
  }
}

interface Lease {
  subnet: Cidr;
  leaseId: string;
  expires: number;
}

/** All leases under `<prefix>/subnets/` and the revision they were read at. */
async function listLeases(): Promise<{ leases: Map<string, IKeyValue>; revision: string }> {
  const res = await etcd.getAll().prefix(`${prefix}/subnets/`).exec();
  const leases = new Map<string, IKeyValue>();
  for (const kv of res.kvs) leases.set(kv.key.toString(), kv);
  return { leases, revision: res.header.revision };
}

async function grant(): Promise<string> {
  const res = await etcd.leaseClient.leaseGrant({ TTL: leaseTtl, ID: 0 });
  return res.ID;
}

/**
 * flannel's order: a lease that already carries our public IP (a restart), else the subnet of
 * an existing subnet.env if it is free, else a random free subnet between SubnetMin and SubnetMax.
 */
async function acquire(cfg: ResolvedConfig, value: string): Promise<Lease> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const { leases } = await listLeases();
    const taken = new Set<number>();
    let mine: Cidr | undefined;
    for (const [key, kv] of leases) {
      const subnet = subnetOfKey(prefix, key);
      if (!subnet) continue;
      taken.add(subnet.net);
      if (parseLease(kv.value.toString())?.PublicIP === publicIp && subnet.prefix === cfg.subnetLen)
        mine = subnet;
    }
    const leaseId = await grant();
    if (mine) {
      // ours already: renew it with a fresh lease (and our VTEP MAC, which may have changed)
      await etcd.put(subnetKey(prefix, mine)).value(value).lease(leaseId).exec();
      log(`reusing lease ${formatCidr(mine)}`);
      return { subnet: mine, leaseId, expires: Date.now() + leaseTtl * 1000 };
    }
    let want: Cidr | undefined;
    const previous = existsSync(subnetFile) ? parseSubnetEnv(readFileSync(subnetFile, 'utf8')) : undefined;
    if (previous) {
      const net = networkOf(previous.subnet.ip, previous.subnet.prefix);
      if (inRange(cfg, net) && !taken.has(net.net)) want = net;
    }
    if (!want) {
      const step = 2 ** (32 - cfg.subnetLen);
      const free: number[] = [];
      for (let n = cfg.subnetMin; n <= cfg.subnetMax; n += step) if (!taken.has(n)) free.push(n);
      if (free.length === 0) throw new Error(`no free subnet left in ${formatCidr(cfg.network)}`);
      want = { net: free[Math.floor(Math.random() * free.length)], prefix: cfg.subnetLen };
    }
    const key = subnetKey(prefix, want);
    const res = await etcd
      .if(key, 'Create', '==', 0)
      .then(etcd.put(key).value(value).lease(leaseId))
      .commit();
    if (res.succeeded) {
      log(`acquired lease ${formatCidr(want)}`);
      return { subnet: want, leaseId, expires: Date.now() + leaseTtl * 1000 };
    }
    await etcd.leaseClient.leaseRevoke({ ID: leaseId }).catch(() => {});
  }
  throw new Error('could not acquire a subnet lease (too many conflicts)');
}

function inRange(cfg: ResolvedConfig, net: Cidr): boolean {
  return net.prefix === cfg.subnetLen && net.net >= cfg.subnetMin && net.net <= cfg.subnetMax;
}

function writeSubnetFile(cfg: ResolvedConfig, subnet: Cidr, mtu: number): void {
  const text = formatSubnetEnv({
    network: cfg.network,
    subnet: { ip: subnet.net + 1, prefix: subnet.prefix },
    mtu,
    // kube-flannel runs flanneld with --ip-masq, so flannel's CNI plugin hands `bridge` ipMasq:
    // false: pod-to-pod traffic between workers keeps the pod's source address (NetworkPolicy
    // matches on it). Pods here reach pod networks and services only: nothing to masquerade.
    ipMasq: true,
  });
  writeFileSync(`${subnetFile}.tmp`, text);
  renameSync(`${subnetFile}.tmp`, subnetFile);
}

/** What the VTEP needs for a lease of another worker (none for other backends or VNIs). */
function remoteOf(_cfg: ResolvedConfig, key: string, value: string, own: Cidr): RemoteVtep | undefined {
  const subnet = subnetOfKey(prefix, key);
  if (!subnet || subnet.net === own.net) return undefined;
  const attrs = parseLease(value);
  if (attrs?.BackendType !== 'vxlan' || !attrs.BackendData?.VtepMAC) return undefined;
  if (attrs.PublicIP === publicIp) return undefined;
  return {
    subnet: formatCidr(subnet),
    gateway: formatIp(subnet.net),
    mac: attrs.BackendData.VtepMAC.toLowerCase(),
    publicIp: attrs.PublicIP,
  };
}

async function main(): Promise<void> {
  const cfg = await readConfig();
  const dev = vxlanDevice(cfg.vni);
  const mtu = (await mtuOf(iface!)) - VXLAN_OVERHEAD;
  const mac = await ensureVxlan({
    name: dev,
    vni: cfg.vni,
    local: publicIp!,
    dev: iface!,
    port: cfg.port,
    mtu,
  });
  const value = formatLease(publicIp!, cfg.vni, mac);
  let lease = await retry('acquire lease', () => acquire(cfg, value));
  await setVtepAddress(dev, formatIp(lease.subnet.net));
  writeSubnetFile(cfg, lease.subnet, mtu);

  // full resync: what the kernel has (from before a restart) against what etcd says now
  const remotes = new Map<string, RemoteVtep>();
  const { leases, revision } = await retry('list leases', listLeases);
  for (const [key, kv] of leases) {
    const r = remoteOf(cfg, key, kv.value.toString(), lease.subnet);
    if (r) remotes.set(key, r);
  }
  await resync(dev, remotes);
  log(`ready: subnet ${formatCidr(lease.subnet)}, ${remotes.size} remote leases, mtu ${mtu}, vtep ${mac}`);
  if (opt.proxy) {
    setNftScratchDir(dirname(subnetFile));
    const proxy = new KubeProxy(
      etcd,
      { clusterCidr: { addr: formatIp(cfg.network.net), len: cfg.network.prefix }, node: opt.name },
      log,
    );
    void retry('kube-proxy', () => proxy.start());
    const policy = new PolicyAgent(etcd, opt.name!, log);
    void retry('network policy', () => policy.start());
    const speaker = new Speaker(etcd, opt.name!, iface!, log);
    void retry('LoadBalancer speaker', () => speaker.start());
  }

  // then follow the changes from exactly that revision, applied in small batches
  let pending = new Map<string, RemoteVtep | null>();
  let _flushing: Promise<void> | undefined;
  const flush = async () => {
    while (pending.size) {
      const batch = pending;
      pending = new Map();
      const add: RemoteVtep[] = [];
      const remove = {
        routes: [] as { dst: string }[],
        neighbours: [] as { dst: string }[],
        fdb: [] as { mac: string; dst: string }[],
      };
      for (const [key, next] of batch) {
        const prev = remotes.get(key);
        if (prev && (!next || next.mac !== prev.mac || next.publicIp !== prev.publicIp)) {
          if (!next) remove.routes.push({ dst: prev.subnet });
          if (!next || next.mac !== prev.mac) remove.neighbours.push({ dst: prev.gateway });
          remove.fdb.push({ mac: prev.mac, dst: prev.publicIp });
        }
        if (next) {
          add.push(next);
          remotes.set(key, next);
        } else remotes.delete(key);
      }
      try {
        await applyVtep(dev, add, remove);
      } catch (err) {
        log(`applying lease changes: ${(err as Error).message}`);
      }
      for (const a of add) log(`remote ${a.subnet} at ${a.publicIp} (${a.mac})`);
      for (const r of remove.routes) log(`removed ${r.dst}`);
    }
    _flushing = undefined;
  };
  const onChange = (key: string, next: RemoteVtep | null) => {
    pending.set(key, next);
    _flushing ??= new Promise<void>((r) => setTimeout(r, 5)).then(flush);
  };
  const watcher: Watcher = await retry('watch', () =>
    etcd
      .watch()
      .prefix(`${prefix}/subnets/`)
      .startRevision(String(Number(revision) + 1))
      .create(),
  );
  watcher.on('put', (kv) => {
    const key = kv.key.toString();
    const r = remoteOf(cfg, key, kv.value.toString(), lease.subnet);
    if (r) onChange(key, r);
    else if (remotes.has(key)) onChange(key, null);
  });
  watcher.on('delete', (kv) => {
    const key = kv.key.toString();
    if (remotes.has(key)) onChange(key, null);
    if (key === subnetKey(prefix, lease.subnet)) {
      // our lease is gone (expired while etcd was unreachable, or deleted): take it again
      log('own lease disappeared: re-acquiring');
      void retry('re-acquire lease', () => acquire(cfg, value)).then((l) => {
        if (l.subnet.net !== lease.subnet.net) {
          log(
            `got a different subnet ${formatCidr(l.subnet)}: exiting so that pods are not cut off silently`,
          );
          process.exit(1);
        }
        lease = l;
      });
    }
  });
  watcher.on('error', (err) => log(`watch: ${err.message}`));

  // renew the lease `renewMargin` before it expires (flannel: 1 h before a 24 h TTL)
  const renewLoop = async () => {
    for (;;) {
      await sleep(Math.max(lease.expires - renewMargin * 1000 - Date.now(), 200));
      try {
        const leaseId = await grant();
        await etcd.put(subnetKey(prefix, lease.subnet)).value(value).lease(leaseId).exec();
        const old = lease.leaseId;
        lease = { ...lease, leaseId, expires: Date.now() + leaseTtl * 1000 };
        await etcd.leaseClient.leaseRevoke({ ID: old }).catch(() => {});
      } catch (err) {
        log(`renewing lease: ${(err as Error).message} (retrying)`);
        await sleep(1000);
      }
    }
  };
  void renewLoop();
}

/** Removes what no lease asks for any more and (re)installs every current remote. */
async function resync(dev: string, remotes: Map<string, RemoteVtep>): Promise<void> {
  const now = await readVtepState(dev);
  const want = [...remotes.values()];
  const stale = {
    routes: now.routes.filter((r) => !want.some((w) => w.subnet === r.dst && w.gateway === r.gateway)),
    neighbours: now.neighbours.filter((n) => !want.some((w) => w.gateway === n.dst && w.mac === n.lladdr)),
    fdb: now.fdb.filter((f) => !want.some((w) => w.mac === f.mac && w.publicIp === f.dst)),
  };
  await applyVtep(dev, want, stale);
  const removed = stale.routes.length + stale.neighbours.length + stale.fdb.length;
  if (removed) log(`resync removed ${removed} stale entries`);
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
