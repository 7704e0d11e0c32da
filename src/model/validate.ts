// Spec -> Model. Every check that can be made before touching the kernel is made here,
// so a bad topology fails with a located error and nothing is ever half-built.
import type { z } from 'zod';
import {
  type Cidr,
  contains,
  formatCidr,
  formatIp,
  hostRange,
  networkOf,
  overlaps,
  parseCidr,
  prefixFor,
  SubnetPool,
} from '../util/ipv4.js';
import { formatPath, IssueSink, type Path, type SourceLocator, TopologyError } from './errors.js';
import { ExpandedSource, expandNodes } from './expand.js';
import { parseExpectations } from './expect.js';
import { kindNames, kindOf } from './kinds/registry.js';
import { BRIDGE_NAME } from './kinds/switch.js';
import {
  type Addr,
  type IfaceModel,
  type LinkModel,
  type Model,
  type NodeModel,
  namespaceName,
  type SegmentModel,
} from './model.js';
import { IFNAME_RE, NODE_NAME_RE, type TopologySpec, topologySpec } from './spec.js';

const DEFAULT_POOL = '10.0.0.0/9';
const DEFAULT_P2P = '10.255.0.0/16';

export interface ValidateOptions {
  /** overrides the topology's name (two runs of one file side by side) */
  simName?: string;
}

