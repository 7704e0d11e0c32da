// The REPL verbs `kubectl` and `k`: kubectl-shaped views of a cluster; exec streams through the
// REPL (Ctrl-C interrupts it).
import type { Verb, VerbContext } from '../../../runtime/plugin.js';
import { RESOURCES } from './args.js';
import { runKubectl } from './run.js';

export function kubectlVerbs(ctx: VerbContext): Verb[] {
  return [
    {
      names: ['kubectl', 'k'],
      usage: 'kubectl [--context C] get|describe|exec|logs ...',
      help: 'kubectl-shaped views of a cluster, read from its etcd: get pods|svc|ep|netpol|nodes|ns [-n NS|-A] [-l k=v] [-o wide|yaml|json], describe pod|svc NAME, exec POD -- CMD, logs POD',
      run: (args) => runKubectl(ctx.sim, args, ctx.io, (ns, argv) => ctx.stream(ns, argv)),
      complete(args) {
        if (args.length <= 1) return ['get', 'describe', 'exec', 'logs'];
        if (args.length === 2 && (args[0] === 'get' || args[0] === 'describe'))
          return Object.values(RESOURCES).map((n) => n[0]);
        return [...ctx.sim.nodes.keys()];
      },
    },
  ];
}
