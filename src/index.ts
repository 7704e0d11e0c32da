// Public API for scenarios and programs that embed netsim.
export { Topology } from './model/builder.js';
export type { Model, NodeModel } from './model/model.js';
export { loadTopology } from './model/load.js';
export { validate } from './model/validate.js';
export { YamlSource } from './model/source.js';
export { TopologyError } from './model/errors.js';
export { Simulation } from './runtime/simulation.js';
export { SimNode } from './runtime/node.js';
export { registerKind, kindOf } from './kinds/registry.js';
