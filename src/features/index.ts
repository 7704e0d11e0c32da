// The features netsim is built with: one line each. A feature brings its node kinds, REPL
// verbs, metrics and the rest through one Plugin (src/runtime/plugin.ts); adding one is a
// folder, a line here and its descriptor in builtin-kinds.ts (what the CLI loads first).
import { registerPlugin } from '../runtime/plugin.js';
import { registerBuiltinDescriptors } from './builtin-kinds.js';
import { clabPlugin } from './clab/plugin.js';
import { frrPlugin } from './frr/plugin.js';
import { k8sPlugin } from './k8s/plugin.js';
import { multiclusterPlugin } from './multicluster/plugin.js';
import { tracePlugin } from './trace/plugin.js';
import { workloadPlugin } from './workload/plugin.js';

export const BUILTIN_PLUGINS = [
  frrPlugin,
  k8sPlugin,
  multiclusterPlugin,
  tracePlugin,
  workloadPlugin,
  clabPlugin,
];

/**
 * Registers the built-in features with their code loaded (idempotent): entry points call it
 * before loading a topology. The CLI registers them unloaded instead (builtin-kinds.ts).
 */
export function registerBuiltins(): void {
  registerBuiltinDescriptors();
  for (const p of BUILTIN_PLUGINS) registerPlugin(p);
}
