// The fixed part of kube-proxy's tables (base chains hooked into netfilter, the dispatch maps,
// masquerading) and the full sync that replaces them. One table (`kube-proxy`) holds all of it
// up to proxy-tables.ts's threshold; above it the main table keeps the filter side and
// masquerading, and each shard table its own nat base chains, `services` chain and service
// maps (a verdict can only jump to a chain of its own table).
import type { Family } from '../services/objects.js';
import { fibLocal as fibLocalOf, jump, match, meta, payload, type Rule } from './nft-expr.js';
import { MAX_SHARDS, SHARD_PREFIX, shardTable, TABLE, tablesOf } from './proxy-tables.js';

export const MASQ_MARK = 0x4000;

export type Command = Record<string, Record<string, unknown>>;

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

const fibLocal = fibLocalOf('daddr');
const newConn = match({ ct: { key: 'state' } }, 'new', 'in');
/** ping to a ClusterIP: `ip protocol icmp` / `meta l4proto ipv6-icmp` */
export const isPing = (s: FamilyShape) =>
  s.family === 4 ? match(payload('ip', 'protocol'), 'icmp') : match(meta('l4proto'), 'ipv6-icmp');

/**
 * Which part of the skeleton a table gets: all of it (one table), the main table's part (filter
 * chains, cluster-ips, no-endpoint maps, masquerading) or a shard's (nat dispatch).
 */
export type Part = 'one' | 'main' | 'shard';

/**
 * The table's fixed part: base chains hooked into netfilter, the dispatch maps, masquerading.
 * `part` and `table`: a sharded layout's main table or one of its shards (proxy-tables.ts).
 */
export function skeleton(family: Family = 4, part: Part = 'one', table = TABLE): Command[] {
  const s = SHAPES[family];
  const tbl = { family: s.nft, table };
  const serviceKey = [payload(s.nft, 'daddr'), meta('l4proto'), payload('th', 'dport')];
  const notLoopback = match(payload(s.nft, 'daddr'), s.loopback, '!=');
  const reject = { reject: { type: s.icmp, expr: 'port-unreachable' } };
  const cmds: Command[] = [];
  // `of`: the part of a sharded layout an object belongs to (a one-table layout has them all)
  const add = (of: 'main' | 'shard', kind: string, obj: Record<string, unknown>) => {
    if (part === 'one' || part === of) cmds.push({ add: { [kind]: { ...tbl, ...obj } } });
  };
  const vmap3 = { type: [s.addrType, 'inet_proto', 'inet_service'], map: 'verdict' };
  const vmap2 = { type: ['inet_proto', 'inet_service'], map: 'verdict' };
  add('main', 'set', { name: 'cluster-ips', type: s.addrType });
  add('shard', 'map', { name: 'service-ips', ...vmap3 });
  add('shard', 'map', { name: 'service-nodeports', ...vmap2 });
  add('main', 'map', { name: 'no-endpoint-services', ...vmap3 });
  add('main', 'map', { name: 'no-endpoint-nodeports', ...vmap2 });
  // netsim's own: ping to a ClusterIP answered by an endpoint (an option per service)
  add('shard', 'map', { name: 'service-icmp-ips', type: s.addrType, map: 'verdict' });
  const chain = (
    of: 'main' | 'shard',
    name: string,
    rules: Rule[],
    hook?: { type: string; hook: string; prio: number },
  ) => {
    add(of, 'chain', hook ? { name, ...hook, policy: 'accept' } : { name });
    for (const expr of rules) add(of, 'rule', { chain: name, expr });
  };
  chain('main', 'reject-chain', [[reject]]);
  chain('shard', 'mark-for-masquerade', [
    [{ mangle: { key: meta('mark'), value: { '|': [meta('mark'), MASQ_MARK] } } }],
  ]);
  chain('main', 'masquerading', [
    [match({ '&': [meta('mark'), MASQ_MARK] }, 0), { return: null }],
    [{ mangle: { key: meta('mark'), value: { '^': [meta('mark'), MASQ_MARK] } } }],
    [{ masquerade: { flags: 'fully-random' } }],
  ]);
  chain('shard', 'services', [
    [{ vmap: { key: { concat: serviceKey }, data: '@service-ips' } }],
    [isPing(s), { vmap: { key: payload(s.nft, 'daddr'), data: '@service-icmp-ips' } }],
    [
      fibLocal,
      notLoopback,
      { vmap: { key: { concat: [meta('l4proto'), payload('th', 'dport')] }, data: '@service-nodeports' } },
    ],
  ]);
  chain('main', 'service-endpoints-check', [
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
  chain('main', 'cluster-ips-check', [[match(payload(s.nft, 'daddr'), '@cluster-ips'), reject]]);
  const filter = (hook: string) => ({ type: 'filter', hook, prio: -110 });
  chain('main', 'filter-input', [[newConn, jump('service-endpoints-check')]], filter('input'));
  chain(
    'main',
    'filter-forward',
    [
      [newConn, jump('service-endpoints-check')],
      [newConn, jump('cluster-ips-check')],
    ],
    filter('forward'),
  );
  chain('main', 'filter-output', [[newConn, jump('service-endpoints-check')]], filter('output'));
  // a local process's packet is DNATed in nat-output: only after that (dstnat+10) can a
  // ClusterIP that is still the destination be told apart from a service port being used
  chain('main', 'filter-output-post-dnat', [[newConn, jump('cluster-ips-check')]], {
    type: 'filter',
    hook: 'output',
    prio: -90,
  });
  // sharded: every shard has these two at the same hook and priority. The kernel's nat hook
  // consults them one after another until one sets up a NAT binding; a shard without the
  // packet's service accepts it untouched and the next one is asked
  chain('shard', 'nat-prerouting', [[jump('services')]], { type: 'nat', hook: 'prerouting', prio: -100 });
  chain('shard', 'nat-output', [[jump('services')]], { type: 'nat', hook: 'output', prio: -100 });
  chain('main', 'nat-postrouting', [[jump('masquerading')]], {
    type: 'nat',
    hook: 'postrouting',
    prio: 100,
  });
  return cmds;
}

/**
 * The head of a full sync in a layout of `shards` tables (0: one): every table of the layout
 * replaced by its skeleton, and every other shard table that an earlier layout (this agent's or
 * a previous run's) may have left removed, in the same transaction.
 */
export function fullSyncHead(family: Family, shards = 0): Command[] {
  const nft = SHAPES[family].nft;
  const cmds: Command[] = [];
  const replace = (name: string) => {
    const table = { family: nft, name };
    cmds.push({ add: { table } }, { delete: { table } }, { add: { table } });
  };
  if (!shards) {
    replace(TABLE);
    cmds.push(...skeleton(family));
  } else
    for (const name of tablesOf(shards)) {
      replace(name);
      cmds.push(...skeleton(family, name.startsWith(SHARD_PREFIX) ? 'shard' : 'main', name));
    }
  // `add` first: deleting a table that is not there fails the whole transaction
  for (let i = shards; i < MAX_SHARDS; i++) {
    const table = { family: nft, name: shardTable(i) };
    cmds.push({ add: { table } }, { delete: { table } });
  }
  return cmds;
}
