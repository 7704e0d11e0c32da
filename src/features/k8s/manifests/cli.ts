// `netsim apply -f FILE|DIR` and `netsim delete -f FILE|DIR` from any shell: the files are read
// here (paths relative to this shell) and applied by the running simulation's process, through
// its control channel; located errors come back as issues (exit 2, like a bad topology).
import { existsSync } from 'node:fs';
import { type Issue, TopologyError } from '../../../model/errors.js';
import { controlRequest, controlSocket } from '../../../runtime/control.js';
import type { Simulation } from '../../../runtime/simulation.js';
import { pickRunning } from '../../../runtime/state.js';
import { clustersOf } from '../cluster.js';
import { formatApply } from './apply.js';
import { type ManifestText, readManifestFiles } from './input.js';
import { runManifests } from './verbs.js';

/** The control request `manifests` in the simulation's process. */
export async function manifestControl(
  sim: Simulation,
  req: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const op = req.verb === 'delete' ? 'delete' : 'apply';
  const texts = (Array.isArray(req.files) ? req.files : []) as ManifestText[];
  try {
    const r = await runManifests(
      clustersOf(sim),
      op,
      texts,
      typeof req.context === 'string' ? req.context : undefined,
    );
    return { text: formatApply(r) };
  } catch (err) {
    if (err instanceof TopologyError) return { issues: err.issues };
    throw err;
  }
}

export async function cmdManifests(
  verb: 'apply' | 'delete',
  opts: { filename: string[]; sim?: string; context?: string },
): Promise<void> {
  if (!opts.filename?.length) throw new Error(`netsim ${verb}: give the manifests with -f FILE|DIR`);
  const files = opts.filename.flatMap((f) => readManifestFiles(f));
  const state = pickRunning(opts.sim);
  if (!existsSync(controlSocket(state.name)))
    throw new Error(`simulation "${state.name}" has no control channel: use ${verb} -f in its REPL`);
  const r = await controlRequest(state.name, { op: 'manifests', verb, files, context: opts.context }, 300000);
  if (Array.isArray(r.issues)) throw new TopologyError(r.issues as Issue[]);
  process.stdout.write(String(r.text));
}
