// What the user named, as addresses: the source node and its address, the destination as a
// node (its first address), an IPv4 or IPv6 address (and the node that has it), or a service
// ("ns/name", "name.ns.svc") resolved through kube-proxy's service-ips map on a worker — or,
// for a service without endpoints, through the cluster itself. Also the probe's family (`-6`,
// or an IPv6 address as the destination: then every name becomes its IPv6 address and a
// service its IPv6 ClusterIP, from the `ip6 kube-proxy` table) and its identity (a random TCP
// source port or ICMP id) that the trace tables match.
import { randomInt } from 'node:crypto';
import { serviceRef } from '../../model/expect.js';
import type { NodeState } from '../../runtime/state.js';
import { parseIp } from '../../util/ipv4.js';
import { isIp6 } from '../../util/ipv6.js';
import { serviceTableAmong, TABLE } from '../k8s/agent/proxy-tables.js';
import { parseServiceIps, type ServiceEntry } from './explain/nat.js';
import type { Family } from './family.js';
import { inNs, type ToolRunner, type TraceNet } from './net.js';
import type { ProbeMatch } from './nft.js';
import { TraceError, type TraceOptions, type TraceResult } from './types.js';

/** The node names an error message lists. */
export function nodeList(net: TraceNet): string {
  const names = [...net.nodes.keys()];
  return `${names.slice(0, 15).join(', ')}${names.length > 15 ? ', ...' : ''}`;
}

/**
 * The entries of service `id` (`<namespace>/<name>`) kube-proxy programs on a worker, in the table
 * of the family (ip, ip6 kube-proxy), or, above a number of services, in its shard table's.
 */
async function services(
  net: TraceNet,
  kernel: ToolRunner,
  worker: string,
  family: Family,
  id: string,
): Promise<ServiceEntry[]> {
  const ns = net.node(worker)?.ns;
  if (!ns) return [];
  const fam = family === 6 ? 'ip6' : 'ip';
  const map = (table: string) =>
    inNs(ns, 'nft', ['-j', 'list', 'map', fam, table, 'service-ips'], 10000, kernel);
  let r = await map(TABLE);
  if (r.code !== 0) {
    // sharded: the main table has no service-ips map; the table names say how many shards
    const t = await inNs(ns, 'nft', ['-j', 'list', 'tables', fam], 10000, kernel);
    if (t.code !== 0) return [];
    let names: string[];
    try {
      const doc = JSON.parse(t.stdout) as { nftables: { table?: { name: string } }[] };
      names = doc.nftables.flatMap((o) => (o.table ? [o.table.name] : []));
    } catch {
      return [];
    }
    const shard = serviceTableAmong(id, names);
    if (shard === TABLE) return [];
    r = await map(shard);
    if (r.code !== 0) return [];
  }
  return parseServiceIps(r.stdout).filter((s) => s.name === id);
}

/** The port a trace of this service probes, from its kube-proxy entries; throws when there is none. */
export function pickServicePort(full: string, svcs: ServiceEntry[], port: number | undefined): ServiceEntry {
  const pick =
    (port !== undefined ? svcs.find((s) => s.port === port) : undefined) ??
    svcs.find((s) => s.proto === 'tcp');
  if (port !== undefined && !svcs.some((s) => s.port === port))
    throw new TraceError(
      `service ${full} has no port ${port} (ports: ${svcs.map((s) => `${s.port}/${s.proto}`).join(', ')})`,
    );
  if (!pick) throw new TraceError(`service ${full} has no TCP port to trace`);
  return pick;
}

/** An address given as the destination: its family, or undefined for a name. */
export function addressFamily(dst: string): Family | undefined {
  if (parseIp(dst) !== undefined && /^\d+\.\d+\.\d+\.\d+$/.test(dst)) return 4;
  if (isIp6(dst)) return 6;
  return undefined;
}

