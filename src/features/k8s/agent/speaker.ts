// MetalLB's layer-2 speaker in the pod network agent: it makes one worker answer ARP for each
// LoadBalancer address.
// - Membership: each agent holds `/netsim/loadbalancer/speakers/<worker>` under a 3 s etcd lease
//   (kept alive by the etcd client); a killed agent's key expires with its lease. MetalLB learns
//   the live speakers through memberlist; etcd leases play that part here.
// - Election, as MetalLB's layer-2 mode does it: the candidates for an address are the live
//   speakers (with externalTrafficPolicy: Local, only those on workers with an endpoint of the
//   service); they are ordered by the SHA-256 of `<worker>#<address>` and the first announces.
//   Every agent computes the same answer from the same keys, so nobody has to vote.
// - Announcing: the address goes on the underlay interface as a /32 (label `<dev>:lb`), a
//   gratuitous ARP (arping -U) tells the segment's hosts, and ARP requests for it are answered
//   (and packets to it taken) only while its element in the sets `announced` of tables
//   `arp netsim-lb` and `ip netsim-lb` lives: the agent refreshes that 3 s timeout every second,
//   so a killed agent's worker stops answering by itself, as a dead MetalLB speaker stops.
//   kube-proxy's `service-ips` map then takes the traffic to the service's endpoints.
import { createHash } from 'node:crypto';
import { sleep } from '../../../util/wait.js';
import {
  ENDPOINTS_PREFIX,
  type EndpointsObject,
  LB_SPEAKERS_PREFIX,
  loadBalancerIps,
  SERVICES_PREFIX,
  type ServiceObject,
  SPECS_PREFIX,
} from '../services/objects.js';
import type { EtcdHttp } from './etcd-http.js';
import type { EtcdLease } from './etcd-lease.js';
import { listPrefix, watchAfter } from './etcd-prefix.js';
import { gratuitousArp, lbAddresses, nftJson, setLbAddress } from './kernel.js';

const NAME = 'netsim-lb';
const FAMILIES = ['arp', 'ip'] as const;
const LEASE_TTL_S = 3;
const ANNOUNCE_TIMEOUT_S = 3;

/** MetalLB's order of candidates for an address: by SHA-256 of `<node>#<ip>`. */
export function electAnnouncer(candidates: string[], ip: string): string | undefined {
  const key = (n: string) => createHash('sha256').update(`${n}#${ip}`).digest('hex');
  return [...candidates].sort((a, b) => key(a).localeCompare(key(b)) || a.localeCompare(b))[0];
}

const cmp = (protocol: string, field: string, right: unknown, op = '==') => ({
  match: { op, left: { payload: { protocol, field } }, right },
});

/**
 * Tables `arp netsim-lb` and `ip netsim-lb`, each with the sets `held` (addresses on our
 * interface) and `announced` (3 s timeouts). ARP requests for a held address are answered only
 * while it is announced; packets to it are dropped otherwise (before kube-proxy's DNAT), so a
 * worker whose agent died stops serving the address as MetalLB's would stop attracting it.
 */
function skeleton(): unknown[] {
  const cmds: unknown[] = [];
  for (const family of FAMILIES) {
    const t = { family, table: NAME };
    cmds.push(
      { add: { table: { family, name: NAME } } },
      { delete: { table: { family, name: NAME } } },
      { add: { table: { family, name: NAME } } },
      { add: { set: { ...t, name: 'held', type: 'ipv4_addr' } } },
      { add: { set: { ...t, name: 'announced', type: 'ipv4_addr', flags: ['timeout'] } } },
    );
  }
  const arp = { family: 'arp', table: NAME };
  const request = cmp('arp', 'operation', 'request');
  cmds.push(
    { add: { chain: { ...arp, name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } } },
    {
      add: {
        rule: {
          ...arp,
          chain: 'input',
          expr: [request, cmp('arp', 'daddr ip', '@announced'), { accept: null }],
        },
      },
    },
    {
      add: {
        rule: { ...arp, chain: 'input', expr: [request, cmp('arp', 'daddr ip', '@held'), { drop: null }] },
      },
    },
  );
  const ip = { family: 'ip', table: NAME };
  cmds.push(
    {
      add: {
        chain: {
          ...ip,
          name: 'prerouting',
          type: 'filter',
          hook: 'prerouting',
          prio: -300,
          policy: 'accept',
        },
      },
    },
    {
      add: {
        rule: {
          ...ip,
          chain: 'prerouting',
          expr: [cmp('ip', 'daddr', '@held'), cmp('ip', 'daddr', '@announced', '!='), { drop: null }],
        },
      },
    },
  );
  return cmds;
}

/** The same element command on both tables. */
const onBoth = (op: 'add' | 'delete', name: string, elem: unknown[]) =>
  FAMILIES.map((family) => ({ [op]: { element: { family, table: NAME, name, elem } } }));

export class Speaker {
  private readonly services = new Map<string, ServiceObject>();
  private readonly endpoints = new Map<string, EndpointsObject>();
  private readonly speakers = new Set<string>();
  /** addresses announced here */
  private readonly held = new Set<string>();
  private lease?: EtcdLease;
  private busy = Promise.resolve();

  constructor(
    private readonly etcd: EtcdHttp,
    private readonly node: string,
    private readonly dev: string,
    private readonly log: (m: string) => void,
  ) {}

