// Public API for scenarios and programs that embed netsim. Importing it registers the
// built-in features (FRR routers, clusters, multi-cluster, trace, workloads), as the CLI does.
import { registerBuiltins } from './features/index.js';

registerBuiltins();

export { registerBuiltins } from './features/index.js';
export { Topology } from './model/builder.js';
export { TopologyError } from './model/errors.js';
export { kindOf, registerKind } from './model/kinds/registry.js';
export { loadTopology } from './model/load.js';
export type { Model, NodeModel } from './model/model.js';
export { YamlSource } from './model/source.js';
export { validate } from './model/validate.js';
export { SimNode } from './runtime/node.js';
export type { KindRuntime, Plugin } from './runtime/plugin.js';
export { registerPlugin } from './runtime/plugin.js';
export { Simulation } from './runtime/simulation.js';
