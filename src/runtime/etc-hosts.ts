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
// - a node without an address ends its file with its own line, 127.0.1.1 (as Debian does), so
//   its hostname always resolves; a node with one is already listed at it (Docker writes that
//   line again at the end: it answers nothing the first one does not).
// Files are shared: a node's file differs from the plain list (every node at its first address)
// only where another node has a later address on one of this node's subnets, so the nodes that
// see the same differences (all hosts of a switch: none) share one file. A lab of 5,000 hosts
// has one file, not 5,000 of 5,000 lines (750 MB). A node that may learn an address (an
// interface the model leaves without one: a lab's exec lines) keeps a file of its own. The
// files live in the simulation's directory and are bound over /etc/hosts in the nodes' mount
// namespaces (kernel/nodens.ts); once addresses are learned they are rewritten in place.
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
type Entries = { name: string; names: string; addrs: Addr[]; addrs6: Addr6[] }[];

function entries(model: Model, learned?: LearnedAddrs): Entries {
  return [...model.nodes.values()]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((n) => ({
      name: n.name,
      names: model.hosts?.prefix ? `${n.name} ${model.hosts.prefix}-${n.name}` : n.name,
      addrs: hostsAddresses(n, learned),
      addrs6: addrs6Of(n),
    }));
}

/**
 * What sets a node's file apart: for each listed node whose address on a subnet of this node is
 * not its first, which one (by family), and the own line of a node without an address.
 */
interface View {
  v4: Map<number, Addr>;
  v6: Map<number, Addr6>;
  self?: string;
  /** the differences from the plain list */
  body: string;
  key: string;
}

function viewOf(
  self: NodeModel,
  all: Entries,
  index: { v4: Map<string, number[]>; v6: Map<string, number[]>; names: Map<string, string> },
  learned?: LearnedAddrs,
): View {
  const mine = hostsAddresses(self, learned);
  const own = mine.map((a) => networkOf(a.ip, a.prefix));
  const mine6 = addrs6Of(self);
  const own6 = mine6.map((a) => networkOf6(a.ip, a.prefix));
  const v4 = new Map<number, Addr>();
  const v6 = new Map<number, Addr6>();
  // only nodes with a later address on one of our subnets can differ from the plain list
  for (const c of own)
    for (const e of index.v4.get(`${c.net}/${c.prefix}`) ?? []) {
      const addr = all[e].addrs.find((a) => own.some((o) => contains(o, a.ip)));
      if (addr && addr !== all[e].addrs[0]) v4.set(e, addr);
    }
  for (const c of own6)
    for (const e of index.v6.get(`${c.net}/${c.prefix}`) ?? []) {
      const addr = all[e].addrs6.find((a) => own6.some((o) => contains6(o, a.ip)));
      if (addr && addr !== all[e].addrs6[0]) v6.set(e, addr);
    }
  const names = index.names.get(self.name) ?? self.name;
  const self_ = mine[0] || mine6[0] ? undefined : `127.0.1.1\t${names}`;
  const body = [
    [...v4].map(([e, a]) => `${e}=${formatIp(a.ip)}`).join(','),
    [...v6].map(([e, a]) => `${e}=${formatIp6(a.ip)}`).join(','),
  ].join('|');
  return { v4, v6, self: self_, body, key: `${body}|${self_ ?? ''}` };
}

/** Later (not first) addresses by their subnet at each prefix length our nodes' subnets use. */
function laterAddresses(model: Model, all: Entries, learned?: LearnedAddrs) {
  const lens4 = new Set<number>();
  const lens6 = new Set<number>();
  for (const n of model.nodes.values()) {
    for (const a of hostsAddresses(n, learned)) lens4.add(a.prefix);
    for (const a of addrs6Of(n)) lens6.add(a.prefix);
  }
  const v4 = new Map<string, number[]>();
  const v6 = new Map<string, number[]>();
  const add = (m: Map<string, number[]>, k: string, e: number) => {
    const list = m.get(k);
    if (!list) m.set(k, [e]);
    else if (list.at(-1) !== e) list.push(e);
  };
  all.forEach((entry, e) => {
    for (const a of entry.addrs.slice(1))
      for (const len of lens4) add(v4, `${networkOf(a.ip, len).net}/${len}`, e);
    for (const a of entry.addrs6.slice(1))
      for (const len of lens6) add(v6, `${networkOf6(a.ip, len).net}/${len}`, e);
  });
  return { v4, v6, names: new Map(all.map((e) => [e.name, e.names])) };
}

function viewText(all: Entries, view: View, bodies = new Map<string, string>()): string {
  let text = bodies.get(view.body);
  if (text === undefined) {
    text = bodyText(all, view);
    bodies.set(view.body, text);
  }
  return view.self ? `${text}${view.self}\n` : text;
}

function bodyText(all: Entries, view: View): string {
  const lines = [...LOCALHOST];
  all.forEach(({ names, addrs, addrs6 }, e) => {
    const addr = view.v4.get(e) ?? addrs[0];
    if (addr) lines.push(`${formatIp(addr.ip)}\t${names}`);
    const addr6 = view.v6.get(e) ?? addrs6[0];
    if (addr6) lines.push(`${formatIp6(addr6.ip)}\t${names}`);
  });
  return `${lines.join('\n')}\n`;
}

/** Each node's view (by name), computed together. */
function views(model: Model, learned?: LearnedAddrs): { all: Entries; byNode: Map<string, View> } {
  const all = entries(model, learned);
  const index = laterAddresses(model, all, learned);
  const byNode = new Map<string, View>();
  for (const n of model.nodes.values()) byNode.set(n.name, viewOf(n, all, index, learned));
  return { all, byNode };
}

/** The text of `self`'s /etc/hosts. */
export function etcHostsText(model: Model, self: NodeModel, learned?: LearnedAddrs): string {
  const { all, byNode } = views(model, learned);
  return viewText(all, byNode.get(self.name)!);
}

/**
 * Whether a node's view can change once addresses are learned: an interface without a model
 * address may get one from the lab's exec lines (learned.ts). Such a node gets a file of its
 * own; the others' views depend only on the model and on everyone's addresses, so the nodes
 * that share a file before the build share it after.
 */
const mayLearn = (n: NodeModel) => n.ifaces.some((i) => !i.addr);

/**
 * Writes the nodes' /etc/hosts files under `dir` (the simulation's directory) when the
 * topology asks for them, one per distinct view; returns each node's file by network
 * namespace. `bound`: the files the nodes have (the first write's), rewritten in place.
 */
export function writeEtcHosts(
  dir: string,
  model: Model,
  learned?: LearnedAddrs,
  bound?: Map<string, string>,
): Map<string, string> {
  const files = new Map<string, string>();
  if (!model.hosts) return files;
  mkdirSync(join(dir, 'hosts'), { recursive: true });
  const { all, byNode } = views(model, learned);
  const bodies = new Map<string, string>();
  const written = new Set<string>();
  const paths = new Map<string, string>();
  for (const n of model.nodes.values()) {
    const view = byNode.get(n.name)!;
    const key = mayLearn(n) ? `${view.key}|${n.name}` : view.key;
    let path = bound?.get(n.ns) ?? paths.get(key);
    if (!path) {
      path = join(dir, 'hosts', String(paths.size));
      paths.set(key, path);
    }
    files.set(n.ns, path);
    if (written.has(path)) continue;
    writeFileSync(path, viewText(all, view, bodies));
    written.add(path);
  }
  return files;
}
