// Topology files and scenarios -> validated Model. YAML files, and TypeScript/JavaScript
// scenario modules whose default export builds a Topology.
import { existsSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Topology } from './builder.js';
import { TopologyError } from './errors.js';
import { type LoadOptions, topologyFormats } from './formats.js';
import { loadKinds } from './kinds/registry.js';
import { isLabUrl } from './lab-url.js';
import type { Model } from './model.js';

import { YamlSource } from './source.js';
import { builtinTopology, TOPO_HELP } from './topos.js';
import { validate } from './validate.js';

export type { LoadOptions };

/** What a scenario module may export. */
export interface ScenarioModule {
  /** builds the topology: a function of a fresh Topology, or a ready spec object */
  default?: ((t: Topology) => void | Promise<void>) | Record<string, unknown>;
  /** scenario name (default: the file name) */
  name?: string;
  /** a topology file to run instead of building one (e.g. a containerlab lab), absolute, or a
   *  lab's URL (see lab-url.ts) */
  topology?: string;
  /** with a repository URL as `topology`: the lab file in it */
  topologyFile?: string;
  /** runs after the network is up (prints example commands, starts workloads...) */
  ready?: (sim: unknown) => void | Promise<void>;
}

export interface Loaded {
  model: Model;
  file: string;
  scenario?: ScenarioModule;
  /** what an import adapted or left out (containerlab files), to show the user */
  notes?: string[];
}

const here = dirname(fileURLToPath(import.meta.url));
/** project root (dist/src/model -> ../../..) */
export const PROJECT_ROOT = resolve(here, '..', '..', '..');
const SCENARIO_EXT = ['.ts', '.mts', '.js', '.mjs'];
const YAML_EXT = ['.yml', '.yaml'];

/** A scenario name ("default"), a path to a scenario, or a path to a YAML topology. */
export function resolveTopologyArg(arg: string): string {
  if (existsSync(arg)) return resolve(arg);
  for (const ext of [...SCENARIO_EXT, ...YAML_EXT, ...topologyFormats().flatMap((f) => f.extensions)]) {
    const p = join(PROJECT_ROOT, 'scenarios', `${arg}${ext}`);
    if (existsSync(p)) return p;
  }
  throw new TopologyError([
    {
      path: [],
      message: `no such topology file or scenario: ${arg} (see netsim scenarios; built-in: ${TOPO_HELP})`,
      pos: { file: arg },
    },
  ]);
}

export async function loadTopology(arg: string, opts: LoadOptions = {}): Promise<Loaded> {
  if (isLabUrl(arg)) {
    const { file, refresh, ...rest } = opts;
    const { fetchLab } = await import('./remote.js'); // git: only for labs named by a URL
    const fetched = await fetchLab(arg, { file, refresh });
    const loaded = await loadTopology(fetched.file, rest);
    return { ...loaded, notes: [fetched.note, ...(loaded.notes ?? [])] };
  }
  if (opts.file !== undefined)
    throw new TopologyError([{ path: [], message: '--file is for labs named by a URL', pos: { file: arg } }]);
  const builtin = existsSync(arg) ? undefined : builtinTopology(arg);
  if (builtin) {
    const spec = builtin.toSpec();
    await loadKinds(kindsIn(spec));
    return { model: validate(spec, builtin.source, opts), file: arg };
  }
  const file = resolveTopologyArg(arg);
  const ext = extname(file);
  const format = topologyFormats().find((f) => f.claims(file));
  if (format) {
    await loadKinds();
    return { ...(await format.load(file, opts)), file };
  }
  if (YAML_EXT.includes(ext)) {
    const { source, value } = YamlSource.read(file);
    await loadKinds(kindsIn(value));
    return { model: validate(value, source, opts), file };
  }
  if (SCENARIO_EXT.includes(ext)) {
    const mod = await importScenario(file);
    if (mod.topology) {
      const file = isLabUrl(mod.topology) ? mod.topologyFile : undefined;
      return { ...(await loadTopology(mod.topology, { ...opts, file })), scenario: mod };
    }
    const t = new Topology(mod.name ?? basename(file, ext), file);
    let spec: unknown;
    if (typeof mod.default === 'function') {
      await mod.default(t);
      spec = t.toSpec();
    } else if (mod.default && typeof mod.default === 'object') {
      spec = mod.default;
    } else {
      throw new TopologyError([
        {
          path: [],
          message: 'a scenario must export default a function (t: Topology) => void',
          pos: { file },
        },
      ]);
    }
    await loadKinds();
    return { model: validate(spec, t.source, opts), file, scenario: mod };
  }
  throw new TopologyError([
    { path: [], message: `unknown topology file type "${ext}" (.yml, .yaml, .ts, .js)`, pos: { file } },
  ]);
}

/** The kind names a topology's nodes give (what validation needs loaded; the rest is its errors). */
function kindsIn(spec: unknown): string[] {
  const nodes = (spec as { nodes?: unknown } | null)?.nodes;
  if (!nodes || typeof nodes !== 'object') return [];
  return Object.values(nodes).flatMap((n) => {
    const kind = (n as { kind?: unknown } | null)?.kind;
    return typeof kind === 'string' ? [kind] : [];
  });
}

/** Project scenarios run from their compiled copy; other .ts files through tsx. */
async function importScenario(file: string): Promise<ScenarioModule> {
  const rel = relative(PROJECT_ROOT, file);
  if (!rel.startsWith('..') && /\.m?ts$/.test(file)) {
    const compiled = join(PROJECT_ROOT, 'dist', rel.replace(/\.m?ts$/, '.js'));
    if (existsSync(compiled)) return import(pathToFileURL(compiled).href) as Promise<ScenarioModule>;
  }
  if (/\.m?ts$/.test(file)) {
    const { tsImport } = await import('tsx/esm/api');
    const mod = (await tsImport(pathToFileURL(file).href, import.meta.url)) as ScenarioModule;
    // a .ts file outside any "type": "module" package loads as CommonJS: its exports arrive
    // wrapped in `default`
    const inner = mod.default as unknown as ScenarioModule | undefined;
    if (inner && typeof inner === 'object' && typeof inner.default === 'function') return inner;
    return mod;
  }
  return import(pathToFileURL(file).href) as Promise<ScenarioModule>;
}
