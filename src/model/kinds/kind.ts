// One interface for every node kind (host, switch, router, ... later worker, pod, etcd),
// in the spirit of containerlab's kinds registry: the engine knows nothing kind-specific.
import type { z } from 'zod';
import type { Plan } from '../../plan/plan.js';
import type { SimNode } from '../../runtime/node.js';
import type { Simulation } from '../../runtime/simulation.js';
import type { IssueSink, Path } from '../errors.js';
import type { Model, NodeModel } from '../model.js';

export interface NodeKind {
  readonly name: string;
  readonly description: string;
  /** bridges join the L2 segments of their links; they carry no addresses */
  readonly bridging: boolean;
  /** routes packets between its interfaces (hosts on its subnets use it as default gateway) */
  readonly forwards?: boolean;
  /** part of pingall / check */
  readonly pingable: boolean;
  /** zod schema of the node's fields (strict: unknown keys are errors) */
  readonly schema: z.ZodType<Record<string, unknown>>;
  /**
   * A node that stands for several (a cluster): replaced, before validation, by the nodes and
   * links it returns (src/model/expand.ts). `spec` has passed the schema.
   */
  expand?(
    name: string,
    spec: Record<string, unknown>,
    ctx: {
      nodes: Record<string, Record<string, unknown>>;
      issue(path: Path, message: string): void;
      /** claims a name the node makes besides its nodes (a pod); returns who already has it */
      claim(name: string, owner: string): string | undefined;
    },
  ): { nodes: Record<string, Record<string, unknown>>; links: { endpoints: [string, string] }[] };
  /** semantic checks that need the whole model (addresses allocated) */
  validate?(node: NodeModel, model: Model, issues: IssueSink): void;
  /** kernel configuration of the node's own namespace */
  plan(node: NodeModel, model: Model, plan: Plan): void;
  /** the live object for the REPL and API */
  createRuntime?(node: NodeModel, sim: Simulation): SimNode;
  /** processes started after every link is up (daemons) */
  start?(node: SimNode, sim: Simulation): Promise<void>;
  /** stops what start() started (processes are also stopped by PID at teardown) */
  stop?(node: SimNode, sim: Simulation): Promise<void>;
}
