// One namespace's configuration (sysctls, `ip -batch`, `tc -batch`, `nft -f`) as the job that
// applies it (kernel.ts applyScripts runs the jobs through kernel/runner.ts). The sysctls are
// the job's own writes into /proc/sys before `ip -batch`: a sysctl(8) of their own would add a
// process per namespace (every L3 node of a topology with IPv6 has sysctls: DAD and router
// advertisements off).
import { encodeBatch, linkDumpRequest } from './netlink.js';
import type { NsJob } from './runner.js';

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
 * The /proc/sys file of a sysctl key, as sysctl(8) reads the keys: `net.ipv4.ip_forward`, or
 * with slashes where a name holds dots (`net/ipv6/conf/eth0.5/accept_dad`).
 */
export function sysctlPath(key: string): string {
  return `/proc/sys/${key.includes('/') ? key : key.replaceAll('.', '/')}`;
}

/**
 * The job that applies `s` in `ns` (undefined: nothing to do): its sysctls written into
 * /proc/sys, then `ip -batch` (`-j` with a closing `link show` when it reports its
 * interfaces), `tc -batch`, `nft -f`, each only if the previous step succeeded. With
 * `netlink`, ip lines that netlink.ts encodes become requests the runner sends itself, and the
 * report a link dump (every line or none: a namespace with one line outside the subset keeps
 * `ip -batch`).
 */
export function nsJob(ns: string, s: NsScript, netlink = false): NsJob | undefined {
  const requests = netlink ? encodeBatch(s.ip) : undefined;
  const ip = requests ? [] : s.report ? [...s.ip, 'link show'] : s.ip;
  const commands = [];
  if (ip.length)
    commands.push({ argv: s.report ? ['ip', '-j', '-batch', '-'] : ['ip', '-batch', '-'], input: ip });
  if (s.tc.length) commands.push({ argv: ['tc', '-batch', '-'], input: s.tc });
  if (s.nft?.length) commands.push({ argv: ['nft', '-f', '-'], input: s.nft });
  const sysctls = Object.entries(s.sysctls).map(([k, v]): [string, string] => [sysctlPath(k), v]);
  const report = requests && s.report ? linkDumpRequest(requests.length + 1) : undefined;
  if (commands.length === 0 && sysctls.length === 0 && !requests?.length && !report) return undefined;
  const job: NsJob = {
    ns,
    sysctls,
    commands: commands.map((c) => ({ argv: c.argv, input: `${c.input.join('\n')}\n` })),
  };
  if (requests?.length) job.requests = requests;
  if (report) job.report = report;
  return job;
}