/** Zod issues -> located issues with messages that name the field, the rule and what was given. */
export function zodIssues(
  err: z.ZodError,
  prefix: Path,
  sink: IssueSink,
  schema?: z.ZodType,
  input?: unknown,
): void {
  for (const issue of err.issues) {
    const rel = issue.path as Path;
    const path = [...prefix, ...rel];
    const value = valueAt(input, rel);
    const given = describeValue(value.found ? value.value : undefined);
    const custom = !/^(Invalid input|Invalid option|Too big|Too small)/.test(issue.message);
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = fieldsOf(schemaAt(schema, rel));
        for (const key of issue.keys) sink.add([...path, key], `unknown field "${key}"${hint(key, known)}`);
        break;
      }
      case 'invalid_type':
        if (!value.found) {
          const field = rel.length ? `"${rel[rel.length - 1]}" ` : '';
          sink.add(
            path,
            `missing required field ${field}(${custom ? issue.message : typeName(issue.expected)})`,
          );
        } else {
          sink.add(
            path,
            custom ? `${issue.message} (got ${given})` : `expected ${typeName(issue.expected)}, got ${given}`,
          );
        }
        break;
      case 'too_big':
      case 'too_small': {
        const big = issue.code === 'too_big';
        const bound = big
          ? (issue as { maximum: number | bigint }).maximum
          : (issue as { minimum: number | bigint }).minimum;
        const what =
          issue.origin === 'array'
            ? `${bound} entries`
            : issue.origin === 'string'
              ? `${bound} characters`
              : String(bound);
        sink.add(
          path,
          custom ? issue.message : `must be at ${big ? 'most' : 'least'} ${what} (got ${given})`,
        );
        break;
      }
      case 'invalid_value':
        sink.add(
          path,
          custom
            ? `${issue.message} (got ${given})`
            : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')} (got ${given})`,
        );
        break;
      case 'invalid_union':
        sink.add(path, custom ? `${issue.message} (got ${given})` : `unexpected ${given}`);
        break;
      default:
        sink.add(path, issue.message);
    }
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : word.endsWith('s') ? 'es' : 's'}`;
}

function valueAt(input: unknown, path: Path): { found: boolean; value?: unknown } {
  let v = input;
  for (const seg of path) {
    if (v === null || typeof v !== 'object' || !(seg in (v as object))) return { found: false };
    v = (v as Record<string | number, unknown>)[seg];
  }
  return { found: v !== undefined, value: v };
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  return `${typeof v} ${String(v)}`;
}

function typeName(expected: string): string {
  const names: Record<string, string> = {
    object: 'a mapping',
    record: 'a mapping',
    array: 'a list',
    tuple: 'a list',
    string: 'a string',
    number: 'a number',
    int: 'an integer',
    boolean: 'true or false',
  };
  return names[expected] ?? expected;
}

interface ZodDefLike {
  _zod?: {
    def: {
      type: string;
      shape?: Record<string, unknown>;
      element?: unknown;
      innerType?: unknown;
      valueType?: unknown;
      items?: unknown[];
    };
  };
}

/** The sub-schema at `path` (through objects, arrays, records, tuples, optionals), for field lists. */
function schemaAt(schema: unknown, path: Path): unknown {
  let s = schema as ZodDefLike | undefined;
  const unwrap = () => {
    while (s?._zod && ['optional', 'nullable', 'default'].includes(s._zod.def.type))
      s = s._zod.def.innerType as ZodDefLike;
  };
  for (const seg of path) {
    unwrap();
    const def = s?._zod?.def;
    if (!def) return undefined;
    if (def.type === 'object') s = def.shape?.[String(seg)] as ZodDefLike;
    else if (def.type === 'array') s = def.element as ZodDefLike;
    else if (def.type === 'record') s = def.valueType as ZodDefLike;
    else if (def.type === 'tuple' && typeof seg === 'number') s = def.items?.[seg] as ZodDefLike;
    else return undefined;
  }
  unwrap();
  return s;
}

function fieldsOf(schema: unknown): string[] {
  const def = (schema as ZodDefLike | undefined)?._zod?.def;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/** "did you mean" for a near miss, else the fields that are allowed here. */
function hint(key: string, known: string[]): string {
  if (known.length === 0) return '';
  // one typo in a short name, two in a longer one ("ip" is not a near miss of "stp")
  const allowed = key.length <= 4 ? 1 : 2;
  const near = known.filter((k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= allowed);
  if (near.length) return ` (did you mean "${near[0]}"?)`;
  return ` (allowed here: ${known.join(', ')})`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

export function validate(raw: unknown, userSource: SourceLocator, opts: ValidateOptions = {}): Model {
  // nodes generated by others (a cluster's workers) are located where their generator is
  const source = new ExpandedSource(userSource);
  const sink = new IssueSink(source);
  if (raw === null || raw === undefined) {
    sink.add([], 'the topology is empty (expected a mapping with name, nodes and links)');
    sink.throwIfAny();
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    sink.add([], `expected a mapping with name, nodes and links, got ${describeValue(raw)}`);
    sink.throwIfAny();
  }
  const parsed = topologySpec.safeParse(raw);
  if (!parsed.success) {
    zodIssues(parsed.error, [], sink, topologySpec, raw);
    sink.throwIfAny();
  }
  const spec = expandNodes(parsed.data as TopologySpec, source, sink);
  sink.throwIfAny();
  const simName = opts.simName ?? spec.name;
  const nodes = new Map<string, NodeModel>();

  // 1. nodes and their kinds
  for (const [name, nodeSpec] of Object.entries(spec.nodes)) {
    const path: Path = ['nodes', name];
    if (!NODE_NAME_RE.test(name)) {
      sink.add(
        path,
        `invalid node name "${name}" (letters, digits, _ . and -, at most 40, starting with a letter or digit)`,
      );
      continue;
    }
    const kindName = nodeSpec.kind;
    if (typeof kindName !== 'string') {
      sink.add([...path, 'kind'], `missing required field "kind" (one of ${kindNames().join(', ')})`);
      continue;
    }
    const kind = kindOf(kindName, false);
    if (!kind) {
      sink.add([...path, 'kind'], `unknown kind "${kindName}" (one of ${kindNames().join(', ')})`);
      continue;
    }
    const res = kind.schema.safeParse(nodeSpec);
    if (!res.success) {
      zodIssues(res.error, path, sink, kind.schema, nodeSpec);
      continue;
    }
    nodes.set(name, { name, kind: kindName, ns: namespaceName(simName, name), spec: res.data, ifaces: [] });
  }

  // 2. links: endpoints, interface names
  const links: LinkModel[] = [];
  const usedIfnames = new Map<string, Set<string>>(); // node -> names
  const specLinks = spec.links ?? [];
  const ends: ({ node: string; name?: string } | undefined)[][] = [];
  specLinks.forEach((link, index) => {
    const parsedEnds = link.endpoints.map((ep, side) => {
      const path: Path = ['links', index, 'endpoints', side];
      const [nodeName, ifname, extra] = ep.split(':');
      if (extra !== undefined || !nodeName) {
        sink.add(path, `endpoint "${ep}" must be "node" or "node:interface"`);
        return undefined;
      }
      if (!nodes.has(nodeName)) {
        if (spec.nodes[nodeName] === undefined) sink.add(path, `unknown node "${nodeName}"`);
        return undefined;
      }
      if (ifname !== undefined) {
        if (!IFNAME_RE.test(ifname)) {
          sink.add(
            path,
            `invalid interface name "${ifname}" (at most 15 characters: letters, digits, _ . -, starting with a letter)`,
          );
          return undefined;
        }
        const own = ownIfnames(nodes.get(nodeName)!.kind);
        if (own.includes(ifname)) {
          sink.add(
            path,
            `interface name "${ifname}" is taken by ${nodeName} itself (reserved on a ${nodes.get(nodeName)!.kind}: ${own.join(', ')})`,
          );
          return undefined;
        }
        const used = usedIfnames.get(nodeName) ?? new Set();
        if (used.has(ifname)) {
          sink.add(path, `interface ${nodeName}:${ifname} is used by more than one link`);
          return undefined;
        }
        used.add(ifname);
        usedIfnames.set(nodeName, used);
      }
      return { node: nodeName, name: ifname };
    });
    if (parsedEnds[0] && parsedEnds[1] && parsedEnds[0].node === parsedEnds[1].node) {
      sink.add(['links', index, 'endpoints'], `a link cannot connect node "${parsedEnds[0].node}" to itself`);
    }
    if (link.jitter && !link.delay) {
      sink.add(['links', index, 'jitter'], 'jitter needs a delay to vary (add delay: 10ms or so)');
    }
    ends.push(parsedEnds);
  });
  sink.throwIfAny();

  // automatic names: the next free ethN, in link order (containerlab's convention)
  const nextIndex = new Map<string, number>();
  const autoName = (node: string): string => {
    const used = usedIfnames.get(node) ?? new Set<string>();
    let n = nextIndex.get(node) ?? 1;
    while (used.has(`eth${n}`)) n++;
    used.add(`eth${n}`);
    usedIfnames.set(node, used);
    nextIndex.set(node, n + 1);
    return `eth${n}`;
  };
  specLinks.forEach((link, index) => {
    const [a, b] = ends[index] as { node: string; name?: string }[];
    const resolved: LinkModel['ends'] = [
      { node: a.node, name: a.name ?? autoName(a.node) },
      { node: b.node, name: b.name ?? autoName(b.node) },
    ];
    links.push({ index, ends: resolved, spec: link });
    resolved.forEach((end, side) => {
      const peer = resolved[1 - side];
      nodes.get(end.node)!.ifaces.push({ node: end.node, name: end.name, link: index, peer, segment: -1 });
    });
  });

  // 3. L2 segments: union of bridging nodes joined by links
  const bridging = (n: string) => kindOf(nodes.get(n)!.kind).bridging;
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(x, r);
    return r;
  };
  for (const n of nodes.values()) if (bridging(n.name)) parent.set(n.name, n.name);
  for (const l of links) {
    const [a, b] = l.ends;
    if (bridging(a.node) && bridging(b.node)) parent.set(find(a.node), find(b.node));
  }
  const segments: SegmentModel[] = [];
  const segOfSwitchRoot = new Map<string, SegmentModel>();
  /** where a segment's subnet was given: a subnet field, or the prefix of an address */
  const segExplicit = new Map<number, { cidr: Cidr; path: Path }>();
  const newSegment = (): SegmentModel => {
    const seg: SegmentModel = {
      id: segments.length,
      subnet: { net: 0, prefix: 32 },
      switches: [],
      ifaces: [],
    };
    segments.push(seg);
    return seg;
  };
  for (const n of nodes.values()) {
    if (!bridging(n.name)) continue;
    const root = find(n.name);
    let seg = segOfSwitchRoot.get(root);
    if (!seg) {
      seg = newSegment();
      segOfSwitchRoot.set(root, seg);
    }
    seg.switches.push(n.name);
  }
  const ifaceOf = (node: string, name: string) => nodes.get(node)!.ifaces.find((i) => i.name === name)!;
  const setExplicit = (seg: SegmentModel, c: Cidr, path: Path, address?: Addr) => {
    const prev = segExplicit.get(seg.id);
    if (prev && (prev.cidr.net !== c.net || prev.cidr.prefix !== c.prefix)) {
      const prevLine = source.locate(prev.path).line;
      const origin = `set by ${formatPath(prev.path)}${prevLine ? ` at line ${prevLine}` : ''}`;
      sink.add(
        path,
        address
          ? `address ${formatIp(address.ip)}/${address.prefix} is not in subnet ${formatCidr(prev.cidr)} of its L2 segment (${origin})`
          : `subnet ${formatCidr(c)} conflicts with subnet ${formatCidr(prev.cidr)} of the same L2 segment (${origin})`,
      );
      return;
    }
    segExplicit.set(seg.id, { cidr: c, path });
  };
  for (const n of nodes.values()) {
    const sub = n.spec.subnet;
    if (bridging(n.name) && typeof sub === 'string') {
      const c = parseCidr(sub)!;
      setExplicit(segOfSwitchRoot.get(find(n.name))!, networkOf(c.ip, c.prefix), ['nodes', n.name, 'subnet']);
    }
  }
  for (const l of links) {
    const [a, b] = l.ends;
    let seg: SegmentModel;
    if (bridging(a.node)) seg = segOfSwitchRoot.get(find(a.node))!;
    else if (bridging(b.node)) seg = segOfSwitchRoot.get(find(b.node))!;
    else seg = newSegment();
    for (const end of l.ends) {
      const iface = ifaceOf(end.node, end.name);
      iface.segment = seg.id;
      iface.mtu = l.spec.mtu;
      if (!bridging(end.node)) seg.ifaces.push(iface);
    }
    if (l.spec.subnet) {
      const c = parseCidr(l.spec.subnet)!;
      setExplicit(seg, networkOf(c.ip, c.prefix), ['links', l.index, 'subnet']);
    }
    l.spec.ipv4?.forEach((addr, side) => {
      if (addr === null) return;
      const end = l.ends[side];
      const path: Path = ['links', l.index, 'ipv4', side];
      if (bridging(end.node)) {
        sink.add(
          path,
          `"${end.node}" is a ${nodes.get(end.node)!.kind}: its ports carry no address (use null)`,
        );
        return;
      }
      const c = parseCidr(addr)!;
      ifaceOf(end.node, end.name).addr = { ip: c.ip, prefix: c.prefix };
      setExplicit(seg, networkOf(c.ip, c.prefix), path, c);
    });
  }
  // node-level `ip:` shorthand: the address of the node's first interface
  for (const n of nodes.values()) {
    const ip = n.spec.ip;
    if (typeof ip !== 'string') continue;
    const path: Path = ['nodes', n.name, 'ip'];
    const first = n.ifaces[0];
    if (!first) {
      sink.add(path, `node "${n.name}" has an ip but no link`);
      continue;
    }
    if (first.addr) {
      sink.add(path, `${n.name}:${first.name} already has an address from its link's ipv4`);
      continue;
    }
    const c = parseCidr(ip)!;
    first.addr = { ip: c.ip, prefix: c.prefix };
    setExplicit(segments[first.segment], networkOf(c.ip, c.prefix), path, c);
  }
  sink.throwIfAny();

  // 4. subnets: explicit ones must not overlap; the rest come from the pools
  const pool = parseCidr(spec.addressing?.pool ?? DEFAULT_POOL)!;
  const p2p = parseCidr(spec.addressing?.p2p ?? DEFAULT_P2P)!;
  const lanPool = new SubnetPool(networkOf(pool.ip, pool.prefix));
  const p2pPool = new SubnetPool(networkOf(p2p.ip, p2p.prefix));
  const explicitList = [...segExplicit.entries()];
  for (let i = 0; i < explicitList.length; i++) {
    const [segId, { cidr, path }] = explicitList[i];
    for (let j = 0; j < i; j++) {
      const [, other] = explicitList[j];
      if (overlaps(cidr, other.cidr)) {
        sink.add(path, `subnet ${formatCidr(cidr)} overlaps ${formatCidr(other.cidr)} of another segment`);
      }
    }
    lanPool.reserve(cidr);
    p2pPool.reserve(cidr);
    segments[segId].subnet = cidr;
    const { first, last } = hostRange(cidr);
    const attached = segments[segId].ifaces.length;
    if (attached > last - first + 1) {
      sink.add(
        path,
        `subnet ${formatCidr(cidr)} has room for ${plural(last - first + 1, 'address')}, but ${attached} interfaces attach to its L2 segment`,
      );
    }
  }
  sink.throwIfAny();
  const lanPrefix = spec.addressing?.lanPrefix ?? 24;
  const automatic = spec.addressing?.automatic !== false;
  for (const seg of segments) {
    if (segExplicit.has(seg.id) || !automatic) continue;
    if (seg.ifaces.length === 0) continue; // switches with no hosts: nothing to address
    const isP2p = seg.switches.length === 0;
    const prefix = isP2p ? 30 : Math.min(lanPrefix, prefixFor(seg.ifaces.length + 1));
    const from = isP2p ? p2pPool : lanPool;
    const got = from.allocate(prefix);
    if (!got) {
      const where = seg.switches[0] ? ['nodes', seg.switches[0]] : ['links', seg.ifaces[0].link];
      sink.add(
        where,
        `address pool addressing.${isP2p ? 'p2p' : 'pool'} (${formatCidr(from.pool)}) is exhausted: no free /${prefix} left for this segment${
          !isP2p && prefix === lanPrefix
            ? ` (LAN subnets are /${lanPrefix} or larger: see addressing.lanPrefix)`
            : ''
        }`,
      );
      continue;
    }
    // the two pools may overlap (a user's pool can contain the default p2p range)
    (isP2p ? lanPool : p2pPool).reserve(got);
    seg.subnet = got;
  }
  sink.throwIfAny();

  // 5. addresses: explicit ones inside their subnet and unique; others allocated in order
  const taken = new Map<number, string>();
  const addrPath = (i: IfaceModel): Path => {
    const l = links[i.link];
    const side = l.ends[0].node === i.node && l.ends[0].name === i.name ? 0 : 1;
    if (l.spec.ipv4?.[side]) return ['links', i.link, 'ipv4', side];
    const node = nodes.get(i.node)!;
    if (typeof node.spec.ip === 'string' && node.ifaces[0] === i) return ['nodes', i.node, 'ip'];
    return ['links', i.link, 'endpoints', side];
  };
  for (const seg of segments) {
    for (const i of seg.ifaces) {
      if (!i.addr) continue;
      const { first, last } = hostRange(seg.subnet);
      if (!contains(seg.subnet, i.addr.ip) || i.addr.prefix !== seg.subnet.prefix) {
        sink.add(
          addrPath(i),
          `address ${formatIp(i.addr.ip)}/${i.addr.prefix} is not in this segment's subnet ${formatCidr(seg.subnet)}`,
        );
      } else if (i.addr.ip < first || i.addr.ip > last) {
        const which = i.addr.ip === seg.subnet.net ? 'network' : 'broadcast';
        sink.add(
          addrPath(i),
          `address ${formatIp(i.addr.ip)} is the ${which} address of ${formatCidr(seg.subnet)}: use one from ${formatIp(first)} to ${formatIp(last)}`,
        );
      } else if (taken.has(i.addr.ip)) {
        sink.add(addrPath(i), `address ${formatIp(i.addr.ip)} is already used by ${taken.get(i.addr.ip)}`);
      } else {
        taken.set(i.addr.ip, `${i.node}:${i.name}`);
      }
    }
  }
  sink.throwIfAny();
  for (const seg of segments) {
    if (seg.ifaces.length === 0 || !automatic) continue;
    const { first, last } = hostRange(seg.subnet);
    let next = first;
    for (const i of seg.ifaces) {
      if (i.addr) continue;
      while (next <= last && taken.has(next)) next++;
      if (next > last) {
        sink.add(
          addrPath(i),
          `subnet ${formatCidr(seg.subnet)} has no free address left for ${i.node}:${i.name}`,
        );
        break;
      }
      i.addr = { ip: next, prefix: seg.subnet.prefix };
      taken.set(next, `${i.node}:${i.name}`);
    }
  }
  sink.throwIfAny();

  const model: Model = { name: simName, source, nodes, links, segments, expect: spec.expect ?? [] };
  // 6. kind-specific checks (routes, gateways, daemons...)
  for (const n of nodes.values()) kindOf(n.kind).validate?.(n, model, sink);
  // 7. expectations (`netsim verify`): each entry parsed and its names checked, at its line
  if (model.expect.length) model.expectations = parseExpectations(model.expect, model, sink);
  sink.throwIfAny();
  return model;
}

/** Interfaces a node of this kind makes for itself, which links must not be named after. */
function ownIfnames(kind: string): string[] {
  return kindOf(kind).bridging ? ['lo', BRIDGE_NAME] : ['lo'];
}

/** Throws a TopologyError located at `path`. */
export function fail(source: SourceLocator, path: Path, message: string): never {
  throw new TopologyError([{ path, message, pos: source.locate(path) }]);
}
