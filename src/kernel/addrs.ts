// Each namespace's interfaces with their addresses (`ip -j addr show`), many namespaces read by
// a few shells in one go: what a running simulation's nodes have now, whatever gave it to them
// (netsim's plan, a lab's exec lines, FRR's zebra).
import { DEFAULT_SHELLS, nsenter, runShellJobs } from './shells.js';

/** One interface as `ip -j addr show` reports it. */
export interface AddrState {
  ifname: string;
  link_type?: string;
  address?: string;
  mtu: number;
  operstate: string;
  flags?: string[];
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
}

/** What the read printed for a namespace that is gone (or that `ip` could not read). */
const GONE = 'NETSIM_ADDR_GONE';

/** Namespace -> its interfaces; undefined for a namespace that does not exist (any more). */
export async function readAddrStates(
  namespaces: string[],
  maxShells = DEFAULT_SHELLS,
): Promise<Map<string, AddrState[] | undefined>> {
  const unique = [...new Set(namespaces)];
  const outputs = await runShellJobs(
    unique.map((ns) => ({
      ns,
      text: `${nsenter(ns, 'ip -j addr show')} 2>/dev/null || echo ${GONE}`,
      cost: 1,
    })),
    maxShells,
  );
  const out = new Map<string, AddrState[] | undefined>();
  for (const ns of unique) {
    const text = outputs.get(ns)?.trim() ?? GONE;
    if (text.includes(GONE)) out.set(ns, undefined);
    else {
      try {
        out.set(ns, JSON.parse(text || '[]') as AddrState[]);
      } catch {
        out.set(ns, undefined);
      }
    }
  }
  return out;
}

/** The IPv4 addresses (address/prefix) of an interface. */
export function ipv4Of(l: Pick<AddrState, 'addr_info'>): string[] {
  return (l.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
}

/** The global IPv6 addresses (address/prefix) of an interface: no link-local (scope link) one. */
export function ipv6Of(l: Pick<AddrState, 'addr_info'>): string[] {
  return (l.addr_info ?? [])
    .filter((a) => a.family === 'inet6' && (a.scope ?? 'global') === 'global')
    .map((a) => `${a.local}/${a.prefixlen}`);
}
