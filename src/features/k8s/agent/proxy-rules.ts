// kube-proxy's nftables mode as libnftables JSON: the fixed skeleton of table `ip kube-proxy`
// and, per Service, a fragment (its chains, sets and map elements). Updates are the
// difference between a service's old and new fragment, so one change touches one service.
// Pure functions: the unit tests check the shapes without a kernel.
import type { EndpointsObject, ServiceObject, ServicePort } from '../services/objects.js';
import { ANNOTATION_PING, servicePortName } from '../services/objects.js';
import { affinitySet, endpointChain, serviceChain } from './chain-names.js';
import {
  counter,
  fibLocal as fibLocalOf,
  goto,
  jump,
  match,
  meta,
  payload,
  type Rule,
  spread,
} from './nft-expr.js';
import { renderExternal, renderNoEndpoints } from './proxy-external.js';

export { endpointChain, externalChain, hashName, serviceChain } from './chain-names.js';
export type { Rule } from './nft-expr.js';

export const TABLE = 'kube-proxy';
const FAMILY = 'ip';
export const MASQ_MARK = 0x4000;

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
  /** this worker's name (endpoints' nodeName): traffic policy Local picks its endpoints */
  node?: string;
}

const tbl = { family: FAMILY, table: TABLE };
const serviceKey = [payload('ip', 'daddr'), meta('l4proto'), payload('th', 'dport')];
const fibLocal = fibLocalOf('daddr');
const notLoopback = match(payload('ip', 'daddr'), { prefix: { addr: '127.0.0.0', len: 8 } }, '!=');
const newConn = match({ ct: { key: 'state' } }, 'new', 'in');

