// Node kinds that stand for several nodes (a Kubernetes cluster: etcd members and workers)
// are expanded into ordinary nodes and links before validation, so the rest of the engine
// sees one model. Errors in what they generate point at the node that generated it.

import type { IssueSink, Path, SourceLocator, SourcePos } from './errors.js';
import { kindOf } from './kinds/registry.js';
import type { TopologySpec } from './spec.js';
import { zodIssues } from './validate/messages.js';

/** Locates generated nodes and links at the node that generated them. */
export class ExpandedSource implements SourceLocator {
  /** generated node -> its generator */
  readonly nodeOwner = new Map<string, string>();
  /** generated link index -> its generator */
  readonly linkOwner = new Map<number, string>();

  constructor(readonly inner: SourceLocator) {}

  get file(): string {
    return this.inner.file;
  }

  locate(path: Path): SourcePos {
    const owner =
      path[0] === 'nodes' && typeof path[1] === 'string'
        ? this.nodeOwner.get(path[1])
        : path[0] === 'links' && typeof path[1] === 'number'
          ? this.linkOwner.get(path[1])
          : undefined;
    return this.inner.locate(owner ? ['nodes', owner] : path);
  }
}

export function expandNodes(spec: TopologySpec, source: ExpandedSource, sink: IssueSink): TopologySpec {
  const generators = Object.entries(spec.nodes).filter(
    ([, n]) => typeof n.kind === 'string' && kindOf(n.kind, false)?.expand,
  );
  if (generators.length === 0) return spec;
  const nodes: TopologySpec['nodes'] = {};
  const links = [...(spec.links ?? [])];
  const claimed = new Map<string, string>();
  let needsIpv6 = false;
  for (const [name, n] of Object.entries(spec.nodes)) {
    const kind = typeof n.kind === 'string' ? kindOf(n.kind, false) : undefined;
    if (!kind?.expand) {
      nodes[name] = n;
      continue;
    }
    const parsed = kind.schema.safeParse(n);
    if (!parsed.success) {
      zodIssues(parsed.error, ['nodes', name], sink, kind.schema, n);
      continue;
    }
    const out = kind.expand(name, parsed.data, {
      nodes: spec.nodes,
      family: spec.addressing?.family,
      issue: (path, message) => sink.add(path, message),
      claim: (what, owner) => {
        const had = claimed.get(what);
        if (!had) claimed.set(what, owner);
        return had;
      },
    });
    for (const [gen, genSpec] of Object.entries(out.nodes)) {
      const clash = Object.hasOwn(spec.nodes, gen) ? 'a node of the topology' : source.nodeOwner.get(gen);
      if (clash) {
        sink.add(
          ['nodes', name],
          `${name} makes a node "${gen}", but that name is already taken by ${clash}`,
        );
        continue;
      }
      source.nodeOwner.set(gen, name);
      nodes[gen] = genSpec;
    }
    for (const l of out.links) {
      source.linkOwner.set(links.length, name);
      links.push(l);
    }
    if (out.needsIpv6) needsIpv6 = true;
  }
  // a dual-stack cluster in a topology that does not say its family: both families
  const addressing =
    needsIpv6 && !spec.addressing?.family ? { ...spec.addressing, family: 'dual' as const } : spec.addressing;
  return { ...spec, nodes, links, ...(addressing ? { addressing } : {}) };
}
