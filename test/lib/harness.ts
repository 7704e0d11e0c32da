// Test helpers: build simulations from YAML text or the builder with a unique name, and
// always tear them down (also when an assertion fails or the test times out).
import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import { Kernel } from '../../src/kernel/kernel.js';
import { Topology } from '../../src/model/builder.js';
import type { Model } from '../../src/model/model.js';
import { YamlSource } from '../../src/model/source.js';
import { validate } from '../../src/model/validate.js';
import { Simulation } from '../../src/runtime/simulation.js';

export const isRoot = process.getuid?.() === 0;

/** A simulation name unique to this test run: t<random>. */
export function uniqueName(prefix = 't'): string {
  return `${prefix}${randomBytes(3).toString('hex')}`;
}

export function modelFromYaml(text: string, simName = uniqueName()): Model {
  const { source, value } = YamlSource.parse('test.yml', text);
  return validate(value, source, { simName });
}

export function modelFromBuilder(build: (t: Topology) => void, simName = uniqueName()): Model {
  const t = new Topology(simName, 'test');
  build(t);
  return validate(t.toSpec(), t.source, { simName });
}

/** Brings a simulation up and registers its teardown on the test. */
export async function up(t: Test, model: Model): Promise<Simulation> {
  const sim = await Simulation.up(model, {
    log: process.env.NETSIM_TEST_LOG ? (l) => t.comment(l) : undefined,
  });
  t.teardown(() => sim.down());
  return sim;
}

/** Namespaces whose name starts with netsim-<sim>- (for leak assertions). */
export function namespacesOf(sim: string): string[] {
  return Kernel.listNamespaces().filter((n) => n.startsWith(`netsim-${sim}-`));
}

/** Skips the whole file with a printed reason unless running as root. */
export function requireRoot(t: Test): boolean {
  if (!isRoot) {
    t.plan(0, 'integration tests need root (network namespaces)');
    return false;
  }
  return true;
}
