// kube-proxy's nftables mode as libnftables JSON: per Service, a fragment (its chains, sets and
// map elements) on top of the fixed skeleton of table `ip kube-proxy` (proxy-skeleton.ts).
// Updates are the difference between a service's old and new fragment, so one change touches
// one service. A dual-stack cluster has a second table, `ip6 kube-proxy`, of the same structure:
// every function takes the family (default 4) and renders the service's ClusterIP and endpoints
// of it. Above a number of services the fragments go to shard tables (proxy-tables.ts): a
// fragment then names its table, and each element the table of its map.
// Pure functions: the unit tests check the shapes without a kernel.
import type { EndpointsObject, Family, ServiceObject, ServicePort } from '../services/objects.js';
import {
  ANNOTATION_PING,
  clusterIpOf,
  familyOf,
  loadBalancerIps,
  servicePortName,
} from '../services/objects.js';
import { affinitySet, endpointChain, endpointName, serviceChain } from './chain-names.js';
import {
  counter,
  type Expr,
  goto,
  l4proto,
  markForMasquerade,
  match,
  payload,
  type Rule,
  type StatementMemo,
  spread,
} from './nft-expr.js';
import { renderExternal, renderNoEndpoints } from './proxy-external.js';
import { type Command, type FamilyShape, fullSyncHead, isPing, SHAPES } from './proxy-skeleton.js';
import { elementTable, type ShardPolicy, serviceTable, TABLE } from './proxy-tables.js';

export { endpointChain, externalChain, hashName, serviceChain } from './chain-names.js';
export type { Rule } from './nft-expr.js';
export {
  type Command,
  type FamilyShape,
  fullSyncHead,
  MASQ_MARK,
  SHAPES,
  skeleton,
} from './proxy-skeleton.js';
export { TABLE } from './proxy-tables.js';

export interface MapElement {
  map: string;
  key: unknown;
  /** a verdict for maps, none for plain sets */
  value?: unknown;
  /** sharded: the table of the map (the main table's or the service's shard) */
  table?: string;
}

export interface Fragment {
  /** sharded: the shard table holding the service's chains, sets and dispatch elements */
  table?: string;
  chains: Map<string, Rule[]>;
  /** dynamic sets of ClientIP affinity, by name */
  sets: Map<string, number>;
  elements: Map<string, MapElement>;
}

export interface ProxyContext {
  /** the pod network: traffic from elsewhere to a ClusterIP is masqueraded */
  clusterCidr: { addr: string; len: number };
  /** the IPv6 pod network of a dual-stack cluster (then table `ip6 kube-proxy` is kept too) */
  clusterCidr6?: { addr: string; len: number };
  /** this worker's name (endpoints' nodeName): traffic policy Local picks its endpoints */
  node?: string;
  /** the layout rendered into: K shard tables (proxy-tables.ts), 0 or none for one table */
  shards?: number;
  /** when the agent shards (default: proxy-tables.ts SHARD_ABOVE and PER_SHARD) */
  sharding?: ShardPolicy;
}

/** The endpoint IPs of a service (every subset's addresses), of one family when given. */
export function endpointIps(eps: EndpointsObject | undefined, family?: Family): string[] {
  const ips = new Set<string>();
  for (const s of eps?.subsets ?? [])
    for (const a of s.addresses) if (!family || familyOf(a.ip) === family) ips.add(a.ip);
  return [...ips].sort();
}

const emptyFragment = (): Fragment => ({ chains: new Map(), sets: new Map(), elements: new Map() });

/** The pod network of a family (none: the cluster does not have that family). */
export const clusterCidrOf = (ctx: ProxyContext, family: Family) =>
  family === 4 ? ctx.clusterCidr : ctx.clusterCidr6;

/**
 * Everything one Service adds to the table of `family`, given its current endpoints: nothing
 * when the service has no ClusterIP of that family.
 */
