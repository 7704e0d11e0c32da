// Reading counters and tables out of many namespaces at once, for the web view and /metrics:
// one process per namespace (`nsenter ... ip -j -s -batch -` with `addr show` and `route show`;
// `nft -j list table` for a table), all started by the same few shells as the configuration
// scripts. Nothing here changes kernel state. A namespace that vanished meanwhile (a pod
// deleted while we read) simply has no entry.
import { ipv4Of, ipv6Of } from './addrs.js';
import { nsenter, runShellJobs, shellQuote } from './shells.js';

/** One interface with its addresses and counters (`ip -j -s addr show`). */
export interface IfaceStats {
  ifname: string;
  flags: string[];
  operstate: string;
  mtu: number;
  address?: string;
  addrs: string[];
  rx: { bytes: number; packets: number; dropped: number; errors: number };
  tx: { bytes: number; packets: number; dropped: number; errors: number };
}

/** One route as `ip -j route show` prints it. */
export interface RouteEntry {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  flags?: string[];
}

export interface NetnsStats {
  ifaces: IfaceStats[];
  routes: RouteEntry[];
}

interface RawAddr {
  ifname: string;
  flags?: string[];
  operstate?: string;
  mtu?: number;
  address?: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
  stats64?: {
    rx?: { bytes?: number; packets?: number; dropped?: number; errors?: number };
    tx?: { bytes?: number; packets?: number; dropped?: number; errors?: number };
  };
}

const dir = (s: { bytes?: number; packets?: number; dropped?: number; errors?: number } | undefined) => ({
  bytes: s?.bytes ?? 0,
  packets: s?.packets ?? 0,
  dropped: s?.dropped ?? 0,
  errors: s?.errors ?? 0,
});

function parseLines(text: string): unknown[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('['))
    .map((l) => JSON.parse(l) as unknown);
}

/**
 * Interfaces (flags, addresses, rx/tx counters) and the main routing table of each namespace;
 * with `ipv6` its IPv6 one too (a second `ip`: a batch line takes no -6, and a prefix alone
 * does not make `route show` list IPv6 routes).
 */
export async function netnsStats(
  namespaces: string[],
  shells?: number,
  ipv6 = false,
): Promise<Map<string, NetnsStats>> {
  const batch = 'ip -j -s -batch -';
  const cmd = ipv6 ? `sh -c ${shellQuote(`${batch} && ip -6 -j route show`)}` : batch;
  const outputs = await runShellJobs(
    namespaces.map((ns) => ({
      ns,
      // `|| true`: a namespace deleted meanwhile must not stop the others
      text: `${nsenter(ns, cmd)} <<'NETSIM_IP' 2>/dev/null || true\naddr show\nroute show\nNETSIM_IP`,
      cost: 1,
    })),
    shells,
  );
  const out = new Map<string, NetnsStats>();
  for (const ns of namespaces) {
    const [addrs, routes, routes6] = parseLines(outputs.get(ns) ?? '') as [
      RawAddr[]?,
      RouteEntry[]?,
      RouteEntry[]?,
    ];
    if (!addrs) continue;
    out.set(ns, {
      ifaces: addrs.map((a) => ({
        ifname: a.ifname,
        flags: a.flags ?? [],
        operstate: a.operstate ?? 'UNKNOWN',
        mtu: a.mtu ?? 0,
        address: a.address,
        // IPv4 ones, then global IPv6 ones (every interface has a link-local one besides)
        addrs: [...ipv4Of(a), ...ipv6Of(a)],
        rx: dir(a.stats64?.rx),
        tx: dir(a.stats64?.tx),
      })),
      // IPv6 ones after the IPv4 ones, without the fe80::/64 every interface has
      routes: [...(routes ?? []), ...(routes6 ?? []).filter((r) => !r.dst.startsWith('fe80:'))],
    });
  }
  return out;
}

/**
 * `nft -j list table <family> <name>` in each namespace (namespaces without the table are left
 * out); no name: `nft -j list ruleset <family>`, every table of the family.
 */
export async function nftTables(
  namespaces: string[],
  family: string,
  table: string | undefined,
  shells?: number,
): Promise<Map<string, unknown[]>> {
  const what = table === undefined ? 'ruleset' : 'table';
  const name = table === undefined ? '' : ` ${shellQuote(table)}`;
  const outputs = await runShellJobs(
    namespaces.map((ns) => ({
      ns,
      text: `${nsenter(ns, `nft -j list ${what} ${shellQuote(family)}${name}`)} </dev/null 2>/dev/null || true`,
      cost: 1,
    })),
    shells,
  );
  const out = new Map<string, unknown[]>();
  for (const ns of namespaces) {
    const line = (outputs.get(ns) ?? '').split('\n').find((l) => l.startsWith('{'));
    if (!line) continue;
    try {
      out.set(ns, (JSON.parse(line) as { nftables: unknown[] }).nftables);
    } catch {
      /* a partial answer: left out */
    }
  }
  return out;
}
