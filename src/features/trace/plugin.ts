// Trace as a feature: `trace src dst [port]` in the REPL (a real probe, explained hop by hop).
import type { Plugin } from '../../runtime/plugin.js';
import { traceVerbs } from './verbs.js';

export const tracePlugin: Plugin = {
  name: 'trace',
  verbs: ({ sim, io }) => traceVerbs(sim, io),
};