export function renderService(
  svc: ServiceObject,
  eps: EndpointsObject | undefined,
  ctx: ProxyContext,
  family: Family = 4,
  /** statements shared across the services rendered with it, for one context (the same rules either way) */
  memo?: StatementMemo,
): Fragment {
  const f = emptyFragment();
  const vip = clusterIpOf(svc, family);
  const clusterCidr = clusterCidrOf(ctx, family);
  if (!vip || !clusterCidr) return f;
  const s = SHAPES[family];
  const ips = endpointIps(eps, family);
  const affinity =
    svc.spec.sessionAffinity === 'ClientIP'
      ? (svc.spec.sessionAffinityConfig?.clientIP.timeoutSeconds ?? 10800)
      : 0;
  // sharded: the service's chains and dispatch in its shard, the rest in the main table
  const table = ctx.shards ? serviceTable(`${svc.metadata.namespace}/${svc.metadata.name}`, ctx.shards) : '';
  if (table) f.table = table;
  const element = table
    ? (map: string, key: unknown, value?: unknown) =>
        f.elements.set(`${map} ${JSON.stringify(key)}`, { map, key, value, table: elementTable(map, table) })
    : (map: string, key: unknown, value?: unknown) =>
        f.elements.set(`${map} ${JSON.stringify(key)}`, { map, key, value });
  element('cluster-ips', vip);
  const at: PortContext = { s, vip, ips, clusterCidr, affinity, node: ctx.node, memo };
  for (const p of svc.spec.ports) renderPort(f, svc, p, eps, at, element);
  if (svc.metadata.annotations?.[ANNOTATION_PING] === 'true' && ips.length) {
    const spn = `${svc.metadata.namespace}/${svc.metadata.name}/icmp`;
    const epChains = ips.map((ip) => {
      const c = endpointChain(spn, endpointName(ip));
      f.chains.set(c, [[counter, isPing(s), { dnat: { addr: ip } }]]);
      return c;
    });
    f.chains.set(serviceChain(spn), spread(epChains));
    element('service-icmp-ips', vip, goto(serviceChain(spn)));
  }
  return f;
}

/** A service's addresses and settings in one family's table. */
interface PortContext {
  s: FamilyShape;
  vip: string;
  /** endpoint IPs of the family */
  ips: string[];
  clusterCidr: { addr: string; len: number };
  affinity: number;
  node?: string;
  memo?: StatementMemo;
}

/** A statement from the memo under `key`, else `make()` (kept in the memo when there is one). */
function kept(memo: StatementMemo | undefined, key: string, make: () => Expr): Expr {
  const s = memo?.get(key);
  if (s) return s;
  return memo ? memo.keep(key, make()) : make();
}

function renderPort(
  f: Fragment,
  svc: ServiceObject,
  p: ServicePort,
  eps: EndpointsObject | undefined,
  at: PortContext,
  element: (map: string, key: unknown, value?: unknown) => void,
): void {
  const spn = servicePortName(svc, p);
  const proto = p.protocol.toLowerCase();
  const { vip, ips, affinity } = at;
  const ip = at.s.nft;
  const lbIps = loadBalancerIps(svc).filter((a) => familyOf(a) === at.s.family);
  const base = { spn, proto, port: p.port, nodePort: p.nodePort, service: serviceChain(spn), vip, lbIps };
  if (ips.length === 0) {
    renderNoEndpoints(base, element);
    return;
  }
  const endpoints = new Map<string, { chain: string; affinity?: Rule }>();
  // memo keys hold numbers as text: only numbers are memoized under them
  const numeric = typeof p.targetPort === 'number' && typeof p.port === 'number';
  for (const epIp of ips) {
    const ep = `${endpointName(epIp)}/${p.targetPort}`;
    const chain = endpointChain(spn, ep);
    const rules: Rule[] = [
      [kept(at.memo, `saddr ${ip} ${epIp}`, () => match(payload(ip, 'saddr'), epIp)), markForMasquerade],
    ];
    let affinityRule: Rule | undefined;
    if (affinity) {
      const set = affinitySet(spn, ep);
      f.sets.set(set, affinity);
      rules.push([{ set: { op: 'update', elem: payload(ip, 'saddr'), set: `@${set}` } }]);
      affinityRule = [match(payload(ip, 'saddr'), `@${set}`), goto(chain)];
    }
    const dnat = () => ({ dnat: { addr: epIp, port: p.targetPort } });
    rules.push([
      counter,
      l4proto(proto),
      numeric ? kept(at.memo, `dnat ${epIp} ${p.targetPort}`, dnat) : dnat(),
    ]);
    f.chains.set(chain, rules);
    endpoints.set(epIp, { chain, affinity: affinityRule });
  }
  const dport = () => match(payload(proto, 'dport'), p.port);
  const masqueradeRule: Rule = [
    match(payload(ip, 'daddr'), vip),
    numeric ? kept(at.memo, `dport ${proto} ${p.port}`, dport) : dport(),
    kept(at.memo, `from outside ${ip}`, () => match(payload(ip, 'saddr'), { prefix: at.clusterCidr }, '!=')),
    markForMasquerade,
  ];
  const all = [...endpoints.values()];
  f.chains.set(base.service, [
    masqueradeRule,
    ...all.flatMap((e) => (e.affinity ? [e.affinity] : [])),
    ...spread(all.map((e) => e.chain)),
  ]);
  const local = at.node ? localIps(eps, at.node).filter((a) => familyOf(a) === at.s.family) : [];
  renderExternal(f.chains, svc, { ...base, ip, endpoints, local, masqueradeRule }, at.clusterCidr, element);
}

