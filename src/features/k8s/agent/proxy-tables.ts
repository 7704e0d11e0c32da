// Which nftables tables kube-proxy's rules live in, and which one holds a given service. Up to
// SHARD_ABOVE services everything is in one table, `kube-proxy`, in kube-proxy's own shape.
// Above it the services' dispatch is spread over K shard tables (`kube-proxy-shard-<i>`), each
// with its own nat base chains and service maps and the chains of the services hashed to it;
// the main table keeps the rest (filter chains, cluster-ips, the no-endpoint maps, masquerading).
// Why: when a transaction adds a rule or a map element with a jump or goto, the kernel (since
// ~6.8 per table) validates the touched table by walking every chain reachable from each of its
// base chains; with 10,000 services in one table that walk is ~57 ms of every one-service
// update. A shard holds 1/K of the services, so an update touching it walks 1/K of the graph.
// Pure functions, shared by the agent (writer) and the main process's readers.

/** The table (per family: ip, ip6) of one-table kube-proxy, and the main table when sharded. */
export const TABLE = 'kube-proxy';
export const SHARD_PREFIX = `${TABLE}-shard-`;
/** K is a power of two up to this; a full sync removes every shard table of a larger index */
export const MAX_SHARDS = 64;
/** default: one table up to this many services (overridable for tests: ProxyContext.shardAbove) */
export const SHARD_ABOVE = 2000;
/** the services per shard K aims at (K = services / this, to a power of two) */
export const PER_SHARD = 500;

export const shardTable = (i: number) => `${SHARD_PREFIX}${i}`;
const SHARD_NAME = /^kube-proxy-shard-(\d+)$/;

/** Whether a table is one of kube-proxy's (the main one or a shard). */
export const isProxyTable = (name: string) => name === TABLE || SHARD_NAME.test(name);

/** The shard tables among table names: how many (K; 0 when kube-proxy keeps one table). */
export const shardsIn = (names: Iterable<string>) => [...names].filter((n) => SHARD_NAME.test(n)).length;

/** FNV-1a (32 bits) of `<namespace>/<name>`: stable across processes and versions of Node. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The shard of service `<namespace>/<name>` among `shards` (a power of two). */
export const shardOf = (id: string, shards: number) => fnv1a(id) % shards;

/** The table holding service `<namespace>/<name>`'s chains and dispatch elements. */
export const serviceTable = (id: string, shards: number) =>
  shards ? shardTable(shardOf(id, shards)) : TABLE;

/** Every table of a layout: the main one, then the shards. */
export const tablesOf = (shards: number) => [
  TABLE,
  ...Array.from({ length: shards }, (_, i) => shardTable(i)),
];

/** The maps the main table keeps in either layout (the filter chains read them). */
export const MAIN_MAPS: ReadonlySet<string> = new Set([
  'cluster-ips',
  'no-endpoint-services',
  'no-endpoint-nodeports',
]);

/** The table of an element of `map` for a service whose chains are in `table`. */
export const elementTable = (map: string, table: string) => (MAIN_MAPS.has(map) ? TABLE : table);

/** When to shard and how finely (tests make both small to exercise shards with a few services). */
export interface ShardPolicy {
  /** one table up to this many services */
  above?: number;
  /** the services per shard K aims at */
  perShard?: number;
}

/** K for `services`: services / perShard to the nearest power of two, 2..MAX_SHARDS. */
export function shardsFor(services: number, perShard = PER_SHARD): number {
  const k = 2 ** Math.round(Math.log2(Math.max(1, services / perShard)));
  return Math.min(MAX_SHARDS, Math.max(2, k));
}

/**
 * The layout for `services` given the current one (`current`: K, 0 for one table), with
 * hysteresis so that a count near a boundary does not resync in full back and forth: one table
 * until the count exceeds `above`, back to one below 3/4 of it; K kept while its shards hold
 * between perShard/2 and 2·perShard services on average.
 */
export function nextLayout(current: number, services: number, policy: ShardPolicy = {}): number {
  const above = policy.above ?? SHARD_ABOVE;
  const perShard = policy.perShard ?? PER_SHARD;
  if (current === 0) return services > above ? shardsFor(services, perShard) : 0;
  if (services < (above * 3) / 4) return 0;
  const per = services / current;
  if (per > 2 * perShard || per < perShard / 2) return shardsFor(services, perShard);
  return current;
}

/** Environment variables the agent reads (tests set them to shard a few services). */
export const ENV_SHARD_ABOVE = 'NETSIM_KUBE_PROXY_SHARD_ABOVE';
export const ENV_PER_SHARD = 'NETSIM_KUBE_PROXY_PER_SHARD';

/** The sharding policy from the environment (unset or not a positive integer: the default). */
export function shardingFromEnv(env: Record<string, string | undefined> = process.env): ShardPolicy {
  const num = (v: string | undefined) => (v && /^\d+$/.test(v) && Number(v) > 0 ? Number(v) : undefined);
  const above = num(env[ENV_SHARD_ABOVE]);
  const perShard = num(env[ENV_PER_SHARD]);
  return { ...(above ? { above } : {}), ...(perShard ? { perShard } : {}) };
}

// ---- for readers in the main process: they find a service wherever the layout put it ----

/**
 * kube-proxy's tables cut out of `nft list ruleset` text (every other table left out): what
 * `nft list table ip kube-proxy` printed before the services were spread over shard tables.
 */
export function proxyTablesText(ruleset: string): string {
  return ruleset
    .split(/^(?=table )/m)
    .filter((block) => isProxyTable(/^table \S+ (\S+) \{/.exec(block)?.[1] ?? ''))
    .join('');
}

/** The objects of kube-proxy's tables among `nft -j list ruleset`'s (tables, chains, rules, sets). */
export function proxyObjects<T>(nftables: T[]): T[] {
  return nftables.filter((o) => {
    const inner = Object.values(o as Record<string, { table?: string; name?: string }>)[0];
    const table = 'table' in (o as object) ? inner?.name : inner?.table;
    return table !== undefined && isProxyTable(table);
  });
}

/**
 * The table whose `service-ips` map has service `<namespace>/<name>`, given the names of the
 * tables there are (`nft list tables`): its shard's when kube-proxy shards, else the one table.
 */
export const serviceTableAmong = (id: string, tables: Iterable<string>) => serviceTable(id, shardsIn(tables));
