// The kinds registry: the engine looks kinds up by name and knows nothing else about them.
// Every kind is registered by the one entry that assembles netsim (src/features/index.ts):
// the model's own (host, switch: MODEL_KINDS) and the features', so this layer imports none.
import type { NodeKind } from './kind.js';

const kinds = new Map<string, NodeKind>();

export function registerKind(kind: NodeKind): void {
  kinds.set(kind.name, kind);
}

export function kindOf(name: string): NodeKind;
export function kindOf(name: string, required: false): NodeKind | undefined;
export function kindOf(name: string, required = true): NodeKind | undefined {
  const k = kinds.get(name);
  if (!k && required) throw new Error(`unknown node kind "${name}"`);
  return k;
}

export function kindNames(): string[] {
  return [...kinds.keys()];
}