/** The probe's family: the one asked for, else the destination address's, else IPv4. */
export function probeFamily(dst: string, asked: Family | undefined): Family {
  const own = addressFamily(dst);
  if (asked !== undefined && own !== undefined && asked !== own)
    throw new TraceError(`-${asked} asks for IPv${asked}, but ${dst} is an IPv${own} address`);
  return asked ?? own ?? 4;
}

const FAMILY_NAME = { 4: 'IPv4', 6: 'IPv6' } as const;

export async function resolveTarget(
  net: TraceNet,
  kernel: ToolRunner,
  src: string,
  dst: string,
  opts: TraceOptions,
): Promise<TraceResult['target']> {
  const family = probeFamily(dst, opts.family);
  const n = net.node(dst);
  if (n) {
    const ip = net.firstIp(n, family);
    if (!ip)
      throw new TraceError(
        family === 6 && net.firstIp(n, 4)
          ? `"${dst}" has no IPv6 address (trace it over IPv4: without -6)`
          : `"${dst}" has no ${FAMILY_NAME[family]} address to send to (a ${n.kind})`,
      );
    return { ip, port: opts.port, node: dst };
  }
  if (addressFamily(dst) !== undefined) {
    const owner = net.owner(dst);
    return { ip: dst, port: opts.port, node: owner?.node };
  }
  const ref = serviceRef(dst.replace(/\.svc(\.cluster\.local)?$/, ''));
  if (ref) {
    const srcNode = net.node(src);
    const workers = [srcNode?.parent, ...net.workers().map((w) => w.name)].filter((w): w is string => !!w);
    const full = `${ref.namespace}/${ref.name}`;
    for (const w of [...new Set(workers)].slice(0, 2)) {
      const svcs = await services(net, kernel, w, family, full);
      if (!svcs.length) continue;
      const pick = pickServicePort(full, svcs, opts.port);
      return { ip: pick.ip, port: pick.port, service: full };
    }
    const asked = await opts.resolveService?.(ref.namespace, ref.name, opts.port, family);
    if (asked) return { ip: asked.ip, port: asked.port, service: full };
  }
  throw new TraceError(
    `unknown destination "${dst}": not a node, a service or an IPv4/IPv6 address (nodes: ${nodeList(net)})`,
  );
}

export interface Prepared {
  srcNode: NodeState;
  srcIp: string;
  family: Family;
  target: TraceResult['target'];
  proto: 'tcp' | 'icmp';
  match: ProbeMatch;
}

/** Checks the source and port, resolves the destination, and chooses the probe's identity. */
export async function prepare(
  net: TraceNet,
  kernel: ToolRunner,
  src: string,
  dst: string,
  opts: TraceOptions,
): Promise<Prepared> {
  const srcNode = net.node(src);
  if (!srcNode) throw new TraceError(`unknown source "${src}" (nodes: ${nodeList(net)})`);
  if (net.isSwitch(srcNode)) throw new TraceError(`"${src}" is a switch: it sends no packets of its own`);
  const family = probeFamily(dst, opts.family);
  const srcIp = net.firstIp(srcNode, family);
  if (!srcIp)
    throw new TraceError(
      family === 6 && net.firstIp(srcNode, 4)
        ? `"${src}" has no IPv6 address to send from (the topology gives it none)`
        : `"${src}" has no address to send from`,
    );
  if (opts.port !== undefined && !(Number.isInteger(opts.port) && opts.port >= 1 && opts.port <= 65535))
    throw new TraceError(`port ${opts.port} is outside 1..65535`);
  const target = await resolveTarget(net, kernel, src, dst, { ...opts, family });
  const proto: 'tcp' | 'icmp' = target.port !== undefined ? 'tcp' : 'icmp';
  const sport = randomInt(42000, 58000);
  const icmpId = randomInt(1, 65535);
  const match: ProbeMatch =
    proto === 'tcp' ? { proto, saddr: srcIp, sport } : { proto, saddr: srcIp, icmpId };
  return { srcNode, srcIp, family, target, proto, match };
}
