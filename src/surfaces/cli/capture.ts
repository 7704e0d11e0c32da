// `netsim capture NODE[:IFACE[,IFACE]]... [-w FILE|-] [-c N] [--decode] [FILTER...]`: a capture
// inside nodes of a running simulation, from another shell. One node: the capturing program's
// output goes straight to ours (`-w -`: pcap on stdout for `| tshark -r -` or
// `| wireshark -k -i -`). Several nodes: one program per node, recorded in the simulation's
// ledger, merged into one pcapng when they end (runtime/capture-many.ts). SIGINT/SIGTERM stop
// the capture cleanly (each program flushes its file) and we wait for it.
import { join } from 'node:path';
import { spawnIn } from '../../kernel/enter.js';
import { Kernel } from '../../kernel/kernel.js';
import { Ledger } from '../../kernel/ledger.js';
import { captureArgv, groupTargets, parseCount, resolveIfaces, splitTargets } from '../../runtime/capture.js';
import { MultiCapture, type NodeCapture } from '../../runtime/capture-many.js';
import { simDir } from '../../runtime/paths.js';
import { pickRunning } from '../../runtime/state.js';
import { ExitError, requireRoot } from './errors.js';

export interface CaptureCliOptions {
  sim?: string;
  write?: string;
  count?: string;
  decode?: boolean;
}

export async function cmdCapture(target: string, rest: string[], opts: CaptureCliOptions): Promise<void> {
  requireRoot();
  const state = pickRunning(opts.sim);
  const byName = (name: string) =>
    state.nodes.find((n) => n.name === name || `${n.parent}/${n.name}` === name);
  const parts: NodeCapture[] = [];
  let filter: string[];
  let count: number | undefined;
  try {
    const split = splitTargets(target, rest, (n) => byName(n) !== undefined);
    filter = split.filter;
    count = parseCount(opts.count);
    for (const t of groupTargets(split.targets)) {
      const node = byName(t.node);
      if (!node)
        throw new Error(
          `capture: no node "${t.node}" in ${state.name} (nodes: ${state.nodes.map((n) => n.name).join(', ')})`,
        );
      parts.push({ node: t.node, ns: node.ns, ifaces: await resolveIfaces(t.node, node.ns, t.ifaces) });
    }
    if (opts.decode && opts.write)
      throw new Error('capture: --decode prints the packets; it does not combine with -w');
  } catch (e) {
    throw new ExitError((e as Error).message, 2);
  }
  const stops: (() => void)[] = [];
  const onSignal = () => {
    for (const s of stops) s();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    process.exitCode =
      parts.length === 1
        ? await captureOne(
            state.name,
            parts[0],
            captureArgv(parts[0].ifaces, filter, { write: opts.write, count, decode: opts.decode }),
            stops,
          )
        : await captureMany(
            state.name,
            parts,
            { filter, write: opts.write, count, decode: opts.decode },
            stops,
          );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The simulation's ledger: what its teardown and `netsim clean` end if we are killed. */
const simKernel = (sim: string) => new Kernel(new Ledger(join(simDir(sim), 'ledger.jsonl')));

function captureOne(sim: string, part: NodeCapture, argv: string[], stops: (() => void)[]): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const child = spawnIn(part.ns, argv, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (child.pid !== undefined) simKernel(sim).recordProcess(child.pid, part.ns, argv.join(' '));
    stops.push(() => child.kill('SIGINT'));
    child.on('error', (e) =>
      reject(new ExitError(`capture: ${argv[0]}: ${e.message} (bin/setup installs tcpdump and tshark)`)),
    );
    // stopped by us: a clean end of the capture
    child.on('close', (c, signal) => resolve(c ?? (signal === 'SIGINT' ? 0 : 1)));
  });
}

function captureMany(
  sim: string,
  parts: NodeCapture[],
  o: { filter: string[]; write?: string; count?: number; decode?: boolean },
  stops: (() => void)[],
): Promise<number> {
  const many = new MultiCapture(
    simKernel(sim),
    parts,
    { ...o, workDir: join(simDir(sim), `capture-${process.pid}`) },
    {
      out: (s) => process.stdout.write(s),
      err: (s) => process.stderr.write(s),
      pcap: (data) => process.stdout.write(data),
    },
  );
  stops.push(() => many.stop());
  return many.done;
}
