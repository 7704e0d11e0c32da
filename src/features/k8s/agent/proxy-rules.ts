// kube-proxy's nftables mode as libnftables JSON: the fixed skeleton of table `ip kube-proxy`
// and, per Service, a fragment (its chains, sets and map elements). Updates are the
// difference between a service's old and new fragment, so one change touches one service.
// A dual-stack cluster has a second table, `ip6 kube-proxy`, of the same structure: every
// function takes the family (default 4) and renders the service's ClusterIP and endpoints of it.
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
  fibLocal as fibLocalOf,
  goto,
  jump,
  l4proto,
  markForMasquerade,
  match,
  meta,
  payload,
  type Rule,
  type StatementMemo,
  spread,
} from './nft-expr.js';
import { renderExternal, renderNoEndpoints } from './proxy-external.js';

export { endpointChain, externalChain, hashName, serviceChain } from './chain-names.js';
export type { Rule } from './nft-expr.js';

export const TABLE = 'kube-proxy';
export const MASQ_MARK = 0x4000;

/** What differs between the two tables: nft's family, the address type and the payload protocol. */
export interface FamilyShape {
  family: Family;
  /** the table's family and the payload protocol of addresses: ip or ip6 */
  nft: 'ip' | 'ip6';
  addrType: 'ipv4_addr' | 'ipv6_addr';
  /** the ICMP type of a reject */
  icmp: 'icmp' | 'icmpv6';
  loopback: { prefix: { addr: string; len: number } };
}
export const SHAPES: Record<Family, FamilyShape> = {
  4: {
    family: 4,
    nft: 'ip',
    addrType: 'ipv4_addr',
    icmp: 'icmp',
    loopback: { prefix: { addr: '127.0.0.0', len: 8 } },
  },
  6: {
    family: 6,
    nft: 'ip6',
    addrType: 'ipv6_addr',
    icmp: 'icmpv6',
    loopback: { prefix: { addr: '::1', len: 128 } },
  },
};

export type Command = Record<string, Record<string, unknown>>;

export interface MapElement {
  map: string;
  key: unknown;
  /** a verdict for maps, none for plain sets */
  value?: unknown;
}

export interface Fragment {
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
}

const tableOf = (family: Family) => ({ family: SHAPES[family].nft, table: TABLE });
const fibLocal = fibLocalOf('daddr');
const newConn = match({ ct: { key: 'state' } }, 'new', 'in');
/** ping to a ClusterIP: `ip protocol icmp` / `meta l4proto ipv6-icmp` */
const isPing = (s: FamilyShape) =>
  s.family === 4 ? match(payload('ip', 'protocol'), 'icmp') : match(meta('l4proto'), 'ipv6-icmp');

