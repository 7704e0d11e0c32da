// The REPL's `capture NODE[:IFACE[,IFACE]] [-w FILE] [-c N] [--decode] [FILTER...]`: the same
// capture as `netsim capture` (src/runtime/capture.ts), in the foreground; Ctrl-C stops it.
import { captureArgv, mergeTargets, parseCount, resolveIfaces, splitTargets } from '../../runtime/capture.js';
import type { Verb } from '../../runtime/plugin.js';
import type { ReplContext } from './verbs.js';

const USAGE = 'capture node[:iface[,iface]] [-w file.pcap] [-c N] [--decode] [filter...]';

export function captureVerb(cmds: ReplContext): Verb {
  const { io, sim } = cmds;
  return {
    names: ['capture'],
    usage: USAGE,
    help: 'tcpdump in a node (several interfaces: one pcapng; --decode: tshark, VXLAN on 8472 decoded); Ctrl-C stops it',
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
        const t = mergeTargets(targets);
        const node = sim.nodes.get(t.node);
        if (!node) throw new Error(`capture: no node "${t.node}" (nodes: ${cmds.nodeNames.join(', ')})`);
        const ifaces = await resolveIfaces(node.name, node.ns, t.ifaces);
        const argv = captureArgv(ifaces, filter, { write, count: parseCount(count), decode });
        return await cmds.stream(node.ns, argv);
      } catch (e) {
        io.err(`*** ${(e as Error).message}\n`);
        return 1;
      }
    },
  };
}
