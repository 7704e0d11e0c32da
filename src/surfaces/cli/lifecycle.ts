// `netsim ls`, `down` and `clean`: the simulations on this host, seen through their state
// directories, and their removal (by their owner when it still runs, from the ledger otherwise).
// `down` of a running simulation only signals its owner and waits: the kernel and teardown
// modules load only when a ledger has to be replayed here.
import { existsSync } from 'node:fs';
import { isRunning as processRunning } from '../../kernel/proc.js';
import { simDir } from '../../runtime/paths.js';
import { isRunning, listSimDirs, pickRunning, readState, type SimState } from '../../runtime/state.js';
import { waitFor } from '../../util/wait.js';
import { ExitError, requireRoot } from './errors.js';

/** The owner has exited and its teardown has removed the state directory. */
async function waitGone(state: SimState, ms: number): Promise<boolean> {
  return waitFor(() => !processRunning(state.pid, state.pidStart) && !existsSync(simDir(state.name)), {
    timeoutMs: ms,
    intervalMs: 5, // a read of /proc/PID/stat and a stat: the wait adds at most this to `down`
  }).then(
    () => true,
    () => false,
  );
}

function notFound(name: string): never {
  throw new ExitError(`no simulation named "${name}" (see netsim ls)`);
}

export async function cmdDown(name: string | undefined, opts: { all?: boolean }): Promise<void> {
  requireRoot();
  const targets = opts.all
    ? listSimDirs()
        .map(readState)
        .filter((s): s is SimState => s !== undefined)
    : [name ? (readState(name) ?? notFound(name)) : pickRunning()];
  for (const s of targets) {
    if (isRunning(s)) {
      process.kill(s.pid, 'SIGTERM');
      if (await waitGone(s, 30000)) {
        console.log(`stopped ${s.name}`);
        continue;
      }
      console.error(`${s.name}: its process ${s.pid} did not finish teardown in 30 s; cleaning up`);
    }
    await (await import('../../runtime/teardown.js')).teardownSim(s.name);
    console.log(`removed ${s.name}`);
  }
}

export async function cmdClean(name: string | undefined, opts: { all?: boolean }): Promise<void> {
  requireRoot();
  const { teardownSim } = await import('../../runtime/teardown.js');
  const names = name ? [name] : listSimDirs();
  let removed = 0;
  for (const n of names) {
    const s = readState(n);
    if (s && isRunning(s)) {
      if (!opts.all && !name) continue;
      process.kill(s.pid, 'SIGKILL'); // its own teardown would race with ours
      await waitFor(() => !processRunning(s.pid, s.pidStart), { timeoutMs: 2000, intervalMs: 10 }).catch(
        () => undefined, // the teardown below copes with a process that lingers
      );
    }
    const rep = await teardownSim(n);
    removed++;
    console.log(`cleaned ${n}: ${rep.namespaces.length} namespaces, ${rep.processes.length} processes`);
  }
  if (opts.all) {
    const { Kernel } = await import('../../kernel/kernel.js');
    // namespaces with our prefix that no ledger claims (e.g. a feature probe killed midway)
    const claimed = new Set(
      listSimDirs()
        .map(readState)
        .filter((s) => isRunning(s))
        .flatMap((s) => s!.nodes.map((x) => x.ns)),
    );
    // (and UTS/mount namespace files whose network namespace is already gone)
    const orphans = [...new Set([...Kernel.listNamespaces(), ...Kernel.listNodeNamespaces()])].filter(
      (n) => n.startsWith('netsim-') && !claimed.has(n),
    );
    if (orphans.length) {
      await Kernel.removeUnrecordedNamespaces(orphans);
      console.log(`removed ${orphans.length} orphan netsim namespaces`);
    }
  }
  if (removed === 0 && !opts.all) console.log('nothing to clean');
}

export function cmdLs(opts: { json?: boolean }): void {
  const rows = listSimDirs().map((n) => {
    const s = readState(n);
    return {
      name: n,
      status: s ? (isRunning(s) ? s.status : 'crashed (run netsim clean)') : 'unknown',
      pid: s?.pid,
      nodes: s?.nodes.length ?? 0,
      source: s?.source ?? '',
    };
  });
  if (opts.json) return void process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
  if (rows.length === 0) return void console.log('no simulations');
  for (const r of rows)
    console.log(
      `${r.name.padEnd(16)} ${r.status.padEnd(10)} pid ${String(r.pid ?? '-').padEnd(8)} ${String(r.nodes).padStart(4)} nodes  ${r.source}`,
    );
}
