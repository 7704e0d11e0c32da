// `netsim graph`: a topology drawn from its file alone, as `clab graph` does: Mermaid
// (`graph LR`), Graphviz dot and draw.io XML (mxfile). Nodes of a cluster (workers, etcd,
// pods) are drawn inside a group; each link is labelled with its two interface names.
// Pure: the model in, text out.
import type { Model } from '../../model/model.js';
import { type ClusterConfig, resolveWorker } from '../k8s/spec.js';

export interface GraphNode {
  name: string;
  kind: string;
  /** the cluster (group) it is drawn in */
  group?: string;
}

export interface GraphLink {
  a: { node: string; iface: string };
  /** iface '' when the far end has no name of its own (a pod's veth on its worker) */
  b: { node: string; iface: string };
}

export interface Graph {
  name: string;
  nodes: GraphNode[];
  links: GraphLink[];
}

export type GraphFormat = 'mermaid' | 'dot' | 'drawio';

/**
 * What a graph shows of a model: nodes with their kind and cluster, links with interface
 * names, and the pods a cluster declares (in its group, linked to their worker by eth0).
 */
export function graphOf(model: Model): Graph {
  const nodes: GraphNode[] = [];
  const links: GraphLink[] = model.links.map((l) => ({
    a: { node: l.ends[0].node, iface: l.ends[0].name },
    b: { node: l.ends[1].node, iface: l.ends[1].name },
  }));
  const clusters = new Map<string, ClusterConfig>();
  for (const n of model.nodes.values()) {
    const spec = n.spec as { cluster?: unknown; clusterConfig?: ClusterConfig };
    const group = typeof spec.cluster === 'string' ? spec.cluster : undefined;
    nodes.push({ name: n.name, kind: n.kind, group });
    if (group !== undefined && spec.clusterConfig) clusters.set(group, spec.clusterConfig);
  }
  for (const [group, cfg] of clusters)
    for (const [pod, p] of Object.entries(cfg.pods ?? {})) {
      nodes.push({ name: pod, kind: 'pod', group });
      const worker = resolveWorker(cfg, p.worker);
      if (worker) links.push({ a: { node: pod, iface: 'eth0' }, b: { node: worker, iface: '' } });
    }
  return { name: model.name, nodes, links };
}

const label = (l: GraphLink) => [l.a.iface, l.b.iface].filter(Boolean).join(' - ');

export function formatGraph(g: Graph, format: GraphFormat): string {
  if (format === 'mermaid') return mermaid(g);
  if (format === 'dot') return dot(g);
  return drawio(g);
}

/** Groups in order of first appearance, then the nodes in no group. */
function grouped(g: Graph): { groups: [string, GraphNode[]][]; loose: GraphNode[] } {
  const groups = new Map<string, GraphNode[]>();
  const loose: GraphNode[] = [];
  for (const n of g.nodes) {
    if (n.group === undefined) loose.push(n);
    else groups.set(n.group, [...(groups.get(n.group) ?? []), n]);
  }
  return { groups: [...groups], loose };
}

/** A Mermaid/draw.io identifier: node names may hold '-', '.', '/'. */
function ident(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, '_');
}

function mermaidText(s: string): string {
  return s.replace(/"/g, '#quot;');
}

function mermaid(g: Graph): string {
  const out = ['graph LR'];
  const node = (n: GraphNode, indent: string) =>
    out.push(`${indent}${ident(n.name)}["${mermaidText(n.name)}<br/>${mermaidText(n.kind)}"]`);
  const { groups, loose } = grouped(g);
  for (const [name, members] of groups) {
    out.push(`  subgraph cluster_${ident(name)}["${mermaidText(name)}"]`);
    for (const n of members) node(n, '    ');
    out.push('  end');
  }
  for (const n of loose) node(n, '  ');
  for (const l of g.links)
    out.push(`  ${ident(l.a.node)} ---|"${mermaidText(label(l))}"| ${ident(l.b.node)}`);
  return `${out.join('\n')}\n`;
}

function dotText(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function dot(g: Graph): string {
  const out = [`graph ${dotText(g.name)} {`, '  rankdir=LR;', '  node [shape=box];'];
  const node = (n: GraphNode, indent: string) =>
    out.push(`${indent}${dotText(n.name)} [label=${dotText(`${n.name}\n${n.kind}`)}];`);
  const { groups, loose } = grouped(g);
  for (const [name, members] of groups) {
    out.push(`  subgraph ${dotText(`cluster_${name}`)} {`, `    label=${dotText(name)};`);
    for (const n of members) node(n, '    ');
    out.push('  }');
  }
  for (const n of loose) node(n, '  ');
  for (const l of g.links)
    out.push(
      `  ${dotText(l.a.node)} -- ${dotText(l.b.node)} [taillabel=${dotText(l.a.iface)}, headlabel=${dotText(l.b.iface)}];`,
    );
  out.push('}');
  return `${out.join('\n')}\n`;
}

function xml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/\n/g, '&#xa;');
}

const W = 120;
const H = 50;
const GAP = 40;
const PER_ROW = 4;

/** draw.io: groups as containers (their members inside, in rows), loose nodes in rows below. */
function drawio(g: Graph): string {
  const cells: string[] = ['<mxCell id="0"/>', '<mxCell id="1" parent="0"/>'];
  const vertex = (n: GraphNode, parent: string, x: number, y: number): void => {
    cells.push(
      `<mxCell id="n_${xml(ident(n.name))}" value="${xml(`${n.name}\n${n.kind}`)}" style="rounded=1;whiteSpace=wrap;html=0;" vertex="1" parent="${parent}"><mxGeometry x="${x}" y="${y}" width="${W}" height="${H}" as="geometry"/></mxCell>`,
    );
  };
  const rowsOf = (k: number) => Math.ceil(k / PER_ROW);
  const { groups, loose } = grouped(g);
  let y = GAP;
  for (const [name, members] of groups) {
    const id = `g_${xml(ident(name))}`;
    const width = Math.min(members.length, PER_ROW) * (W + GAP) + GAP;
    const height = rowsOf(members.length) * (H + GAP) + GAP + 30;
    cells.push(
      `<mxCell id="${id}" value="${xml(name)}" style="swimlane;startSize=30;" vertex="1" parent="1"><mxGeometry x="${GAP}" y="${y}" width="${width}" height="${height}" as="geometry"/></mxCell>`,
    );
    for (const [i, n] of members.entries())
      vertex(n, id, GAP + (i % PER_ROW) * (W + GAP), 30 + GAP + Math.floor(i / PER_ROW) * (H + GAP));
    y += height + GAP;
  }
  for (const [i, n] of loose.entries())
    vertex(n, '1', GAP + (i % PER_ROW) * (W + GAP), y + Math.floor(i / PER_ROW) * (H + GAP));
  for (const [i, l] of g.links.entries())
    cells.push(
      `<mxCell id="l_${i}" value="${xml(label(l))}" style="endArrow=none;html=0;" edge="1" parent="1" source="n_${xml(ident(l.a.node))}" target="n_${xml(ident(l.b.node))}"><mxGeometry relative="1" as="geometry"/></mxCell>`,
    );
  return [
    '<mxfile host="netsim">',
    `  <diagram id="netsim" name="${xml(g.name)}">`,
    '    <mxGraphModel>',
    '      <root>',
    ...cells.map((c) => `        ${c}`),
    '      </root>',
    '    </mxGraphModel>',
    '  </diagram>',
    '</mxfile>',
    '',
  ].join('\n');
}