/** The table's fixed part: base chains hooked into netfilter, the dispatch maps, masquerading. */
export function skeleton(family: Family = 4): Command[] {
  const s = SHAPES[family];
  const tbl = tableOf(family);
  const serviceKey = [payload(s.nft, 'daddr'), meta('l4proto'), payload('th', 'dport')];
  const notLoopback = match(payload(s.nft, 'daddr'), s.loopback, '!=');
  const reject = { reject: { type: s.icmp, expr: 'port-unreachable' } };
  const cmds: Command[] = [];
  const add = (kind: string, obj: Record<string, unknown>) =>
    cmds.push({ add: { [kind]: { ...tbl, ...obj } } });
  const vmap3 = { type: [s.addrType, 'inet_proto', 'inet_service'], map: 'verdict' };
  const vmap2 = { type: ['inet_proto', 'inet_service'], map: 'verdict' };
  add('set', { name: 'cluster-ips', type: s.addrType });
  add('map', { name: 'service-ips', ...vmap3 });
  add('map', { name: 'service-nodeports', ...vmap2 });
  add('map', { name: 'no-endpoint-services', ...vmap3 });
  add('map', { name: 'no-endpoint-nodeports', ...vmap2 });
  // netsim's own: ping to a ClusterIP answered by an endpoint (an option per service)
  add('map', { name: 'service-icmp-ips', type: s.addrType, map: 'verdict' });
  const chain = (name: string, rules: Rule[], hook?: { type: string; hook: string; prio: number }) => {
    add('chain', hook ? { name, ...hook, policy: 'accept' } : { name });
    for (const expr of rules) add('rule', { chain: name, expr });
  };
  chain('reject-chain', [[reject]]);
  chain('mark-for-masquerade', [
    [{ mangle: { key: meta('mark'), value: { '|': [meta('mark'), MASQ_MARK] } } }],
  ]);
  chain('masquerading', [
    [match({ '&': [meta('mark'), MASQ_MARK] }, 0), { return: null }],
    [{ mangle: { key: meta('mark'), value: { '^': [meta('mark'), MASQ_MARK] } } }],
    [{ masquerade: { flags: 'fully-random' } }],
  ]);
  chain('services', [
    [{ vmap: { key: { concat: serviceKey }, data: '@service-ips' } }],
    [isPing(s), { vmap: { key: payload(s.nft, 'daddr'), data: '@service-icmp-ips' } }],
    [
      fibLocal,
      notLoopback,
      { vmap: { key: { concat: [meta('l4proto'), payload('th', 'dport')] }, data: '@service-nodeports' } },
    ],
  ]);
  chain('service-endpoints-check', [
    [{ vmap: { key: { concat: serviceKey }, data: '@no-endpoint-services' } }],
    [
      fibLocal,
      notLoopback,
      {
        vmap: { key: { concat: [meta('l4proto'), payload('th', 'dport')] }, data: '@no-endpoint-nodeports' },
      },
    ],
  ]);
  // a ClusterIP only answers on its ports: anything else to it is refused
  chain('cluster-ips-check', [[match(payload(s.nft, 'daddr'), '@cluster-ips'), reject]]);
  const filter = (hook: string) => ({ type: 'filter', hook, prio: -110 });
  chain('filter-input', [[newConn, jump('service-endpoints-check')]], filter('input'));
  chain(
    'filter-forward',
    [
      [newConn, jump('service-endpoints-check')],
      [newConn, jump('cluster-ips-check')],
    ],
    filter('forward'),
  );
  chain('filter-output', [[newConn, jump('service-endpoints-check')]], filter('output'));
  // a local process's packet is DNATed in nat-output: only after that (dstnat+10) can a
  // ClusterIP that is still the destination be told apart from a service port being used
  chain('filter-output-post-dnat', [[newConn, jump('cluster-ips-check')]], {
    type: 'filter',
    hook: 'output',
    prio: -90,
  });
  chain('nat-prerouting', [[jump('services')]], { type: 'nat', hook: 'prerouting', prio: -100 });
  chain('nat-output', [[jump('services')]], { type: 'nat', hook: 'output', prio: -100 });
  chain('nat-postrouting', [[jump('masquerading')]], { type: 'nat', hook: 'postrouting', prio: 100 });
  return cmds;
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
  const element = (map: string, key: unknown, value?: unknown) =>
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
  const tbl = tableOf(family);
  const a = before ?? EMPTY;
  const b = after ?? EMPTY;
  const out: Command[] = [];
  const elem = (op: 'add' | 'delete', e: MapElement, withValue: boolean) =>
    out.push({
      [op]: {
        element: {
          ...tbl,
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
      out.push({ flush: { chain: { ...tbl, name: c } } });
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
  for (const c of a.chains.keys()) if (!b.chains.has(c)) out.push({ delete: { chain: { ...tbl, name: c } } });
  for (const s of a.sets.keys()) if (!b.sets.has(s)) out.push({ delete: { set: { ...tbl, name: s } } });
  // 5. elements that are new or changed
  for (const [k, e] of b.elements) {
    const o = a.elements.get(k);
    if (!o || JSON.stringify(o.value) !== JSON.stringify(e.value)) elem('add', e, true);
  }
  return out;
}

/** Replaces whatever table is there by the skeleton plus every fragment, in one transaction. */
export function fullSync(fragments: Iterable<Fragment>, family: Family = 4): Command[] {
  const table = { family: SHAPES[family].nft, name: TABLE };
  const cmds: Command[] = [
    { add: { table } },
    { delete: { table } },
    { add: { table } },
    ...skeleton(family),
  ];
  for (const f of fragments) cmds.push(...diffFragments(undefined, f, family));
  return cmds;
}
