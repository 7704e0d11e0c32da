// The REPL verbs `kubectl` and `k`: kubectl-shaped views of a cluster; exec streams through the
// REPL (Ctrl-C interrupts it).
import type { Verb, VerbContext } from '../../../runtime/plugin.js';
import { clustersOf } from '../cluster.js';
import { manifestVerbs } from '../manifests/verbs.js';
import { RESOURCES } from './args.js';
import { runKubectl } from './run.js';

/** `kubectl apply|delete -f ...`: the manifests' own verbs, with kubectl's word in front. */
export const MANIFEST_VERBS = ['apply', 'delete'];

/** Global flags that take a value and may come before kubectl's verb (`kubectl --context C0 apply`). */
const VALUE_FLAGS = new Set(['--context', '-n', '--namespace']);

/** Where kubectl's verb is in `args`: the first word that is neither a flag nor a flag's value. */
export function verbIndex(args: string[]): number {
  for (let i = 0; i < args.length; i++) {
    if (VALUE_FLAGS.has(args[i])) i++;
    else if (!args[i].startsWith('-')) return i;
  }
  return -1;
}

export function kubectlVerbs(ctx: VerbContext): Verb[] {
  const manifests = new Map(
    manifestVerbs(ctx.sim, ctx.io, () => clustersOf(ctx.sim)).map((v) => [v.names[0], v]),
  );
  return [
    {
      names: ['kubectl', 'k'],
      usage: 'kubectl [--context C] get|describe|exec|logs|apply|delete ...',
      help: 'kubectl-shaped views of a cluster, read from its etcd: get pods|svc|ep|netpol|nodes|ns [-n NS|-A] [-l k=v] [-o wide|yaml|json], describe pod|svc NAME, exec POD -- CMD, logs POD',
      run(args, rest) {
        const at = verbIndex(args);
        const forward = at >= 0 ? manifests.get(args[at]) : undefined;
        if (forward) return forward.run([...args.slice(0, at), ...args.slice(at + 1)], rest);
        return runKubectl(ctx.sim, args, ctx.io, (ns, argv) => ctx.stream(ns, argv));
      },
      complete(args) {
        if (args.length <= 1) return ['get', 'describe', 'exec', 'logs', ...MANIFEST_VERBS];
        if (args.length === 2 && (args[0] === 'get' || args[0] === 'describe'))
          return Object.values(RESOURCES).map((n) => n[0]);
        return [...ctx.sim.nodes.keys()];
      },
    },
  ];
}
