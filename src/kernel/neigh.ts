// Host limits a large simulation needs raised. They are global (shared by every namespace and
// only visible from the host's network namespace):
// - the neighbour table limits, IPv4's (ARP) and IPv6's (NDP): with the default gc_thresh3=1024
//   large simulations thrash them;
// - net.core.netdev_max_backlog, each CPU's queue of packets handed from one device to the
//   next: a bridge floods a broadcast (an ARP request) to every port at once, each copy crossing
//   a veth into that queue, so with the default 1,000 an ARP request in a segment of 5,000 hosts
//   reaches about a fifth of them and most first pings fail (measured: 1,600 hosts, 205 of 300
//   random pairs at 1,000, all at 20,000; the drops show in /proc/net/softnet_stat).
// Each running simulation holds them raised to what its size needs (at least Mininet's values)
// and the last one to leave restores the host's. Each group keeps its holders in a file of its own.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What sizes the limits: the simulation's links (each one a veth pair). */
export interface LabSize {
  links: number;
}

interface Group {
  file: string;
  keys: string[];
  proc: (key: string) => string;
  /** the value `key` needs for a lab of this size */
  wanted: (key: string, size: LabSize) => number;
}

const NEIGH_MIN: Record<string, number> = { gc_thresh1: 4096, gc_thresh2: 8192, gc_thresh3: 16384 };
/** gc_thresh1/2/3 per link: its two ends and their peers on both families, with room */
const NEIGH_PER_LINK: Record<string, number> = { gc_thresh1: 1, gc_thresh2: 2, gc_thresh3: 4 };
const NEIGH: Group = {
  file: 'neigh-thresholds.json',
  /** `ipv4.gc_thresh1` ... `ipv6.gc_thresh3` */
  keys: ['ipv4', 'ipv6'].flatMap((f) => Object.keys(NEIGH_MIN).map((k) => `${f}.${k}`)),
  proc: (key) => {
    const [family, k] = key.split('.');
    return `/proc/sys/net/${family}/neigh/default/${k}`;
  },
  wanted: (key, size) => {
    const k = key.split('.')[1];
    return Math.max(NEIGH_MIN[k], NEIGH_PER_LINK[k] * size.links);
  },
};
/**
 * Mininet's 5,000, else 128 per link (at most a million). Not one broadcast but many at once:
 * when the links come up every host sends IPv6 multicast (MLD reports, DAD, router
 * solicitations) even in an IPv4 lab, and a bridge without snooping copies each to every port,
 * so a flat segment of N hosts queues about N² copies within a second or two, while the first
 * pings' ARP requests add theirs. At 8 per link, 1,000 hosts on one switch dropped 330,000 to
 * 680,000 packets per build and check (/proc/net/softnet_stat) and one of 1,000 sampled pairs
 * failed in about every second run; at 128 per link 0 to 28,000 and no pair in 3 runs. The
 * limit only bounds the queue: memory is taken by packets actually waiting, during a storm.
 */
const BACKLOG: Group = {
  file: 'netdev-backlog.json',
  keys: ['netdev_max_backlog'],
  proc: (key) => `/proc/sys/net/core/${key}`,
  wanted: (_key, size) => Math.max(5000, Math.min(1_000_000, 128 * size.links)),
};
const GROUPS = [NEIGH, BACKLOG];

interface Saved {
  original: Record<string, string>;
  holders: string[];
}

const read = (path: string) => readFileSync(path, 'utf8').trim();

/** An IPv4 threshold as an older netsim saved it (`gc_thresh1`, no family). */
const unprefixed = (saved: Saved, key: string) =>
  key.startsWith('ipv4.') ? saved.original[key.slice(5)] : undefined;

export function readNeighThresholds(): Record<string, string> {
  return Object.fromEntries(NEIGH.keys.map((k) => [k, read(NEIGH.proc(k))]));
}

/**
 * net.core.netdev_max_backlog as it is now. Outside the host's network namespace (a container)
 * the kernel does not show it: the kernel's default, 1,000, stands in (the real one is the
 * host's and unknown here; the smaller guess only means fewer pings in flight).
 */
export function readNetdevBacklog(): number {
  const path = BACKLOG.proc(BACKLOG.keys[0]);
  return existsSync(path) ? Number(read(path)) : 1000;
}

/**
 * Packets the CPUs' backlog queues have dropped since boot (/proc/net/softnet_stat: the second
 * column, hexadecimal, one line per CPU), summed; undefined where the file is not shown. A
 * count that grows while pings are out means probes or their ARP/ND floods may have been lost
 * on the way, rather than finding no path.
 */
export function readBacklogDrops(): number | undefined {
  try {
    return readFileSync('/proc/net/softnet_stat', 'utf8')
      .trim()
      .split('\n')
      .reduce((sum, l) => sum + (Number.parseInt(l.trim().split(/\s+/)[1] ?? '0', 16) || 0), 0);
  } catch {
    return undefined;
  }
}

/**
 * Raises the limits on behalf of `sim` to what a lab of `size` needs, saving the host's values
 * the first time. Returns a note instead when they cannot be changed from here: outside the
 * host's network namespace (a container) the kernel does not show them, and a read-only
 * /proc/sys refuses the write. The simulation then runs with the limits it finds (large ones
 * may see ARP churn and lost broadcasts).
 */
export function holdNeighThresholds(
  runDir: string,
  sim: string,
  size: LabSize = { links: 0 },
): string | undefined {
  if (!existsSync(NEIGH.proc(NEIGH.keys[0])))
    return (
      'the neighbour table limits (net.ipv4/ipv6.neigh.default.gc_thresh*) and net.core.netdev_max_backlog ' +
      "are not visible in this network namespace (a container?): they are left as the host has them; raise them on the host's " +
      'side for simulations with thousands of addresses'
    );
  try {
    for (const g of GROUPS) for (const k of g.keys) writeFileSync(g.proc(k), read(g.proc(k)));
  } catch (err) {
    return `the neighbour table limits cannot be changed here (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): they are left as they are`;
  }
  for (const g of GROUPS) {
    const file = join(runDir, g.file);
    const saved: Saved = existsSync(file)
      ? (JSON.parse(readFileSync(file, 'utf8')) as Saved)
      : { original: {}, holders: [] };
    // a file saved by an older netsim may lack keys (IPv4's unprefixed, IPv6's none): then the
    // host's value is the one there now
    for (const k of g.keys) saved.original[k] ??= unprefixed(saved, k) ?? read(g.proc(k));
    if (!saved.holders.includes(sim)) saved.holders.push(sim);
    writeFileSync(file, JSON.stringify(saved));
    for (const k of g.keys) {
      const wanted = g.wanted(k, size);
      if (Number(read(g.proc(k))) < wanted) writeFileSync(g.proc(k), String(wanted));
    }
  }
  return undefined;
}

/**
 * Drops `sim`'s hold (and holders for which `stillRunning` is false); restores the host's
 * values when nobody holds them any more.
 */
export function releaseNeighThresholds(
  runDir: string,
  sim: string,
  stillRunning: (s: string) => boolean,
): void {
  for (const g of GROUPS) {
    const file = join(runDir, g.file);
    if (!existsSync(file)) continue;
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Saved;
    saved.holders = saved.holders.filter((h) => h !== sim && stillRunning(h));
    if (saved.holders.length > 0) {
      writeFileSync(file, JSON.stringify(saved));
      continue;
    }
    for (const k of g.keys) {
      const value = saved.original[k] ?? unprefixed(saved, k);
      if (value !== undefined) writeFileSync(g.proc(k), value);
    }
    rmSync(file, { force: true });
  }
}
