// What features keep per simulation, typed: named live objects the REPL and scripts see (a
// cluster as `C0`), and one state object per feature (its peerings, sites, workloads). Keeping
// them on the Simulation, not in module-level maps, means a simulation's state goes with it.

/** A typed slot; features export their keys (`export const CLUSTERS = new ObjectKey<Cluster>('cluster')`). */
export class ObjectKey<T> {
  /** never set: it only carries the type */
  declare readonly __type?: T;
  constructor(readonly name: string) {}
}

export class SimObjects {
  private readonly named = new Map<string, { key: ObjectKey<unknown>; value: unknown }>();
  private readonly states = new Map<ObjectKey<unknown>, unknown>();

  /** A named object (a cluster), visible by that name in the REPL's JavaScript scope. */
  set<T>(key: ObjectKey<T>, name: string, value: T): void {
    const had = this.named.get(name);
    if (had && had.key !== key) throw new Error(`"${name}" is already a ${had.key.name}`);
    this.named.set(name, { key, value });
  }

  get<T>(key: ObjectKey<T>, name: string): T | undefined;
  /** any named object, as scripts reach it by name (`sim.objects.get('C0')`) */
  get(name: string): unknown;
  get<T>(keyOrName: ObjectKey<T> | string, name?: string): T | unknown {
    if (typeof keyOrName === 'string') return this.named.get(keyOrName)?.value;
    const e = this.named.get(name!);
    return e && e.key === keyOrName ? (e.value as T) : undefined;
  }

  all<T>(key: ObjectKey<T>): T[] {
    return [...this.named.values()].filter((e) => e.key === key).map((e) => e.value as T);
  }

  delete(name: string): void {
    this.named.delete(name);
  }

  /** Every named object, for the REPL's scope. */
  entries(): [string, unknown][] {
    return [...this.named].map(([name, e]) => [name, e.value]);
  }

  /** The feature's state for this simulation, made on first use. */
  state<T>(key: ObjectKey<T>, make: () => T): T {
    if (!this.states.has(key)) this.states.set(key, make());
    return this.states.get(key) as T;
  }

  /** The feature's state if it was ever made. */
  peek<T>(key: ObjectKey<T>): T | undefined {
    return this.states.get(key) as T | undefined;
  }
}