/** The endpoint IPs on one node. */
function localIps(eps: EndpointsObject | undefined, node: string): string[] {
  const ips = new Set<string>();
  for (const s of eps?.subsets ?? []) for (const a of s.addresses) if (a.nodeName === node) ips.add(a.ip);
  return [...ips].sort();
}

const EMPTY: Fragment = { chains: new Map(), sets: new Map(), elements: new Map() };

/**
 * The commands that turn `before` into `after` (either may be missing): chains whose rules
 * are unchanged are left alone, so their counters keep counting.
 */
export function diffFragments(
  before: Fragment | undefined,
  after: Fragment | undefined,
  family: Family = 4,
): Command[] {
  const nft = SHAPES[family].nft;
  const a = before ?? EMPTY;
  const b = after ?? EMPTY;
  // where the old and the new fragment's chains and sets are (the same table within a layout)
  const ta = { family: nft, table: a.table ?? TABLE };
  const tbl = { family: nft, table: b.table ?? TABLE };
  const out: Command[] = [];
  const elem = (op: 'add' | 'delete', e: MapElement, withValue: boolean) =>
    out.push({
      [op]: {
        element: {
          family: nft,
          table: e.table ?? TABLE,
          name: e.map,
          elem: [withValue && e.value !== undefined ? [e.key, e.value] : e.key],
        },
      },
    });
  const rulesOf = (m: Map<string, Rule[]>, c: string) => JSON.stringify(m.get(c));
  // 1. map elements that go or change
  for (const [k, e] of a.elements) {
    const n = b.elements.get(k);
    if (!n || JSON.stringify(n.value) !== JSON.stringify(e.value)) elem('delete', e, false);
  }
  // 2. chains that change or go lose their rules first (nothing refers to the old ones then)
  for (const c of a.chains.keys())
    if (!b.chains.has(c) || rulesOf(a.chains, c) !== rulesOf(b.chains, c))
      out.push({ flush: { chain: { ...ta, name: c } } });
  // 3. new sets and chains, then the rules of new and changed chains
  // nft 1.0.6's JSON parser knows no "dynamic" flag (the whole transaction fails on it); nft
  // makes the set dynamic itself because a rule updates it from the packet path
  for (const [s, timeout] of b.sets)
    if (!a.sets.has(s))
      out.push({
        add: { set: { ...tbl, name: s, type: SHAPES[family].addrType, flags: ['timeout'], timeout } },
      });
  for (const c of b.chains.keys()) if (!a.chains.has(c)) out.push({ add: { chain: { ...tbl, name: c } } });
  for (const [c, rules] of b.chains)
    if (!a.chains.has(c) || rulesOf(a.chains, c) !== rulesOf(b.chains, c))
      for (const expr of rules) out.push({ add: { rule: { ...tbl, chain: c, expr } } });
  // 4. what is gone
  for (const c of a.chains.keys()) if (!b.chains.has(c)) out.push({ delete: { chain: { ...ta, name: c } } });
  for (const s of a.sets.keys()) if (!b.sets.has(s)) out.push({ delete: { set: { ...ta, name: s } } });
  // 5. elements that are new or changed
  for (const [k, e] of b.elements) {
    const o = a.elements.get(k);
    if (!o || JSON.stringify(o.value) !== JSON.stringify(e.value)) elem('add', e, true);
  }
  return out;
}

/**
 * Replaces whatever tables are there by the skeleton plus every fragment, in one transaction;
 * `shards`: the layout the fragments were rendered for (0: one table).
 */
export function fullSync(fragments: Iterable<Fragment>, family: Family = 4, shards = 0): Command[] {
  const cmds = fullSyncHead(family, shards);
  for (const f of fragments) cmds.push(...diffFragments(undefined, f, family));
  return cmds;
}
