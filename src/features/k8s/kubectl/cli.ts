// `netsim kubectl [--sim S] [--context C] ...` from any shell: the running simulation's own
// process answers through its control channel, with the REPL's output and exit status; an exec
// it has checked runs here, in the pod's network namespace, attached to this terminal.
import { existsSync } from 'node:fs';
import { spawnInSync } from '../../../kernel/enter.js';
import { controlRequest, controlSocket } from '../../../runtime/control.js';
import { pickRunning } from '../../../runtime/state.js';
import { cmdManifests } from '../manifests/cli.js';
import { parseManifestArgs } from '../manifests/verbs.js';

/** Takes --sim out of the arguments (the rest are kubectl's). */
function takeSim(argv: string[]): { sim?: string; rest: string[] } {
  const rest: string[] = [];
  let sim: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === '--sim') sim = argv[++i];
    else if (a.startsWith('--sim=')) sim = a.slice(6);
    else rest.push(a);
  }
  return { sim, rest };
}

export async function cmdKubectl(argv: string[]): Promise<void> {
  const { sim, rest } = takeSim(argv);
  // `netsim kubectl apply|delete -f FILE`: the files are read here, as `netsim apply` does
  if (rest[0] === 'apply' || rest[0] === 'delete') {
    const a = parseManifestArgs(rest[0], rest.slice(1));
    return cmdManifests(rest[0], { filename: a.files, sim, context: a.context });
  }
  const state = pickRunning(sim);
  if (!existsSync(controlSocket(state.name)))
    throw new Error(`simulation "${state.name}" has no control channel: use kubectl from its REPL`);
  const r = await controlRequest(state.name, { op: 'kubectl', args: rest }, 60000);
  process.stdout.write(String(r.out ?? ''));
  process.stderr.write(String(r.err ?? ''));
  const exec = r.exec as { ns: string; argv: string[] } | undefined;
  if (exec) {
    const res = spawnInSync(exec.ns, exec.argv, { stdio: 'inherit' });
    if (res.error) throw new Error(res.error.message);
    process.exitCode = res.status ?? 1;
    return;
  }
  process.exitCode = Number(r.code ?? 1);
}
