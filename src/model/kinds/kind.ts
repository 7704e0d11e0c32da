// The static description of a node kind, in the spirit of containerlab's kinds registry: its
// schema, how it expands, validates and plans. The engine knows nothing kind-specific. What a
// kind does while a simulation runs (its live object, daemons) is registered separately by the
// feature that owns it (src/runtime/plugin.ts), so this layer never imports the runtime.
import type { z } from 'zod';
import type { Features } from '../../kernel/features.js';
import type { NsScript } from '../../kernel/kernel.js';
import type { IssueSink, Path } from '../errors.js';
import type { Model, NodeModel } from '../model.js';

/** Where a kind writes its kernel configuration: one script per namespace (src/plan). */
export interface PlanSink {
  script(ns: string): NsScript;
  /** what this kernel can do (undefined when planning without a kernel, e.g. in tests) */
  readonly features?: Features;
}

export interface ExpandContext {
  nodes: Record<string, Record<string, unknown>>;
  /** addressing.family as the topology writes it */
  family?: 'ipv4' | 'ipv6' | 'dual';
  issue(path: Path, message: string): void;
  /** claims a name the node makes besides its nodes (a pod); returns who already has it */
  claim(name: string, owner: string): string | undefined;
}

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
    ctx: ExpandContext,
  ): {
    nodes: Record<string, Record<string, unknown>>;
    links: { endpoints: [string, string] }[];
    /** what it makes carries IPv6 (a dual-stack cluster): a topology that does not give its family becomes dual */
    needsIpv6?: boolean;
  };
  /** semantic checks that need the whole model (addresses allocated) */
  validate?(node: NodeModel, model: Model, issues: IssueSink): void;
  /** kernel configuration of the node's own namespace */
  plan(node: NodeModel, model: Model, plan: PlanSink): void;
}
