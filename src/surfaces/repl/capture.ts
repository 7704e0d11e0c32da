// The REPL's `capture NODE[:IFACE[,IFACE]]... [-w FILE] [-c N] [--decode] [FILTER...]`: the same
// capture as `netsim capture` (src/runtime/capture.ts), in the foreground; Ctrl-C stops it.
// Several nodes: one program per node, merged into one pcapng (runtime/capture-many.ts).
import { join } from 'node:path';
import { captureArgv, groupTargets, parseCount, resolveIfaces, splitTargets } from '../../runtime/capture.js';
import { MultiCapture, type NodeCapture } from '../../runtime/capture-many.js';
import type { Verb } from '../../runtime/plugin.js';
import type { ReplContext } from './verbs.js';

const USAGE = 'capture node[:iface[,iface]]... [-w file.pcapng] [-c N] [--decode] [filter...]';

export function captureVerb(cmds: ReplContext): Verb {
  const { io, sim } = cmds;
  return {
    names: ['capture'],
    usage: USAGE,
    help: 'tcpdump in nodes (several interfaces or nodes: one pcapng, node:iface; --decode: tshark, VXLAN on 8472 decoded); Ctrl-C stops it',
    async run(args) {
      let write: string | undefined;
      let count: string | undefined;
      let decode = false;
      const words: string[] = [];
      for (let i = 0; i < args.length; i++) {
        if (args[i] === '-w') write = args[++i];
        else if (args[i] === '-c') count = args[++i];
        else if (args[i] === '--decode') decode = true;
        else words.push(args[i]);
      }
      try {
        if (!words.length) throw new Error(`usage: ${USAGE}`);
        if (write === '-' || (write === undefined && args.includes('-w')))
          throw new Error('capture: in the REPL -w wants a file (netsim capture -w - streams to stdout)');
        const { targets, filter } = splitTargets(words[0], words.slice(1), (n) => sim.nodes.has(n));
        const parts: NodeCapture[] = [];
        for (const t of groupTargets(targets)) {
          const node = sim.nodes.get(t.node);
          if (!node) throw new Error(`capture: no node "${t.node}" (nodes: ${cmds.nodeNames.join(', ')})`);
          parts.push({
            node: node.name,
            ns: node.ns,
            ifaces: await resolveIfaces(node.name, node.ns, t.ifaces),
          });
        }
        const n = parseCount(count);
        if (parts.length === 1)
          return await cmds.stream(
            parts[0].ns,
            captureArgv(parts[0].ifaces, filter, { write, count: n, decode }),
          );
        if (decode && write)
          throw new Error('capture: --decode prints the packets; it does not combine with -w');
        const workDir = join(sim.dir, `capture-${Date.now()}`);
        const many = new MultiCapture(
          sim.kernel,
          parts,
          { filter, write, count: n, decode, workDir },
          {
            out: (s) => io.out(s),
            err: (s) => io.err(s),
          },
        );
        return await cmds.foreground(() => many.stop(), many.done);
      } catch (e) {
        io.err(`*** ${(e as Error).message}\n`);
        return 1;
      }
    },
  };
}
