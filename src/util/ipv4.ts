// Small IPv4 arithmetic used by addressing and validation. IPv4 only: the simulated
// underlays and pod networks are IPv4, as in the systems netsim emulates.

export interface Cidr {
  /** network address as an unsigned 32-bit number */
  net: number;
  prefix: number;
}

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIp(text: string): number | undefined {
  const m = IPV4_RE.exec(text);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255 || (m[i].length > 1 && m[i].startsWith('0'))) return undefined;
    n = n * 256 + octet;
  }
  return n;
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses "a.b.c.d/len"; the host part may be non-zero (an interface address). */
export function parseCidr(text: string): { ip: number; prefix: number } | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (ip === undefined || !/^\d{1,2}$/.test(lenText)) return undefined;
  const prefix = Number(lenText);
  if (prefix > 32) return undefined;
  return { ip, prefix };
}

export function networkOf(ip: number, prefix: number): Cidr {
  return { net: (ip & maskOf(prefix)) >>> 0, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.net)}/${c.prefix}`;
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function contains(c: Cidr, ip: number): boolean {
  return (ip & maskOf(c.prefix)) >>> 0 === c.net;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return (a.net & maskOf(p)) >>> 0 === (b.net & maskOf(p)) >>> 0;
}

/** Usable host addresses: /31 and /32 use every address (RFC 3021), others skip network and broadcast. */
export function hostRange(c: Cidr): { first: number; last: number } {
  if (c.prefix >= 31) return { first: c.net, last: c.net + size(c) - 1 };
  return { first: c.net + 1, last: c.net + size(c) - 2 };
}

/** Smallest prefix whose subnet holds `hosts` usable addresses. */
export function prefixFor(hosts: number): number {
  for (let p = 30; p >= 0; p--) {
    if (size({ net: 0, prefix: p }) - 2 >= hosts) return p;
  }
  return 0;
}

/**
 * Hands out non-overlapping subnets from a pool, skipping ranges that are already taken
 * (explicit subnets in the topology). Allocation is aligned and first-fit, so the same
 * topology always gets the same addresses.
 */
export class SubnetPool {
  private readonly taken: Cidr[] = [];
  private cursor: number;

  constructor(readonly pool: Cidr) {
    this.cursor = pool.net;
  }

  reserve(c: Cidr): void {
    this.taken.push(c);
  }

  allocate(prefix: number): Cidr | undefined {
    const step = 2 ** (32 - prefix);
    const end = this.pool.net + size(this.pool);
    let at = Math.ceil(this.cursor / step) * step;
    while (at + step <= end) {
      const cand = { net: at >>> 0, prefix };
      const clash = this.taken.find((t) => overlaps(t, cand));
      if (!clash) {
        this.taken.push(cand);
        this.cursor = at + step;
        return cand;
      }
      at = Math.max(at + step, Math.ceil((clash.net + size(clash)) / step) * step);
    }
    return undefined;
  }
}
