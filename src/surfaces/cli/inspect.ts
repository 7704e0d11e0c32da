// `netsim inspect [interfaces]` and `netsim graph`: what a running simulation is made of, seen
// from another shell through its state file (nodes, namespaces, links), its ledger (the FRR
// daemons it started, by PID) and one batched read-only query of all its namespaces
// (`ip -j addr`, Kernel.addrStates); and a topology drawn from its file alone.
import { writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { formatGraph, type GraphFormat, graphOf } from '../../features/clab/graph.js';
import { FRR_BIN_DIR } from '../../features/frr/daemons.js';
import { type AddrState, ipv4Of, ipv6Of } from '../../kernel/addrs.js';
import { Kernel } from '../../kernel/kernel.js';
import { Ledger } from '../../kernel/ledger.js';
import { loadTopology } from '../../model/load.js';
import { simDir } from '../../runtime/paths.js';
import { isRunning, listSimDirs, readState, type SimState } from '../../runtime/state.js';
import { ExitError, requireRoot } from './errors.js';
import {
  formatIfaces,
  formatNodes,
  type IfaceRow,
  type InspectFormat,
  type NodeRow,
} from './inspect-format.js';

interface InspectOptions {
  sim?: string;
  all?: boolean;
  format?: string;
  /** only these nodes (`--node h1 --node r1` or `--node h1,r1`) */
  node?: string[];
}

const nodeName = (n: SimState['nodes'][number]) => (n.parent ? `${n.parent}/${n.name}` : n.name);

/** The simulations with only the nodes asked for (--node); a name no simulation has is an error. */
function onlyNodes(sims: SimState[], names: string[] | undefined): SimState[] {
  if (!names?.length) return sims;
  const wanted = new Set(names);
  const picks = (n: SimState['nodes'][number]) => wanted.has(nodeName(n)) || wanted.has(n.name);
  for (const w of wanted)
    if (!sims.some((s) => s.nodes.some((n) => nodeName(n) === w || n.name === w)))
      throw new ExitError(
        `inspect: no node "${w}" in ${sims.map((s) => s.name).join(', ')} (nodes: ${[
          ...new Set(sims.flatMap((s) => s.nodes.map(nodeName))),
        ].join(', ')})`,
      );
  return sims.map((s) => ({ ...s, nodes: s.nodes.filter(picks) }));
}

/** The simulations asked for: --all, --sim NAME, or the only one running. */
function targets(opts: InspectOptions): SimState[] {
  const running = listSimDirs()
    .map(readState)
    .filter((s): s is SimState => isRunning(s));
  if (running.length === 0) throw new ExitError('no simulation is running (start one with netsim up)');
  if (opts.all) return running;
  const names = running.map((s) => s.name).join(', ');
  if (opts.sim) {
    const s = running.find((r) => r.name === opts.sim);
    if (!s) throw new ExitError(`no running simulation named "${opts.sim}" (running: ${names})`);
    return [s];
  }
  if (running.length > 1)
    throw new ExitError(`several simulations are running (${names}): pick one with --sim or --all`);
  return running;
}

function format(opts: InspectOptions): InspectFormat {
  const f = opts.format ?? 'table';
  if (f !== 'table' && f !== 'json' && f !== 'csv')
    throw new ExitError(`--format: "${f}" is not one of table, json, csv`);
  return f;
}

/** FRR daemons the simulation started and that still run, by namespace: the ledger's last word on each. */
function frrDaemons(sim: string): Map<string, { name: string; pid: number }[]> {
  const last = new Map<string, { ns: string; name: string; pid: number; start: string }>();
  for (const e of new Ledger(join(simDir(sim), 'ledger.jsonl')).read()) {
    if (e.t !== 'proc' || !e.ns || !e.cmd.startsWith(`${FRR_BIN_DIR}/`)) continue;
    const argv = e.cmd.split(' ');
    const n = argv.indexOf('-n');
    const name = basename(argv[0]) + (n > 0 ? `-${argv[n + 1]}` : '');
    last.set(`${e.ns} ${name}`, { ns: e.ns, name, pid: e.pid, start: e.start });
  }
  const out = new Map<string, { name: string; pid: number }[]>();
  for (const d of last.values())
    if (Kernel.alive(d.pid, d.start)) out.set(d.ns, [...(out.get(d.ns) ?? []), { name: d.name, pid: d.pid }]);
  return out;
}

/** Each node's interfaces as its namespace has them now (undefined: the namespace is gone). */
async function liveLinks(state: SimState): Promise<Map<string, AddrState[] | undefined>> {
  const read = await Kernel.addrStates(state.nodes.map((n) => n.ns));
  return new Map(
    [...read].map(([ns, links]) => [ns, links?.filter((l) => l.link_type !== 'loopback')] as const),
  );
}

async function nodeRows(state: SimState): Promise<NodeRow[]> {
  const links = await liveLinks(state);
  const daemons = frrDaemons(state.name);
  return state.nodes.map((n) => {
    const live = links.get(n.ns);
    return {
      sim: state.name,
      name: nodeName(n),
      kind: n.kind,
      namespace: n.ns,
      state: live ? 'running' : 'missing',
      ipv4: (live ?? []).flatMap((l) => ipv4Of(l).map((address) => ({ iface: l.ifname, address }))),
      ipv6: (live ?? []).flatMap((l) => ipv6Of(l).map((address) => ({ iface: l.ifname, address }))),
      daemons: daemons.get(n.ns) ?? [],
    };
  });
}

async function ifaceRows(state: SimState): Promise<IfaceRow[]> {
  const links = await liveLinks(state);
  return state.nodes.flatMap((n) =>
    (links.get(n.ns) ?? []).map((l) => ({
      sim: state.name,
      node: nodeName(n),
      iface: l.ifname,
      ipv4: ipv4Of(l),
      ipv6: ipv6Of(l),
      mac: l.address ?? '',
      mtu: l.mtu,
      state: l.operstate,
      peer: n.ifaces.find((i) => i.name === l.ifname)?.peer ?? '',
    })),
  );
}

/** `netsim inspect [interfaces]`. */
export async function cmdInspect(what: string | undefined, opts: InspectOptions): Promise<void> {
  if (what !== undefined && !['interfaces', 'int', 'intf'].includes(what))
    throw new ExitError(`inspect: unknown view "${what}" (known: interfaces)`);
  const f = format(opts);
  requireRoot();
  const sims = onlyNodes(targets(opts), opts.node);
  if (what === undefined) {
    const rows = (await Promise.all(sims.map(nodeRows))).flat();
    process.stdout.write(formatNodes(rows, f, opts.all));
  } else {
    const rows = (await Promise.all(sims.map(ifaceRows))).flat();
    process.stdout.write(formatIfaces(rows, f, opts.all));
  }
}

/** `netsim graph FILE|--sim NAME --mermaid|--drawio|--dot [-o FILE]`: nothing is built. */
export async function cmdGraph(
  file: string | undefined,
  opts: { sim?: string; mermaid?: boolean; drawio?: boolean; dot?: boolean; output?: string },
): Promise<void> {
  const formats = (['mermaid', 'drawio', 'dot'] as GraphFormat[]).filter((k) => opts[k]);
  if (formats.length !== 1) throw new ExitError('give one format: --mermaid, --drawio or --dot');
  if ((file === undefined) === (opts.sim === undefined))
    throw new ExitError('give a topology file or --sim NAME (one of them)');
  let topology = file;
  if (opts.sim !== undefined) {
    const s = readState(opts.sim);
    if (!s || !isRunning(s)) {
      const running = listSimDirs()
        .map(readState)
        .filter((r): r is SimState => isRunning(r))
        .map((r) => r.name);
      throw new ExitError(
        `no running simulation named "${opts.sim}" (running: ${running.join(', ') || 'none'})`,
      );
    }
    topology = s.source;
  }
  const { model } = await loadTopology(topology!);
  const text = formatGraph(graphOf(model), formats[0]);
  if (opts.output) {
    writeFileSync(resolve(opts.output), text);
    process.stderr.write(`wrote ${resolve(opts.output)}\n`);
  } else process.stdout.write(text);
}