  async start(): Promise<void> {
    // a restarted agent starts clean: what an earlier run held is released first
    for (const ip of await lbAddresses(this.dev)) await setLbAddress(this.dev, ip, false);
    await nftJson(skeleton());
    await this.join();
    const speakers = await listPrefix(this.etcd, LB_SPEAKERS_PREFIX);
    for (const kv of speakers.kvs) this.speakers.add(kv.key.toString().slice(LB_SPEAKERS_PREFIX.length));
    await watchAfter(this.etcd, LB_SPEAKERS_PREFIX, speakers.revision, {
      put: (kv) => this.changed(() => this.speakers.add(kv.key.toString().slice(LB_SPEAKERS_PREFIX.length))),
      delete: (kv) =>
        this.changed(() => this.speakers.delete(kv.key.toString().slice(LB_SPEAKERS_PREFIX.length))),
      error: (e) => this.log(`speaker watch: ${e.message}`),
    });
    const svcs = await listPrefix(this.etcd, SERVICES_PREFIX);
    for (const kv of svcs.kvs) this.take(kv.key.toString(), kv.value.toString());
    await watchAfter(this.etcd, SERVICES_PREFIX, svcs.revision, {
      put: (kv) => this.changed(() => this.take(kv.key.toString(), kv.value.toString())),
      delete: (kv) => this.changed(() => this.take(kv.key.toString(), undefined)),
      error: (e) => this.log(`speaker watch: ${e.message}`),
    });
    this.changed(() => {});
    void this.refreshLoop();
  }

  /** Our membership key under a short lease; a lost lease (etcd unreachable) is taken again. */
  private async join(): Promise<void> {
    const lease = this.etcd.lease(LEASE_TTL_S);
    lease.on('lost', () => {
      this.log('speaker: membership lease lost, joining again');
      void this.join().catch((e: Error) => this.log(`speaker join: ${e.message}`));
    });
    await lease.put(`${LB_SPEAKERS_PREFIX}${this.node}`, this.node);
    this.lease = lease;
  }

  private take(key: string, value: string | undefined): void {
    try {
      if (key.startsWith(SPECS_PREFIX)) {
        const id = key.slice(SPECS_PREFIX.length);
        if (value === undefined) this.services.delete(id);
        else this.services.set(id, JSON.parse(value) as ServiceObject);
      } else if (key.startsWith(ENDPOINTS_PREFIX)) {
        const id = key.slice(ENDPOINTS_PREFIX.length);
        if (value === undefined) this.endpoints.delete(id);
        else this.endpoints.set(id, JSON.parse(value) as EndpointsObject);
      }
    } catch {
      this.log(`speaker: ignoring ${key}: not JSON`);
    }
  }

  /** The addresses this worker should announce now. */
  private wanted(): Set<string> {
    const out = new Set<string>();
    for (const [id, svc] of this.services) {
      let candidates = [...this.speakers];
      if (svc.spec.externalTrafficPolicy === 'Local') {
        const nodes = new Set(
          (this.endpoints.get(id)?.subsets ?? []).flatMap((s) => s.addresses.map((a) => a.nodeName)),
        );
        candidates = candidates.filter((n) => nodes.has(n));
      }
      for (const ip of loadBalancerIps(svc)) if (electAnnouncer(candidates, ip) === this.node) out.add(ip);
    }
    return out;
  }

  /** Applies a change of the inputs, one reconciliation at a time. */
  private changed(update: () => void): void {
    update();
    this.busy = this.busy.then(() => this.reconcile()).catch((e: Error) => this.log(`speaker: ${e.message}`));
  }

  private async reconcile(): Promise<void> {
    const want = this.wanted();
    for (const ip of [...this.held].filter((x) => !want.has(x))) {
      await nftJson([...onBoth('delete', 'held', [ip]), ...onBoth('delete', 'announced', [ip])]).catch(
        () => {},
      );
      await setLbAddress(this.dev, ip, false).catch(() => {});
      this.held.delete(ip);
      this.log(`speaker: released ${ip}`);
    }
    for (const ip of [...want].filter((x) => !this.held.has(x))) {
      await setLbAddress(this.dev, ip, true);
      await this.refresh([ip]);
      await nftJson(onBoth('add', 'held', [ip]));
      this.held.add(ip);
      this.log(`speaker: announcing ${ip} from ${this.node} (gratuitous ARP on ${this.dev})`);
      void gratuitousArp(this.dev, ip).catch((e: Error) => this.log(`speaker: arping ${ip}: ${e.message}`));
    }
  }

  /** Gives the announced addresses a fresh timeout (delete then add: add alone keeps the old one). */
  private async refresh(ips: string[]): Promise<void> {
    if (ips.length === 0) return;
    const elem = (ip: string) => ({ elem: { val: ip, timeout: ANNOUNCE_TIMEOUT_S } });
    await nftJson([
      ...onBoth('add', 'announced', ips.map(elem)),
      ...onBoth('delete', 'announced', ips),
      ...onBoth('add', 'announced', ips.map(elem)),
    ]);
  }

  private async refreshLoop(): Promise<void> {
    for (;;) {
      await sleep(1000);
      await this.refresh([...this.held]).catch((e: Error) => this.log(`speaker refresh: ${e.message}`));
      if (!this.lease) this.log('speaker: not a member (no lease)');
    }
  }
}
