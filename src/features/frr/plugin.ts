// FRR as a feature: the router kind and its daemons, the fault-injection verbs, waiting for
// routing to settle after a link changes, and `sim.waitConverged()` for scripts and tests.
import type { Plugin } from '../../runtime/plugin.js';
import { Simulation } from '../../runtime/simulation.js';
import { type ConvergeOptions, type ConvergeReport, waitConverged } from './converge.js';
import { checkFrrExpectation, settleRouting } from './expect.js';
import { routerKind } from './kind.js';
import { frrMetrics, frrNeighbors } from './metrics.js';
import { RouterNode } from './node.js';
import { frrVerbs, hasFrrRouters, reportConvergence } from './verbs.js';

declare module '../../runtime/simulation.js' {
  interface Simulation {
    /**
     * Waits until routing has settled: OSPF adjacencies Full and BGP sessions Established as
     * configured, routing tables unchanged (converge.ts); throws what is missing on timeout.
     */
    waitConverged(opts?: ConvergeOptions): Promise<ConvergeReport>;
  }
}

export const frrPlugin: Plugin = {
  name: 'frr',
  kinds: [
    {
      kind: routerKind,
      runtime: {
        createRuntime: (node, sim) => new RouterNode(sim, node),
        start: (node, sim) => (node as RouterNode).startFrr(sim),
        stop: async (node) => {
          await (node as RouterNode).stopDaemons();
        },
      },
    },
  ],
  verbs: ({ sim, io }) => frrVerbs(sim, io),
  afterLinkChange: async (sim, io, t0) => (hasFrrRouters(sim) ? reportConvergence(sim, io, t0) : undefined),
  metrics: frrMetrics,
  settle: settleRouting,
  checkExpectation: checkFrrExpectation,
  async nodeDetails(_sim, node) {
    if (!(node instanceof RouterNode) || !node.frr) return undefined;
    return { frr: await frrNeighbors(node).catch(() => []) };
  },
  install() {
    Simulation.prototype.waitConverged = function (this: Simulation, opts?: ConvergeOptions) {
      return waitConverged(this, opts);
    };
  },
};
