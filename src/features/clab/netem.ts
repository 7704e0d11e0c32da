// `netsim tools netem set|show` (containerlab's tools netem): impairments on one interface of a
// node, on its egress. Rate through tbf and loss through nftables (a `numgen random` drop
// rule in table inet netsim_netem of the node's namespace), which every kernel has; delay and
// jitter through netem, and a clear error where the kernel has no sch_netem. Runs in the
// simulation's process (control op "netem"), through its kernel. `set` replaces what the
// interface had: what is not given is removed.
import { rateToBits, tbfQdisc } from '../../plan/plan.js';
import { controlRequest } from '../../runtime/control.js';
import type { Simulation } from '../../runtime/simulation.js';
import { pickRunning } from '../../runtime/state.js';

export interface Impairments {
  delay?: string;
  jitter?: string;
  loss?: string;
  rate?: string;
}

const TABLE = 'netsim_netem';
const DURATION = /^\d+(\.\d+)?(us|ms|s)$/;

function target(sim: Simulation, node: string, iface?: string) {
  const n = sim.nodes.get(node);
  if (!n) throw new Error(`no node "${node}" in ${sim.name} (nodes: ${[...sim.nodes.keys()].join(', ')})`);
  if (iface !== undefined && !n.model.ifaces.some((i) => i.name === iface))
    throw new Error(
      `${node} has no interface "${iface}" (interfaces: ${n.model.ifaces.map((i) => i.name).join(', ') || 'none'})`,
    );
  return n.model;
}

/** Loss as a percentage 0..100 (a trailing % allowed). */
function lossPercent(loss: string): number {
  const p = Number(loss.replace(/%$/, ''));
  if (!Number.isFinite(p) || p < 0 || p > 100)
    throw new Error(`--loss: "${loss}" is not a percentage 0..100`);
  return p;
}

