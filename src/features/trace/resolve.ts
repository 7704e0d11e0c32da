// What the user named, as addresses: the source node and its address, the destination as a
// node (its first address), an IPv4 address (and the node that has it), or a service
// ("ns/name", "name.ns.svc") resolved through kube-proxy's service-ips map on a worker — or,
// for a service without endpoints, through the cluster itself. Also the probe's identity
// (a random TCP source port or ICMP id) that the trace tables match.
import { randomInt } from 'node:crypto';
import { serviceRef } from '../../model/expect.js';
import type { NodeState } from '../../runtime/state.js';
import { parseIp } from '../../util/ipv4.js';
import { parseServiceIps, type ServiceEntry } from './explain/nat.js';
import { inNs, type ToolRunner, type TraceNet } from './net.js';
import type { ProbeMatch } from './nft.js';
import { TraceError, type TraceOptions, type TraceResult } from './types.js';

/** The node names an error message lists. */
export function nodeList(net: TraceNet): string {
  const names = [...net.nodes.keys()];
  return `${names.slice(0, 15).join(', ')}${names.length > 15 ? ', ...' : ''}`;
}

/** Services kube-proxy programs on a worker. */
async function services(net: TraceNet, kernel: ToolRunner, worker: string): Promise<ServiceEntry[]> {
  const ns = net.node(worker)?.ns;
  if (!ns) return [];
  const r = await inNs(ns, 'nft', ['-j', 'list', 'map', 'ip', 'kube-proxy', 'service-ips'], 10000, kernel);
  if (r.code !== 0) return [];
  return parseServiceIps(r.stdout);
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

export async function resolveTarget(
  net: TraceNet,
  kernel: ToolRunner,
  src: string,
  dst: string,
  opts: TraceOptions,
): Promise<TraceResult['target']> {
  const n = net.node(dst);
  if (n) {
    const ip = net.firstIp(n);
    if (!ip) throw new TraceError(`"${dst}" has no address to send to (a ${n.kind})`);
    return { ip, port: opts.port, node: dst };
  }
  if (parseIp(dst) !== undefined && /^\d+\.\d+\.\d+\.\d+$/.test(dst)) {
    const owner = net.owner(dst);
    return { ip: dst, port: opts.port, node: owner?.node };
  }
  const ref = serviceRef(dst.replace(/\.svc(\.cluster\.local)?$/, ''));
  if (ref) {
    const srcNode = net.node(src);
    const workers = [srcNode?.parent, ...net.workers().map((w) => w.name)].filter((w): w is string => !!w);
    const full = `${ref.namespace}/${ref.name}`;
    for (const w of [...new Set(workers)].slice(0, 2)) {
      const svcs = (await services(net, kernel, w)).filter((s) => s.name === full);
      if (!svcs.length) continue;
      const pick = pickServicePort(full, svcs, opts.port);
      return { ip: pick.ip, port: pick.port, service: full };
    }
    const asked = await opts.resolveService?.(ref.namespace, ref.name, opts.port);
    if (asked) return { ip: asked.ip, port: asked.port, service: full };
  }
  throw new TraceError(
    `unknown destination "${dst}": not a node, a service or an IPv4 address (nodes: ${nodeList(net)})`,
  );
}

export interface Prepared {
  srcNode: NodeState;
  srcIp: string;
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
  const srcIp = net.firstIp(srcNode);
  if (!srcIp) throw new TraceError(`"${src}" has no address to send from`);
  if (opts.port !== undefined && !(Number.isInteger(opts.port) && opts.port >= 1 && opts.port <= 65535))
    throw new TraceError(`port ${opts.port} is outside 1..65535`);
  const target = await resolveTarget(net, kernel, src, dst, opts);
  const proto: 'tcp' | 'icmp' = target.port !== undefined ? 'tcp' : 'icmp';
  const sport = randomInt(42000, 58000);
  const icmpId = randomInt(1, 65535);
  const match: ProbeMatch =
    proto === 'tcp' ? { proto, saddr: srcIp, sport } : { proto, saddr: srcIp, icmpId };
  return { srcNode, srcIp, target, proto, match };
}
