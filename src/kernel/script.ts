// One namespace's configuration (sysctls, `ip -batch`, `tc -batch`, `nft -f`) as the piece of
// shell script a shell job runs for it (kernel.ts applyScripts shares the jobs out). The
// sysctls are the shell's own writes into /proc/sys by the shell that then becomes `ip -batch`:
// one process chain where a sysctl(8) of their own would double the processes per namespace
// (every L3 node of a topology with IPv6 has sysctls: DAD and router advertisements off).
import { heredoc, nsenter, type ShellJob, shellQuote } from './shells.js';

/** Configuration of one namespace, applied by a single process chain. */
export interface NsScript {
  sysctls: Record<string, string>;
  ip: string[];
  tc: string[];
  /** an nftables script (`nft -f -`), applied after the addresses and routes (e.g. a NAT table) */
  nft?: string[];
  /** scripts run in ascending waves, each wave after the previous one has finished (default 0) */
  wave?: number;
  /** once configured, report the namespace's interfaces (returned by applyScripts) */
  report?: boolean;
}

/**
 * sysctl -w as shell writes into /proc/sys (of the namespace the shell runs in). Keys as
 * sysctl(8) reads them: `net.ipv4.ip_forward`, or with slashes where a name holds dots
 * (`net/ipv6/conf/eth0.5/accept_dad`).
 */
export function sysctlWrites(kv: [string, string][]): string {
  const path = (k: string) => `/proc/sys/${k.includes('/') ? k : k.replaceAll('.', '/')}`;
  return kv.map(([k, v]) => `printf '%s\\n' ${shellQuote(v)} >${shellQuote(path(k))}`).join('; ');
}

/** The shell job that applies `s` in `ns` (undefined: nothing to do); a failure calls `fail ns`. */
export function scriptJob(ns: string, s: NsScript): ShellJob | undefined {
  const parts: string[] = [];
  const sysctls = Object.entries(s.sysctls);
  const ip = s.report ? [...s.ip, 'link show'] : s.ip;
  const ipCmd = `ip${s.report ? ' -j' : ''} -batch -`;
  const writes = sysctls.length ? `set -e; ${sysctlWrites(sysctls)}` : '';
  if (writes && ip.length)
    parts.push(heredoc(ns, nsenter(ns, `sh -c ${shellQuote(`${writes}; exec ${ipCmd}`)}`), 'NETSIM_IP', ip));
  else if (writes) parts.push(`${nsenter(ns, `sh -c ${shellQuote(writes)}`)} </dev/null || fail ${ns}`);
  else if (ip.length) parts.push(heredoc(ns, nsenter(ns, ipCmd), 'NETSIM_IP', ip));
  if (s.tc.length) parts.push(heredoc(ns, nsenter(ns, 'tc -batch -'), 'NETSIM_TC', s.tc));
  if (s.nft?.length) parts.push(heredoc(ns, nsenter(ns, 'nft -f -'), 'NETSIM_NFT', s.nft));
  if (parts.length === 0) return undefined;
  return {
    ns,
    text: parts.join('\n'),
    cost: parts.length * 50 + ip.length + s.tc.length + (s.nft?.length ?? 0),
  };
}