export async function netemSet(
  sim: Simulation,
  node: string,
  iface: string,
  imp: Impairments,
): Promise<string> {
  const m = target(sim, node, iface);
  for (const f of ['delay', 'jitter'] as const)
    if (imp[f] !== undefined && !DURATION.test(imp[f]!))
      throw new Error(`--${f}: "${imp[f]}" is not a duration (e.g. 10ms)`);
  if (imp.jitter && !imp.delay) throw new Error('--jitter needs --delay');
  if ((imp.delay || imp.jitter) && !sim.features.netem)
    throw new Error('--delay/--jitter need the netem qdisc (sch_netem), which this kernel does not have');
  const bps = imp.rate === undefined ? undefined : rateOf(imp.rate);
  const loss = imp.loss === undefined ? undefined : lossPercent(imp.loss);
  const k = sim.kernel;
  const tc = [`qdisc del dev ${iface} root`];
  await k.tcBatch(m.ns, tc, false); // nothing there yet is fine
  const add: string[] = [];
  let parent = 'root';
  if (imp.delay) {
    add.push(
      `qdisc add dev ${iface} root handle 1: netem delay ${imp.delay}${imp.jitter ? ` ${imp.jitter}` : ''} limit 10000`,
    );
    parent = 'parent 1:';
  }
  if (bps !== undefined) add.push(tbfQdisc(iface, parent, bps));
  if (add.length) await k.tcBatch(m.ns, add);
  // loss: one chain per interface in the netsim table, replaced on every set
  const chain = `out_${iface.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const nft = [
    `add table inet ${TABLE}`,
    `add chain inet ${TABLE} ${chain} { type filter hook postrouting priority 0 ; }`,
    `flush chain inet ${TABLE} ${chain}`,
  ];
  // numgen's range ends at 9999: 100% is a plain drop
  if (loss)
    nft.push(
      `add rule inet ${TABLE} ${chain} oifname "${iface}"${loss < 100 ? ` numgen random mod 10000 < ${Math.round(loss * 100)}` : ''} drop`,
    );
  const res = await k.exec(m.ns, 'nft -f -', { input: `${nft.join('\n')}\n` });
  if (res.exitCode !== 0) throw new Error(`${node}: nft: ${res.stderr.trim()}`);
  return `${node} ${iface}: ${describe(imp) || 'no impairments'}`;
}

function rateOf(rate: string): number {
  try {
    return rateToBits(/^\d+(\.\d+)?$/.test(rate) ? `${rate}kbit` : rate);
  } catch {
    throw new Error(`--rate: "${rate}" is not a rate (e.g. 10mbit, or a number of kbit/s)`);
  }
}

function describe(imp: Impairments): string {
  return (['delay', 'jitter', 'loss', 'rate'] as const)
    .filter((f) => imp[f] !== undefined)
    .map((f) => `${f} ${imp[f]}${f === 'loss' && !imp.loss!.endsWith('%') ? '%' : ''}`)
    .join(', ');
}

/** Each interface of the node with what the kernel has on it (read back from tc and nft). */
export async function netemShow(sim: Simulation, node: string): Promise<string> {
  const m = target(sim, node);
  const k = sim.kernel;
  const rules = (await k.exec(m.ns, `nft list table inet ${TABLE}`)).stdout;
  const rows = [['Interface', 'Delay', 'Jitter', 'Loss', 'Rate']];
  for (const i of m.ifaces) {
    const q = (await k.exec(m.ns, `tc qdisc show dev ${i.name}`)).stdout;
    const netem = /netem .*?delay (\S+)(?: +(\S+))?/.exec(q);
    const tbf = /tbf .*?rate (\S+)/.exec(q);
    const drop = new RegExp(`oifname "${i.name}" (?:numgen random mod 10000 < (\\d+) )?drop`).exec(rules);
    rows.push([
      i.name,
      netem?.[1] ?? '-',
      netem?.[2] && /^\d/.test(netem[2]) ? netem[2] : '-',
      drop ? `${drop[1] === undefined ? 100 : Number(drop[1]) / 100}%` : '-',
      tbf?.[1] ?? '-',
    ]);
  }
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return `${rows
    .map((r) =>
      r
        .map((x, c) => x.padEnd(w[c]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

/** In the simulation's process: control op "netem" ({action: set|show, node, iface, ...}). */
export async function netemControl(
  sim: Simulation,
  req: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const node = String(req.node);
  if (req.action === 'show') return { text: await netemShow(sim, node) };
  const imp = { delay: str(req.delay), jitter: str(req.jitter), loss: str(req.loss), rate: str(req.rate) };
  return { text: `${await netemSet(sim, node, String(req.iface), imp)}\n` };
}

/** `netsim tools netem set|show` from any shell. */
export async function cmdNetem(
  action: 'set' | 'show',
  opts: Impairments & { sim?: string; node: string; interface?: string },
): Promise<void> {
  const state = pickRunning(opts.sim);
  const { sim: _s, node, interface: iface, ...imp } = opts;
  const reply = await controlRequest(state.name, { op: 'netem', action, node, iface, ...imp });
  process.stdout.write(String(reply.text));
}

/** REPL `link a b set [--rate R] [--loss P] [--delay D] [--jitter J]`: both ends of every link between a and b. */
export async function linkSet(sim: Simulation, a: string, b: string, args: string[]): Promise<string> {
  const imp: Impairments = {};
  for (let i = 0; i < args.length; i += 2) {
    const f = args[i].replace(/^--/, '');
    if (!['rate', 'loss', 'delay', 'jitter'].includes(f) || args[i + 1] === undefined)
      throw new Error(`link ${a} ${b} set: "${args[i]}" (give --rate R, --loss P, --delay D, --jitter J)`);
    imp[f as keyof Impairments] = args[i + 1];
  }
  const ends = sim.model.links
    .filter((l) => {
      const [x, y] = l.ends.map((e) => e.node);
      return (x === a && y === b) || (x === b && y === a);
    })
    .flatMap((l) => l.ends);
  if (ends.length === 0) throw new Error(`no link between ${a} and ${b}`);
  const out: string[] = [];
  for (const e of ends) out.push(await netemSet(sim, e.node, e.name, imp));
  return `${out.join('\n')}\n`;
}
