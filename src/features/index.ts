// The features netsim is built with: one line each. A feature brings its node kinds, REPL
// verbs, metrics and the rest through one Plugin (src/runtime/plugin.ts); adding one is a
// folder plus a line here.
import { MODEL_KINDS } from '../model/kinds/builtin.js';
import { registerKind } from '../model/kinds/registry.js';
import { registerPlugin } from '../runtime/plugin.js';
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

/** Registers the built-in features (idempotent): entry points call it before loading a topology. */
export function registerBuiltins(): void {
  for (const k of MODEL_KINDS) registerKind(k);
  for (const p of BUILTIN_PLUGINS) registerPlugin(p);
}
