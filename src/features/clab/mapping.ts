// Address mapping files: labs whose hosts get their address from an init script reading
// `<node> <cidr> <gateway>` lines (Scaled-Network's ip-mapping.txt). netsim reads the file
// itself and addresses the hosts, so the lab runs without its container images.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { TopologyError } from '../../model/errors.js';
import { readInput } from '../../model/source.js';
import { parseCidr, parseIp } from '../../util/ipv4.js';
import type { ClabLab } from './file.js';

export interface MappingEntry {
  node: string;
  cidr: string;
  gateway: string;
  line: number;
}

export interface AddressMapping {
  file: string;
  entries: MappingEntry[];
}

/** The entries, or the first line that is not `<node> <cidr> <gateway>` (blank and # lines skip). */
export function parseMapping(text: string): { entries: MappingEntry[] } | { badLine: number; text: string } {
  const entries: MappingEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].replace(/#.*$/, '').trim();
    if (!l) continue;
    const f = l.split(/\s+/);
    const c = f.length === 3 ? parseCidr(f[1]) : undefined;
    if (!c || c.prefix === 32 || parseIp(f[2]) === undefined) return { badLine: i + 1, text: lines[i] };
    entries.push({ node: f[0], cidr: f[1], gateway: f[2], line: i + 1 });
  }
  return { entries };
}

export function readMapping(file: string): AddressMapping {
  const r = parseMapping(readInput(file, 'the address mapping'));
  if ('badLine' in r)
    throw new TopologyError([
      {
        path: [],
        message: `not a "<node> <cidr> <gateway>" line: ${JSON.stringify(r.text.trim())}`,
        pos: { file, line: r.badLine, col: 1 },
      },
    ]);
  return { file, entries: r.entries };
}

/**
 * A bound file that is a mapping for this lab: every line is `<node> <cidr> <gateway>` and it
 * names nodes of the lab. Found by content, not by name, and reported when used.
 */
export function findMapping(lab: ClabLab): AddressMapping | undefined {
  const tried = new Set<string>();
  for (const node of lab.nodes.values()) {
    for (const b of node.binds) {
      if (tried.has(b.src)) continue;
      tried.add(b.src);
      if (!existsSync(b.src) || !statSync(b.src).isFile() || statSync(b.src).size > 1 << 20) continue;
      const r = parseMapping(readFileSync(b.src, 'utf8'));
      if ('entries' in r && r.entries.length && r.entries.every((e) => lab.nodes.has(e.node)))
        return { file: b.src, entries: r.entries };
    }
  }
  return undefined;
}
