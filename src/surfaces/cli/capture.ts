// `netsim capture NODE[:IFACE[,IFACE]] [-w FILE|-] [-c N] [--decode] [FILTER...]`: a capture
// inside a node of a running simulation, from another shell. The capturing program's output
// goes straight to ours (`-w -`: pcap on stdout for `| tshark -r -` or `| wireshark -k -i -`);
// SIGINT/SIGTERM stop it cleanly (it flushes its file) and we wait for it.
import { spawnIn } from '../../kernel/enter.js';
import { captureArgv, mergeTargets, parseCount, resolveIfaces, splitTargets } from '../../runtime/capture.js';
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
  let argv: string[];
  let ns: string;
  try {
    const { targets, filter } = splitTargets(target, rest, (n) => byName(n) !== undefined);
    const t = mergeTargets(targets);
    const node = byName(t.node);
    if (!node)
      throw new Error(
        `capture: no node "${t.node}" in ${state.name} (nodes: ${state.nodes.map((n) => n.name).join(', ')})`,
      );
    ns = node.ns;
    const ifaces = await resolveIfaces(node.name, node.ns, t.ifaces);
    argv = captureArgv(ifaces, filter, {
      write: opts.write,
      count: parseCount(opts.count),
      decode: opts.decode,
    });
  } catch (e) {
    throw new ExitError((e as Error).message, 2);
  }
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawnIn(ns, argv, { stdio: ['ignore', 'inherit', 'inherit'] });
    const stop = () => child.kill('SIGINT');
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    child.on('error', (e) =>
      reject(new ExitError(`capture: ${argv[0]}: ${e.message} (bin/setup installs tcpdump and tshark)`)),
    );
    child.on('close', (c, signal) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      // stopped by us: a clean end of the capture
      resolve(c ?? (signal === 'SIGINT' ? 0 : 1));
    });
  });
  process.exitCode = code;
}
