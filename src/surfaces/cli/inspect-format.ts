// What `netsim inspect` prints, from rows already gathered (inspect.ts): a boxed table as
// `clab inspect` prints it (one line per address or daemon inside a cell), JSON keyed by
// simulation name as containerlab's, and CSV. Pure, so the formats are tested literally.

export interface NodeRow {
  sim: string;
  name: string;
  kind: string;
  namespace: string;
  /** running (its namespace exists) or missing */
  state: string;
  ipv4: { iface: string; address: string }[];
  /** global IPv6 addresses (a column of their own once any node has one) */
  ipv6: { iface: string; address: string }[];
  daemons: { name: string; pid: number }[];
}

export interface IfaceRow {
  sim: string;
  node: string;
  iface: string;
  ipv4: string[];
  ipv6: string[];
  mac: string;
  mtu: number;
  state: string;
  /** node:iface at the other end, or '' */
  peer: string;
}

export type InspectFormat = 'table' | 'json' | 'csv';

/** A boxed table; a cell may hold several lines. */
export function boxTable(header: string[], rows: string[][][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.flatMap((r) => r[c].map((l) => l.length))));
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const line = (cells: string[]) => `|${cells.map((s, c) => ` ${s.padEnd(widths[c])} `).join('|')}|`;
  const out = [rule, line(header), rule];
  for (const r of rows) {
    const height = Math.max(1, ...r.map((cell) => cell.length));
    for (let i = 0; i < height; i++) out.push(line(r.map((cell) => cell[i] ?? '')));
  }
  out.push(rule);
  return `${out.join('\n')}\n`;
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csv(header: string[], rows: string[][]): string {
  return `${[header, ...rows].map((r) => r.map(csvField).join(',')).join('\n')}\n`;
}

function bySim<R extends { sim: string }>(rows: R[], strip: (r: R) => Record<string, unknown>): string {
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const r of rows) out[r.sim] = [...(out[r.sim] ?? []), strip(r)];
  return `${JSON.stringify(out, null, 2)}\n`;
}

const addr = (a: { iface: string; address: string }) => `${a.iface} ${a.address}`;
const daemon = (d: { name: string; pid: number }) => `${d.name} ${d.pid}`;

/** With `all`, a first column names the simulation, on its first node only (as clab --all). */
export function formatNodes(rows: NodeRow[], format: InspectFormat, all = false): string {
  // IPv6 columns only where there is IPv6: IPv4 labs print as they always have
  const six = rows.some((r) => r.ipv6.length);
  if (format === 'json')
    return bySim(rows, (r) => ({
      name: r.name,
      kind: r.kind,
      namespace: r.namespace,
      state: r.state,
      ipv4_address: r.ipv4.map(addr),
      ...(six ? { ipv6_address: r.ipv6.map(addr) } : {}),
      frr_daemons: r.daemons,
    }));
  if (format === 'csv')
    return csv(
      [
        'lab_name',
        'name',
        'kind',
        'namespace',
        'state',
        'ipv4_address',
        ...(six ? ['ipv6_address'] : []),
        'frr_daemons',
      ],
      rows.map((r) => [
        r.sim,
        r.name,
        r.kind,
        r.namespace,
        r.state,
        r.ipv4.map(addr).join(' '),
        ...(six ? [r.ipv6.map(addr).join(' ')] : []),
        r.daemons.map((d) => `${d.name}:${d.pid}`).join(' '),
      ]),
    );
  const header = [
    'Name',
    'Kind',
    'Namespace',
    'State',
    'IPv4 Address',
    ...(six ? ['IPv6 Address'] : []),
    'FRR daemons',
  ];
  const cells = rows.map((r, i) => {
    const row = [
      [r.name],
      [r.kind],
      [r.namespace],
      [r.state],
      r.ipv4.length ? r.ipv4.map(addr) : ['N/A'],
      ...(six ? [r.ipv6.length ? r.ipv6.map(addr) : ['N/A']] : []),
      r.daemons.length ? r.daemons.map(daemon) : [''],
    ];
    return all ? [[i === 0 || rows[i - 1].sim !== r.sim ? r.sim : ''], ...row] : row;
  });
  return boxTable(all ? ['Lab Name', ...header] : header, cells);
}

export function formatIfaces(rows: IfaceRow[], format: InspectFormat, all = false): string {
  const six = rows.some((r) => r.ipv6.length);
  if (format === 'json')
    return bySim(rows, (r) => ({
      node: r.node,
      interface: r.iface,
      ipv4_address: r.ipv4,
      ...(six ? { ipv6_address: r.ipv6 } : {}),
      mac: r.mac,
      mtu: r.mtu,
      state: r.state,
      peer: r.peer,
    }));
  const fields = (r: IfaceRow) => [
    r.node,
    r.iface,
    r.ipv4.join(' '),
    ...(six ? [r.ipv6.join(' ')] : []),
    r.mac,
    String(r.mtu),
    r.state,
    r.peer,
  ];
  if (format === 'csv')
    return csv(
      [
        'lab_name',
        'node',
        'interface',
        'ipv4_address',
        ...(six ? ['ipv6_address'] : []),
        'mac',
        'mtu',
        'state',
        'peer',
      ],
      rows.map((r) => [r.sim, ...fields(r)]),
    );
  const header = [
    'Node',
    'Interface',
    'IPv4 Address',
    ...(six ? ['IPv6 Address'] : []),
    'MAC',
    'MTU',
    'State',
    'Peer',
  ];
  const cells = rows.map((r, i) => {
    const row = [
      [r.node],
      [r.iface],
      r.ipv4.length ? r.ipv4 : ['N/A'],
      ...(six ? [r.ipv6.length ? r.ipv6 : ['N/A']] : []),
      [r.mac],
      [String(r.mtu)],
      [r.state],
      [r.peer],
    ];
    return all ? [[i === 0 || rows[i - 1].sim !== r.sim ? r.sim : ''], ...row] : row;
  });
  return boxTable(all ? ['Lab Name', ...header] : header, cells);
}
