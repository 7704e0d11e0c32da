// Which IP families a topology carries. addressing.family says it; without it a topology is
// dual-stack as soon as it gives any IPv6 field, else IPv4 (what every topology written before
// IPv6 existed means). Fields of a family the topology does not carry are errors, not ignored.
import type { IssueSink, Path } from '../errors.js';
import type { Family } from '../model.js';
import type { TopologySpec } from '../spec.js';

const NODE6 = ['ip6', 'gateway6', 'subnet6', 'podCidr6', 'serviceCidr6'];
const NODE4 = ['ip', 'gateway', 'subnet'];
const ADDRESSING6 = ['pool6', 'p2p6', 'p2pPrefix6'] as const;

/** Where the topology gives a field of `family` (node, link and addressing fields, routes). */
function fieldsOf(spec: TopologySpec, family: Family): Path[] {
  const out: Path[] = [];
  const names = family === 6 ? NODE6 : NODE4;
  for (const [name, node] of Object.entries(spec.nodes)) {
    for (const k of names) if (node[k] !== undefined) out.push(['nodes', name, k]);
    const routes = node.routes;
    if (Array.isArray(routes))
      routes.forEach((r: { dst?: unknown }, i) => {
        if (typeof r?.dst !== 'string') return;
        const six = r.dst.includes(':');
        if (six === (family === 6)) out.push(['nodes', name, 'routes', i, 'dst']);
      });
  }
  (spec.links ?? []).forEach((l, i) => {
    for (const k of family === 6 ? (['ipv6', 'subnet6'] as const) : (['ipv4', 'subnet'] as const))
      if (l[k] !== undefined) out.push(['links', i, k]);
  });
  if (family === 6)
    for (const k of ADDRESSING6) if (spec.addressing?.[k] !== undefined) out.push(['addressing', k]);
  return out;
}

export function familiesOf(spec: TopologySpec, sink: IssueSink): Family[] {
  const given = spec.addressing?.family;
  if (given === 'dual') return [4, 6];
  if (given === 'ipv4') {
    for (const p of fieldsOf(spec, 6))
      sink.add(
        p,
        'addressing.family is ipv4: this topology has no IPv6 (set family: dual or remove the field)',
      );
    return [4];
  }
  if (given === 'ipv6') {
    for (const p of fieldsOf(spec, 4))
      sink.add(
        p,
        'addressing.family is ipv6: this topology has no IPv4 (set family: dual or remove the field)',
      );
    return [6];
  }
  return fieldsOf(spec, 6).length ? [4, 6] : [4];
}
