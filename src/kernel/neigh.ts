// The neighbour table limits are global (shared by every namespace), IPv4's (ARP) and IPv6's
// (NDP) alike. With the default gc_thresh3=1024 large simulations thrash them, so each running
// simulation holds them raised (Mininet's values) and the last one to leave restores the host's.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const RAISED: Record<string, string> = { gc_thresh1: '4096', gc_thresh2: '8192', gc_thresh3: '16384' };
/** `ipv4.gc_thresh1` ... `ipv6.gc_thresh3` */
const KEYS = ['ipv4', 'ipv6'].flatMap((f) => Object.keys(RAISED).map((k) => `${f}.${k}`));
const PROC = (key: string) => {
  const [family, k] = key.split('.');
  return `/proc/sys/net/${family}/neigh/default/${k}`;
};
const raisedOf = (key: string) => RAISED[key.split('.')[1]];

interface Saved {
  original: Record<string, string>;
  holders: string[];
}

export function readNeighThresholds(): Record<string, string> {
  return Object.fromEntries(KEYS.map((k) => [k, readFileSync(PROC(k), 'utf8').trim()]));
}

/**
 * Raises the thresholds on behalf of `sim`, saving the host's values the first time. Returns a
 * note instead when they cannot be changed from here: outside the host's network namespace (a
 * container) the kernel does not show them, and a read-only /proc/sys refuses the write. The
 * simulation then runs with the limits it finds (large ones may see ARP churn).
 */
export function holdNeighThresholds(runDir: string, sim: string): string | undefined {
  if (!existsSync(PROC(KEYS[0])))
    return (
      'the neighbour table limits (net.ipv4/ipv6.neigh.default.gc_thresh*) are not visible in this ' +
      "network namespace (a container?): they are left as the host has them; raise them on the host's " +
      'side for simulations with thousands of addresses'
    );
  try {
    for (const k of KEYS) writeFileSync(PROC(k), readFileSync(PROC(k), 'utf8').trim());
  } catch (err) {
    return `the neighbour table limits cannot be changed here (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): they are left as they are`;
  }
  const file = join(runDir, 'neigh-thresholds.json');
  const saved: Saved = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Saved)
    : { original: readNeighThresholds(), holders: [] };
  if (!saved.holders.includes(sim)) saved.holders.push(sim);
  writeFileSync(file, JSON.stringify(saved));
  for (const k of KEYS) {
    if (Number(readFileSync(PROC(k), 'utf8')) < Number(raisedOf(k))) writeFileSync(PROC(k), raisedOf(k));
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
  const file = join(runDir, 'neigh-thresholds.json');
  if (!existsSync(file)) return;
  const saved = JSON.parse(readFileSync(file, 'utf8')) as Saved;
  saved.holders = saved.holders.filter((h) => h !== sim && stillRunning(h));
  if (saved.holders.length > 0) {
    writeFileSync(file, JSON.stringify(saved));
    return;
  }
  // restore in an order the kernel accepts (thresh1 <= thresh2 <= thresh3 is not enforced, but keep it tidy)
  // (a file saved by an older netsim has the IPv4 keys only, unprefixed)
  for (const k of KEYS) {
    const value = saved.original[k] ?? (k.startsWith('ipv4.') ? saved.original[k.slice(5)] : undefined);
    if (value !== undefined) writeFileSync(PROC(k), value);
  }
  rmSync(file, { force: true });
}
