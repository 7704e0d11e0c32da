// Public API for scenarios and programs that embed netsim.

export { Topology } from './model/builder.js';
export { TopologyError } from './model/errors.js';
export { kindOf, registerKind } from './model/kinds/registry.js';
export { loadTopology } from './model/load.js';
export type { Model, NodeModel } from './model/model.js';
export { YamlSource } from './model/source.js';
export { validate } from './model/validate.js';
export { SimNode } from './runtime/node.js';
export { Simulation } from './runtime/simulation.js';
