// `apply -f FILE|DIR [--context C]` and `delete -f FILE|DIR` in the REPL, and the same requests
// from other shells (`netsim apply -f ...`) answered by the simulation's process: one code path.
// (A `kubectl` verb may forward `kubectl apply/delete ...` here.)
import { formatIssue, TopologyError } from '../../../model/errors.js';
import type { Io, Verb } from '../../../runtime/plugin.js';
import type { Simulation } from '../../../runtime/simulation.js';
import {
  type ApplyResult,
  applyManifests,
  deleteManifests,
  formatApply,
  type ManifestCluster,
} from './apply.js';
import { type ManifestText, parseManifestTexts, readManifestFiles } from './input.js';

export interface ManifestArgs {
  files: string[];
  context?: string;
}

export function parseManifestArgs(verb: string, args: string[]): ManifestArgs {
  const out: ManifestArgs = { files: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${verb}: ${a} needs a value`);
      return v;
    };
    if (a === '-f' || a === '--filename') out.files.push(value());
    else if (a.startsWith('--filename=')) out.files.push(a.slice(11));
    else if (a === '--context' || a === '--cluster') out.context = value();
    else if (a.startsWith('--context=')) out.context = a.slice(10);
    else throw new Error(`${verb}: unexpected "${a}" (usage: ${verb} -f FILE|DIR [--context CLUSTER])`);
  }
  if (out.files.length === 0) throw new Error(`${verb}: give the manifests with -f FILE|DIR`);
  return out;
}

/** The cluster named by --context, or the only one. */
export function manifestTarget(clusters: ManifestCluster[], context: string | undefined): ManifestCluster {
  if (context) {
    const c = clusters.find((x) => x.name === context);
    if (!c)
      throw new Error(
        `no cluster "${context}" (clusters: ${clusters.map((x) => x.name).join(', ') || 'none'})`,
      );
    return c;
  }
  if (clusters.length === 1) return clusters[0];
  throw new Error(
    clusters.length === 0
      ? 'this simulation has no cluster'
      : `several clusters (${clusters.map((x) => x.name).join(', ')}): say which with --context`,
  );
}

/** Applies (or deletes) manifest texts in a cluster of the simulation. */
export function runManifests(
  clusters: ManifestCluster[],
  op: 'apply' | 'delete',
  texts: ManifestText[],
  context: string | undefined,
): Promise<ApplyResult> {
  const c = manifestTarget(clusters, context);
  const docs = parseManifestTexts(texts);
  return op === 'apply' ? applyManifests(c, docs) : deleteManifests(c, docs);
}

/** Located errors one per line; exit status 2 as for a bad topology. */
export function reportManifestError(io: Io, err: unknown): number {
  if (err instanceof TopologyError) {
    for (const i of err.issues) io.err(`error: ${formatIssue(i)}\n`);
    return 2;
  }
  io.err(`error: ${(err as Error).message}\n`);
  return 1;
}

export function manifestVerbs(_sim: Simulation, io: Io, clusters: () => ManifestCluster[]): Verb[] {
  const verb = (op: 'apply' | 'delete', help: string): Verb => ({
    names: [op],
    usage: `${op} -f FILE|DIR [--context CLUSTER]`,
    help,
    async run(args) {
      try {
        const a = parseManifestArgs(op, args);
        const texts = a.files.flatMap((f) => readManifestFiles(f));
        io.out(formatApply(await runManifests(clusters(), op, texts, a.context)));
        return 0;
      } catch (err) {
        return reportManifestError(io, err);
      }
    },
  });
  return [
    verb(
      'apply',
      'Kubernetes manifests (Pod, Service, NetworkPolicy) into a cluster; unchanged objects stay',
    ),
    verb('delete', 'remove the objects that Kubernetes manifests name from a cluster'),
  ];
}
