// One normalisation of kernel-state dumps (`ip -j` addresses, links and routes, sysctls) and
// the differences between two of them, for the two places that compare two builds of the same
// topology: the bench's floor self-check (bench/floor-check.ts: netsim against bench/floor.py)
// and the netlink test (test/lib/kernel-state.ts: netsim's `ip -batch` against its own netlink
// requests). It lives in bench/ because the tests already import the bench (never the other
// way round). Left out is what differs between any two identical builds by nature: MAC
// addresses and what derives from them (IPv6 link-local addresses, bridge ids), timers, netns
// ids, counters, and DAD still in progress.

/** Keys whose values differ between two identical builds (tentative: IPv6 DAD in progress). */
const VOLATILE =
  /^(tentative|address|perm_address|permaddr|broadcast_address|link_netnsid|bridge_id|root_id|designated_root|designated_bridge|stats|stats64|.*_timer|gc_timer)$/;

/** The nexthop objects zebra installs its routes with: numbered in the order routes arrived. */
const NEXTHOP_IDS = /^(nhid|nh_info)$/;

/** Keys that hold an address: an IPv6 link-local one is made from the (random) MAC. */
const ADDRESS_KEYS = new Set(['local', 'dst', 'gateway']);

export interface NormalizeOptions {
  /**
   * Also leave out the ids of nexthop objects (nhid, nh_info). For states with FRR routers
   * (the netlink test): two builds' zebras number them in the order their routes came in.
   * The floor's self-check keeps them: neither netsim's plan nor the floor makes nexthop
   * objects, so one appearing on one side only is a real difference there.
   */
  nexthopIds?: boolean;
}

/** `value` with its object keys sorted, volatile keys left out and link-local addresses masked. */
export function normalize(value: unknown, opts: NormalizeOptions = {}): unknown {
  if (Array.isArray(value)) return value.map((v) => normalize(v, opts));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      if (VOLATILE.test(k) || (opts.nexthopIds && NEXTHOP_IDS.test(k))) continue;
      const v = (value as Record<string, unknown>)[k];
      // an address of one host (no prefix length; not the fe80:: route of the link)
      out[k] =
        ADDRESS_KEYS.has(k) && typeof v === 'string' && /^fe80::[^/]+$/.test(v)
          ? 'fe80::(from the MAC)'
          : normalize(v, opts);
    }
    return out;
  }
  return value;
}

/**
 * A list compared as a set (sorted by its entries' normal form), e.g. routes: those the kernel
 * makes itself as interfaces come up (local, link-local, multicast) are listed in the order
 * their carriers came on, which differs run to run.
 */
export function asSet(list: unknown, opts: NormalizeOptions = {}): unknown {
  if (!Array.isArray(list)) return list;
  return list
    .map((r) => [JSON.stringify(normalize(r, opts)), r] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, r]) => r);
}

/**
 * Paths (and both values) where `a` and `b` differ: "/link/0/mtu: 1500 vs 9000", or with
 * `names` ["netsim", "floor"]: "/link/0/mtu: netsim 1500, floor 9000".
 */
export function differences(a: unknown, b: unknown, names?: [string, string], path = ''): string[] {
  if (a === b) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) =>
      differences(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        names,
        `${path}/${k}`,
      ),
    );
  }
  const [x, y] = [JSON.stringify(a), JSON.stringify(b)];
  return [`${path || '/'}: ${names ? `${names[0]} ${x}, ${names[1]} ${y}` : `${x} vs ${y}`}`];
}

/** Differences between two builds' states by node, each prefixed with the node's name. */
export function stateDifferences(
  a: Map<string, unknown>,
  b: Map<string, unknown>,
  names?: [string, string],
): string[] {
  const diffs: string[] = [];
  for (const node of new Set([...a.keys(), ...b.keys()]))
    diffs.push(...differences(a.get(node), b.get(node), names).map((d) => `${node}${d}`));
  return diffs;
}
