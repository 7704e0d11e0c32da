// Each node's own /etc/hosts, as containerlab's nodes have it (topology `hosts`, set by every
// containerlab import). In containerlab Docker writes a container's /etc/hosts: the localhost
// lines, the lab's nodes by name (containerlab's extra hosts: every node with a management
// address, sorted by name), then the container's own address and hostname; the container
// names (`clab-<lab>-<node>`) resolve through Docker's DNS and the host's /etc/hosts block.
// A simulation has no management network and never touches the host's /etc/hosts, so:
// - a node's addresses are its interfaces' (in the topology's order): the model's, or the ones
//   the kernel had after the build (a lab's exec lines, learned.ts); a node lists another at
//   the address it shares a subnet with (reached directly, as a management address is), else
//   at the other's first address;
// - each node is listed by name and, with a prefix, as `<prefix>-<node>` on the same line;
//   nodes without an address (switches) are left out;
// - IPv6 addresses (a topology with IPv6) get lines of their own, chosen the same way, after
//   the IPv4 line of the same node, as Docker lists a dual-stack container;
// - the node's own line comes last, 127.0.1.1 when it has no address (as Debian does), so its
//   hostname always resolves.
// The file lives in the simulation's directory and is bound over /etc/hosts in the node's
// mount namespace (kernel/nodens.ts); it is rewritten in place once addresses are learned.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Addr, Addr6, Model, NodeModel } from '../model/model.js';
import { contains, formatIp, networkOf, parseCidr } from '../util/ipv4.js';
import { contains6, formatIp6, networkOf6 } from '../util/ipv6.js';
import type { LearnedAddrs } from './learned.js';

/** Docker's first lines of a container's /etc/hosts. */
const LOCALHOST = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

/** The node's interface addresses (model or learned), in the topology's order. */
export function hostsAddresses(node: NodeModel, learned?: LearnedAddrs): Addr[] {
  const out: Addr[] = [];
  for (const i of node.ifaces) {
    const l = learned?.get(node.name)?.get(i.name);
    const addr = i.addr ?? (l ? parseCidr(l) : undefined);
    if (addr) out.push(addr);
  }
  return out;
}

const addrs6Of = (node: NodeModel): Addr6[] => node.ifaces.flatMap((i) => (i.addr6 ? [i.addr6] : []));

/** Every node's name(s) and addresses, sorted by name (computed once for all the files). */
type Entries = { names: string; addrs: Addr[]; addrs6: Addr6[] }[];

function entries(model: Model, learned?: LearnedAddrs): Entries {
  return [...model.nodes.values()]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((n) => ({
      names: model.hosts?.prefix ? `${n.name} ${model.hosts.prefix}-${n.name}` : n.name,
      addrs: hostsAddresses(n, learned),
      addrs6: addrs6Of(n),
    }));
}

/** The text of `self`'s /etc/hosts. */
export function etcHostsText(
  model: Model,
  self: NodeModel,
  learned?: LearnedAddrs,
  all = entries(model, learned),
): string {
  const mine = hostsAddresses(self, learned);
  const own = mine.map((a) => networkOf(a.ip, a.prefix));
  const mine6 = addrs6Of(self);
  const own6 = mine6.map((a) => networkOf6(a.ip, a.prefix));
  const lines = [...LOCALHOST];
  for (const { names, addrs, addrs6 } of all) {
    // the address on a subnet this node is on (it reaches that one directly), else the first
    const addr = addrs.find((a) => own.some((c) => contains(c, a.ip))) ?? addrs[0];
    if (addr) lines.push(`${formatIp(addr.ip)}\t${names}`);
    const addr6 = addrs6.find((a) => own6.some((c) => contains6(c, a.ip))) ?? addrs6[0];
    if (addr6) lines.push(`${formatIp6(addr6.ip)}\t${names}`);
  }
  const selfNames = all.find((e) => e.names.split(' ')[0] === self.name)?.names ?? self.name;
  if (mine[0] || !mine6[0]) lines.push(`${mine[0] ? formatIp(mine[0].ip) : '127.0.1.1'}\t${selfNames}`);
  if (mine6[0]) lines.push(`${formatIp6(mine6[0].ip)}\t${selfNames}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Writes every node's /etc/hosts under `dir` (the simulation's directory) when the topology
 * asks for them; returns their paths by network namespace (none: an empty map).
 */
export function writeEtcHosts(dir: string, model: Model, learned?: LearnedAddrs): Map<string, string> {
  const out = new Map<string, string>();
  if (!model.hosts) return out;
  mkdirSync(join(dir, 'hosts'), { recursive: true });
  const all = entries(model, learned);
  for (const n of model.nodes.values()) {
    const path = join(dir, 'hosts', n.name);
    writeFileSync(path, etcHostsText(model, n, learned, all));
    out.set(n.ns, path);
  }
  return out;
}