/** The table's fixed part: base chains hooked into netfilter, the dispatch maps, masquerading. */
export function skeleton(): Command[] {
  const cmds: Command[] = [];
  const add = (kind: string, obj: Record<string, unknown>) =>
    cmds.push({ add: { [kind]: { ...tbl, ...obj } } });
  const vmap3 = { type: ['ipv4_addr', 'inet_proto', 'inet_service'], map: 'verdict' };
  const vmap2 = { type: ['inet_proto', 'inet_service'], map: 'verdict' };
  add('set', { name: 'cluster-ips', type: 'ipv4_addr' });
  add('map', { name: 'service-ips', ...vmap3 });
  add('map', { name: 'service-nodeports', ...vmap2 });
  add('map', { name: 'no-endpoint-services', ...vmap3 });
  add('map', { name: 'no-endpoint-nodeports', ...vmap2 });
  // netsim's own: ping to a ClusterIP answered by an endpoint (an option per service)
  add('map', { name: 'service-icmp-ips', type: 'ipv4_addr', map: 'verdict' });
  const chain = (name: string, rules: Rule[], hook?: { type: string; hook: string; prio: number }) => {
    add('chain', hook ? { name, ...hook, policy: 'accept' } : { name });
    for (const expr of rules) add('rule', { chain: name, expr });
  };
  chain('reject-chain', [[{ reject: { type: 'icmp', expr: 'port-unreachable' } }]]);
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
    [
      match(payload('ip', 'protocol'), 'icmp'),
      { vmap: { key: payload('ip', 'daddr'), data: '@service-icmp-ips' } },
    ],
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
  chain('cluster-ips-check', [
    [match(payload('ip', 'daddr'), '@cluster-ips'), { reject: { type: 'icmp', expr: 'port-unreachable' } }],
  ]);
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

/** The endpoint IPs of a service (every subset's addresses). */
export function endpointIps(eps: EndpointsObject | undefined): string[] {
  const ips = new Set<string>();
  for (const s of eps?.subsets ?? []) for (const a of s.addresses) ips.add(a.ip);
  return [...ips].sort();
}

/** Everything one Service adds to the table, given its current endpoints. */
export function renderService(
  svc: ServiceObject,
  eps: EndpointsObject | undefined,
  ctx: ProxyContext,
): Fragment {
  const f: Fragment = { chains: new Map(), sets: new Map(), elements: new Map() };
  const vip = svc.spec.clusterIP;
  const ips = endpointIps(eps);
  const affinity =
    svc.spec.sessionAffinity === 'ClientIP'
      ? (svc.spec.sessionAffinityConfig?.clientIP.timeoutSeconds ?? 10800)
      : 0;
  const element = (map: string, key: unknown, value?: unknown) =>
    f.elements.set(`${map} ${JSON.stringify(key)}`, { map, key, value });
  element('cluster-ips', vip);
  for (const p of svc.spec.ports) renderPort(f, svc, p, eps, affinity, ctx, element);
  if (svc.metadata.annotations?.[ANNOTATION_PING] === 'true' && ips.length) {
    const spn = `${svc.metadata.namespace}/${svc.metadata.name}/icmp`;
    const epChains = ips.map((ip) => {
      const c = endpointChain(spn, ip);
      f.chains.set(c, [[counter, match(payload('ip', 'protocol'), 'icmp'), { dnat: { addr: ip } }]]);
      return c;
    });
    f.chains.set(serviceChain(spn), spread(epChains));
    element('service-icmp-ips', vip, goto(serviceChain(spn)));
  }
  return f;
}

function renderPort(
  f: Fragment,
  svc: ServiceObject,
  p: ServicePort,
  eps: EndpointsObject | undefined,
  affinity: number,
  ctx: ProxyContext,
  element: (map: string, key: unknown, value?: unknown) => void,
): void {
  const spn = servicePortName(svc, p);
  const proto = p.protocol.toLowerCase();
  const vip = svc.spec.clusterIP;
  const ips = endpointIps(eps);
  const base = { spn, proto, port: p.port, nodePort: p.nodePort, service: serviceChain(spn) };
  if (ips.length === 0) {
    renderNoEndpoints(svc, base, element);
    return;
  }
  const endpoints = new Map<string, { chain: string; affinity?: Rule }>();
  for (const ip of ips) {
    const ep = `${ip}/${p.targetPort}`;
    const chain = endpointChain(spn, ep);
    const rules: Rule[] = [[match(payload('ip', 'saddr'), ip), jump('mark-for-masquerade')]];
    let affinityRule: Rule | undefined;
    if (affinity) {
      const set = affinitySet(spn, ep);
      f.sets.set(set, affinity);
      rules.push([{ set: { op: 'update', elem: payload('ip', 'saddr'), set: `@${set}` } }]);
      affinityRule = [match(payload('ip', 'saddr'), `@${set}`), goto(chain)];
    }
    rules.push([counter, match(meta('l4proto'), proto), { dnat: { addr: ip, port: p.targetPort } }]);
    f.chains.set(chain, rules);
    endpoints.set(ip, { chain, affinity: affinityRule });
  }
  const masqueradeRule: Rule = [
    match(payload('ip', 'daddr'), vip),
    match(payload(proto, 'dport'), p.port),
    match(payload('ip', 'saddr'), { prefix: ctx.clusterCidr }, '!='),
    jump('mark-for-masquerade'),
  ];
  const all = [...endpoints.values()];
  f.chains.set(base.service, [
    masqueradeRule,
    ...all.flatMap((e) => (e.affinity ? [e.affinity] : [])),
    ...spread(all.map((e) => e.chain)),
  ]);
  const local = ctx.node ? localIps(eps, ctx.node) : [];
  renderExternal(f.chains, svc, { ...base, endpoints, local, masqueradeRule }, ctx.clusterCidr, element);
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
export function diffFragments(before: Fragment | undefined, after: Fragment | undefined): Command[] {
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
      out.push({ add: { set: { ...tbl, name: s, type: 'ipv4_addr', flags: ['timeout'], timeout } } });
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
export function fullSync(fragments: Iterable<Fragment>): Command[] {
  const cmds: Command[] = [
    { add: { table: { family: FAMILY, name: TABLE } } },
    { delete: { table: { family: FAMILY, name: TABLE } } },
    { add: { table: { family: FAMILY, name: TABLE } } },
    ...skeleton(),
  ];
  for (const f of fragments) cmds.push(...diffFragments(undefined, f));
  return cmds;
}
