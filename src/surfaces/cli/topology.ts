// Verbs on topology files that build nothing: `validate`, `import` and `export` (containerlab),
// `scenarios`. They need no root.
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isLabUrl } from '../../model/lab-url.js';
import { loadTopology, PROJECT_ROOT } from '../../model/load.js';
import { fetchLab } from '../../model/remote.js';
import { ExitError } from './errors.js';

interface UrlOptions {
  ipMapping?: string;
  /** a lab named by URL: its file in the repository; fetch it again */
  file?: string;
  refresh?: boolean;
}

export async function cmdValidate(topology: string, opts: UrlOptions): Promise<void> {
  const { model, notes } = await loadTopology(topology, {
    ipMapping: opts.ipMapping,
    file: opts.file,
    refresh: opts.refresh,
  });
  for (const n of notes ?? []) console.log(`note: ${n}`);
  console.log(
    `${model.name}: ${model.nodes.size} nodes, ${model.links.length} links, ${model.segments.length} subnets: valid`,
  );
}

/** `netsim import lab.clab.yml`: the netsim topology it becomes, as YAML. */
export async function cmdImport(arg: string, opts: UrlOptions & { output?: string }): Promise<void> {
  let file = arg;
  if (isLabUrl(arg)) {
    const fetched = await fetchLab(arg, { file: opts.file, refresh: opts.refresh });
    process.stderr.write(`note: ${fetched.note}\n`);
    file = fetched.file;
  } else if (opts.file !== undefined) throw new ExitError('--file is for labs named by a URL');
  const { importClabFile, netsimYaml } = await import('../../features/clab/import.js');
  const imported = importClabFile(file, { ipMapping: opts.ipMapping });
  // validated like `up` would, so an import that prints is one that runs
  const { model } = await loadTopology(file, { ipMapping: opts.ipMapping });
  const out = opts.output ? resolve(opts.output) : undefined;
  const yaml = netsimYaml(imported.spec, out ? dirname(out) : undefined, file);
  if (out) writeFileSync(out, yaml);
  else process.stdout.write(yaml);
  for (const n of imported.notes) process.stderr.write(`note: ${n}\n`);
  process.stderr.write(
    `${model.name}: ${model.nodes.size} nodes, ${model.links.length} links${out ? ` -> ${out}` : ''}\n`,
  );
}

/** `netsim export --clab topology`: a containerlab file (and the FRR files it binds). */
export async function cmdExport(topology: string, opts: { clab?: boolean; output?: string }): Promise<void> {
  if (!opts.clab) throw new ExitError('give the format: netsim export --clab <topology> [-o lab.clab.yml]');
  const { model } = await loadTopology(topology);
  const out = resolve(opts.output ?? `${model.name}.clab.yml`);
  const { exportClab } = await import('../../features/clab/export.js');
  const res = exportClab(model, out, { write: true });
  writeFileSync(out, res.yaml);
  for (const n of res.notes) process.stderr.write(`note: ${n}\n`);
  process.stderr.write(`wrote ${out}${res.files.length ? ` and ${res.files.length} FRR files` : ''}\n`);
}

export function cmdScenarios(): void {
  const dir = `${PROJECT_ROOT}/scenarios`;
  for (const f of readdirSync(dir).sort()) {
    const m = /^(.+?)\.(ts|ya?ml)$/.exec(f);
    if (m) console.log(`${m[1].padEnd(20)} scenarios/${f}`);
  }
}
