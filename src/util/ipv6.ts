// IPv6 arithmetic for addressing and validation, on 128-bit bigints (ipv4.ts's counterpart).
// Text forms follow RFC 4291 on input (any compression, an embedded IPv4 tail) and RFC 5952
// on output (lower case, the longest run of zero groups compressed), as iproute2 prints them.
import { parseIp } from './ipv4.js';

export interface Cidr6 {
  net: bigint;
  prefix: number;
}

const BITS = 128n;
const ALL = (1n << BITS) - 1n;
const GROUP_RE = /^[0-9a-f]{1,4}$/i;

export function parseIp6(text: string): bigint | undefined {
  if (text.length === 0 || text.length > 45 || text.includes('%')) return undefined;
  let groups: string[];
  let tail: number[] = [];
  let head = text;
  // an IPv4 tail (::ffff:10.0.0.1) is two groups
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.slice(lastColon + 1).includes('.')) {
    const v4 = parseIp(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [v4 >>> 16, v4 & 0xffff];
    head = text.slice(0, lastColon + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const parts = head.split('::');
  if (parts.length > 2) return undefined;
  const split = (s: string) => (s === '' ? [] : s.split(':'));
  if (parts.length === 2) {
    const left = split(parts[0]);
    const right = split(parts[1]);
    const missing = 8 - tail.length - left.length - right.length;
    if (missing < 1) return undefined;
    groups = [...left, ...Array<string>(missing).fill('0'), ...right];
  } else {
    groups = split(parts[0]);
    if (groups.length + tail.length !== 8) return undefined;
  }
  let n = 0n;
  for (const g of groups) {
    if (!GROUP_RE.test(g)) return undefined;
    n = (n << 16n) | BigInt(Number.parseInt(g, 16));
  }
  for (const g of tail) n = (n << 16n) | BigInt(g);
  return n;
}

export function isIp6(text: string): boolean {
  return parseIp6(text) !== undefined;
}

export function formatIp6(n: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  // the longest run of two or more zero groups (the first of equal ones) becomes ::
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (best < 0) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}

/** Parses "addr/len"; the host part may be non-zero (an interface address). */
export function parseCidr6(text: string): { ip: bigint; prefix: number } | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp6(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (ip === undefined || !/^\d{1,3}$/.test(lenText)) return undefined;
  const prefix = Number(lenText);
  if (prefix > 128) return undefined;
  return { ip, prefix };
}

export function maskOf6(prefix: number): bigint {
  return prefix === 0 ? 0n : (ALL << (BITS - BigInt(prefix))) & ALL;
}

export function networkOf6(ip: bigint, prefix: number): Cidr6 {
  return { net: ip & maskOf6(prefix), prefix };
}

export function formatCidr6(c: Cidr6): string {
  return `${formatIp6(c.net)}/${c.prefix}`;
}

export function size6(c: Cidr6): bigint {
  return 1n << (BITS - BigInt(c.prefix));
}

export function contains6(c: Cidr6, ip: bigint): boolean {
  return (ip & maskOf6(c.prefix)) === c.net;
}

export function overlaps6(a: Cidr6, b: Cidr6): boolean {
  const m = maskOf6(Math.min(a.prefix, b.prefix));
  return (a.net & m) === (b.net & m);
}

/**
 * Addresses handed to interfaces: IPv6 has no broadcast, but the all-zero host part is the
 * subnet-router anycast address (RFC 4291 2.6.1), so it is skipped except on /127 and /128
 * (RFC 6164: both ends of a /127 are usable).
 */
export function hostRange6(c: Cidr6): { first: bigint; last: bigint } {
  const last = c.net + size6(c) - 1n;
  return { first: c.prefix >= 127 ? c.net : c.net + 1n, last };
}

/**
 * Non-overlapping subnets from a pool, first fit and aligned, skipping reserved ranges: the
 * same topology always gets the same subnets (SubnetPool's IPv6 twin).
 */
export class SubnetPool6 {
  private readonly taken: Cidr6[] = [];
  private cursor: bigint;

  constructor(readonly pool: Cidr6) {
    this.cursor = pool.net;
  }

  reserve(c: Cidr6): void {
    this.taken.push(c);
  }

  allocate(prefix: number): Cidr6 | undefined {
    if (prefix < this.pool.prefix) return undefined;
    const step = 1n << (BITS - BigInt(prefix));
    const end = this.pool.net + size6(this.pool);
    const align = (x: bigint) => ((x + step - 1n) / step) * step;
    let at = align(this.cursor);
    while (at + step <= end) {
      const cand = { net: at, prefix };
      const clash = this.taken.find((t) => overlaps6(t, cand));
      if (!clash) {
        this.taken.push(cand);
        this.cursor = at + step;
        return cand;
      }
      const after = align(clash.net + size6(clash));
      at = after > at + step ? after : at + step;
    }
    return undefined;
  }
}
