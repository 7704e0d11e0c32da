// The kinds registry: the engine looks kinds up by name and knows nothing else about them.
// Every kind is registered by the one entry that assembles netsim (src/features/index.ts):
// the model's own (host, switch: MODEL_KINDS) and the features', so this layer imports none.
// A feature's kinds may be registered by name first, their descriptors loaded when a topology
// uses one of them (loadKinds, before validation: the CLI's `validate` and `up`).
import type { NodeKind } from './kind.js';

/** kinds by name in registration order; a group's loader until its descriptors are loaded */
const kinds = new Map<string, NodeKind | { load: () => Promise<void> }>();

const loaded = (k: NodeKind | { load: () => Promise<void> } | undefined): k is NodeKind =>
  k !== undefined && 'name' in k;

export function registerKind(kind: NodeKind): void {
  kinds.set(kind.name, kind);
}

/** Kinds known by name whose descriptors one loader brings (a feature's; idempotent). */
export function registerLazyKinds(names: readonly string[], load: () => Promise<readonly NodeKind[]>): void {
  if (names.some((n) => kinds.has(n))) return;
  let loading: Promise<void> | undefined;
  const entry = {
    load: () => {
      loading ??= load().then((ks) => {
        for (const k of ks) if (!loaded(kinds.get(k.name))) registerKind(k);
      });
      return loading;
    },
  };
  for (const n of names) kinds.set(n, entry);
}

/** Loads the descriptors of these kinds (default: every kind) where they are not loaded yet. */
export async function loadKinds(names?: Iterable<string>): Promise<void> {
  const want = names ? [...new Set(names)].map((n) => kinds.get(n)) : [...kinds.values()];
  await Promise.all([...new Set(want)].map((k) => (k && !loaded(k) ? k.load() : undefined)));
}

export function kindOf(name: string): NodeKind;
export function kindOf(name: string, required: false): NodeKind | undefined;
export function kindOf(name: string, required = true): NodeKind | undefined {
  const k = kinds.get(name);
  if (k && !loaded(k))
    throw new Error(`node kind "${name}" is used before its feature was loaded (loadKinds)`);
  if (!k && required) throw new Error(`unknown node kind "${name}"`);
  return k;
}

export function kindNames(): string[] {
  return [...kinds.keys()];
}
