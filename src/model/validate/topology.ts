// The first steps of validation: each node checked against its kind's schema, each link's
// endpoints resolved to nodes, and every interface named (given, or the next free ethN).
import type { IssueSink, Path } from '../errors.js';
import { kindNames, kindOf } from '../kinds/registry.js';
import { BRIDGE_NAME } from '../kinds/switch.js';
import { type LinkModel, type NodeModel, namespaceName } from '../model.js';
import { IFNAME_RE, NODE_NAME_RE, type TopologySpec } from '../spec.js';
import { zodIssues } from './messages.js';

type Endpoint = { node: string; name?: string };

/** Nodes with a valid name and kind, parsed by their kind's schema; the others become issues. */
export function checkNodes(spec: TopologySpec, simName: string, sink: IssueSink): Map<string, NodeModel> {
  const nodes = new Map<string, NodeModel>();
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
  return nodes;
}

/**
 * The links between valid nodes, each end with its interface name, and each node's
 * interfaces in link order. Throws (through `sink`) when an endpoint is wrong.
 */
export function resolveLinks(
  spec: TopologySpec,
  nodes: Map<string, NodeModel>,
  sink: IssueSink,
): LinkModel[] {
  const usedIfnames = new Map<string, Set<string>>(); // node -> names
  const specLinks = spec.links ?? [];
  const ends = specLinks.map((link, index) => {
    const parsed = link.endpoints.map((ep, side) =>
      parseEndpoint(ep, ['links', index, 'endpoints', side], spec, nodes, usedIfnames, sink),
    );
    if (parsed[0] && parsed[1] && parsed[0].node === parsed[1].node) {
      sink.add(['links', index, 'endpoints'], `a link cannot connect node "${parsed[0].node}" to itself`);
    }
    if (link.jitter && !link.delay) {
      sink.add(['links', index, 'jitter'], 'jitter needs a delay to vary (add delay: 10ms or so)');
    }
    return parsed;
  });
  sink.throwIfAny();

  const autoName = ethNamer(usedIfnames);
  return specLinks.map((link, index) => {
    const [a, b] = ends[index] as Endpoint[];
    const resolved: LinkModel['ends'] = [
      { node: a.node, name: a.name ?? autoName(a.node) },
      { node: b.node, name: b.name ?? autoName(b.node) },
    ];
    resolved.forEach((end, side) => {
      const peer = resolved[1 - side];
      nodes.get(end.node)!.ifaces.push({ node: end.node, name: end.name, link: index, peer, segment: -1 });
    });
    return { index, ends: resolved, spec: link };
  });
}

/** "node" or "node:interface", checked; the interface name is claimed on its node. */
function parseEndpoint(
  ep: string,
  path: Path,
  spec: TopologySpec,
  nodes: Map<string, NodeModel>,
  usedIfnames: Map<string, Set<string>>,
  sink: IssueSink,
): Endpoint | undefined {
  const [nodeName, ifname, extra] = ep.split(':');
  if (extra !== undefined || !nodeName) {
    sink.add(path, `endpoint "${ep}" must be "node" or "node:interface"`);
    return undefined;
  }
  const node = nodes.get(nodeName);
  if (!node) {
    // an invalid node has its own issue already
    if (!Object.hasOwn(spec.nodes, nodeName) || spec.nodes[nodeName] === undefined)
      sink.add(path, `unknown node "${nodeName}"`);
    return undefined;
  }
  if (ifname === undefined) return { node: nodeName };
  if (!IFNAME_RE.test(ifname)) {
    sink.add(
      path,
      `invalid interface name "${ifname}" (at most 15 characters: letters, digits, _ . -, starting with a letter)`,
    );
    return undefined;
  }
  const own = ownIfnames(node.kind);
  if (own.includes(ifname)) {
    sink.add(
      path,
      `interface name "${ifname}" is taken by ${nodeName} itself (reserved on a ${node.kind}: ${own.join(', ')})`,
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
  return { node: nodeName, name: ifname };
}

/** Automatic names: the next free ethN of a node, in link order (containerlab's convention). */
function ethNamer(usedIfnames: Map<string, Set<string>>): (node: string) => string {
  const nextIndex = new Map<string, number>();
  return (node) => {
    const used = usedIfnames.get(node) ?? new Set<string>();
    let n = nextIndex.get(node) ?? 1;
    while (used.has(`eth${n}`)) n++;
    used.add(`eth${n}`);
    usedIfnames.set(node, used);
    nextIndex.set(node, n + 1);
    return `eth${n}`;
  };
}

/** Interfaces a node of this kind makes for itself, which links must not be named after. */
function ownIfnames(kind: string): string[] {
  return kindOf(kind).bridging ? ['lo', BRIDGE_NAME] : ['lo'];
}
