// What a simulation leaves in each node's network namespace, for comparing two builds of the
// same topology: `ip -j -d addr`, `ip -j -d link`, every routing table of both families and
// the namespace's sysctls (net.ipv4/ipv6 conf and forwarding, net.bridge), with what differs between two identical builds by nature left out (MAC addresses and what
// derives from them, timers, netns ids, counters, the nexthop objects zebra numbers). The same normalisation as bench/floor-check.ts.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Model } from '../../src/model/model.js';

const exec = promisify(execFile);

/** Keys whose values differ between two identical builds. */
const VOLATILE =
  /^(nhid|nh_info|tentative|address|perm_address|permaddr|broadcast_address|link_netnsid|bridge_id|root_id|designated_root|designated_bridge|stats|stats64|.*_timer|gc_timer)$/;

/** `value` without volatile keys; IPv6 link-local addresses (made from the random MAC) masked. */
export function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      if (VOLATILE.test(k)) continue;
      const v = (value as Record<string, unknown>)[k];
      out[k] =
        (k === 'local' || k === 'dst' || k === 'gateway') &&
        typeof v === 'string' &&
        /^fe80::[^/]+$/.test(v) &&
        v !== 'fe80::'
          ? 'fe80::(from the MAC)'
          : normalize(v);
    }
    return out;
  }
  return value;
}

/** Paths (and both values) where `a` and `b` differ. */
export function differences(a: unknown, b: unknown, path = ''): string[] {
  if (a === b) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) =>
      differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}/${k}`),
    );
  }
  return [`${path || '/'}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`];
}

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

function sorted(routes: unknown): unknown {
  if (!Array.isArray(routes)) return routes;
  return routes
    .map((r) => [JSON.stringify(normalize(r)), r] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, r]) => r);
}

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
      ...(normalize({ addr, link, route: sorted(route), route6: sorted(route6) }) as object),
      sysctl,
    });
  }
  return out;
}

/** Differences between two builds' states, each prefixed with the node's name. */
export function stateDifferences(a: Map<string, unknown>, b: Map<string, unknown>): string[] {
  const diffs: string[] = [];
  for (const node of new Set([...a.keys(), ...b.keys()]))
    diffs.push(...differences(a.get(node), b.get(node)).map((d) => `${node}${d}`));
  return diffs;
}
