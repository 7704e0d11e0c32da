// What a simulation leaves in each node's network namespace, for comparing two builds of the
// same topology: `ip -j -d addr`, `ip -j -d link`, every routing table of both families and
// the namespace's sysctls (net.ipv4/ipv6 conf and forwarding, net.bridge), normalised as the
// bench's floor self-check does (bench/kernel-diff.ts), and with the nexthop objects zebra
// numbers left out too (these labs run FRR).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { asSet, type NormalizeOptions, normalize } from '../../bench/kernel-diff.js';
import type { Model } from '../../src/model/model.js';

export { stateDifferences } from '../../bench/kernel-diff.js';

const exec = promisify(execFile);

async function ipJson(ns: string, args: string[]): Promise<unknown> {
  const { stdout } = await exec('ip', ['-n', ns, '-j', ...args]);
  return JSON.parse(stdout || '[]');
}

/** Files under /proc/sys/net read inside the namespace: those a build writes, and their neighbours. */
const SYSCTL_DIRS = ['ipv4/conf', 'ipv6/conf', 'ipv4/ip_forward', 'bridge']
  .map((d) => `/proc/sys/net/${d}`)
  .join(' ');

/** The namespace's sysctls as `path: value` (stable_secret, unreadable until set, apart). */
async function sysctls(ns: string): Promise<Record<string, string>> {
  const { stdout } = await exec('ip', [
    'netns',
    'exec',
    ns,
    'sh',
    '-c',
    `grep -r . ${SYSCTL_DIRS} 2>/dev/null; true`,
  ]);
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n').sort()) {
    const at = line.indexOf(':');
    if (at > 0) out[line.slice('/proc/sys/net/'.length, at)] = line.slice(at + 1);
  }
  return out;
}

/** Two FRR builds' zebras number their nexthop objects in the order their routes came in. */
const MASK: NormalizeOptions = { nexthopIds: true };

/** Each node's normalised network state, by node name. */
export async function kernelState(model: Model): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for (const node of model.nodes.values()) {
    const [addr, link, route, route6, sysctl] = await Promise.all([
      ipJson(node.ns, ['-d', 'addr']),
      ipJson(node.ns, ['-d', 'link']),
      ipJson(node.ns, ['-d', 'route', 'show', 'table', 'all']),
      ipJson(node.ns, ['-d', '-6', 'route', 'show', 'table', 'all']),
      sysctls(node.ns),
    ]);
    // routes as a set: those the kernel makes itself as interfaces come up (local, link-local,
    // multicast) are listed in the order their carriers came on, which differs run to run
    out.set(node.name, {
      ...(normalize({ addr, link, route: asSet(route, MASK), route6: asSet(route6, MASK) }, MASK) as object),
      sysctl,
    });
  }
  return out;
}
