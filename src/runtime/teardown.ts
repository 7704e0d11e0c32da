// Removal of everything a simulation made, driven by its ledger (so it works the same for
// a clean `down` and for the leftovers of a run killed with -9), and nothing else.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Kernel } from '../kernel/kernel.js';
import { Ledger } from '../kernel/ledger.js';
import { releaseNeighThresholds } from '../kernel/neigh.js';
import { deleteNetworkNamespaces } from '../kernel/netns.js';
import { deleteNftTables, leftoverNftTables } from '../kernel/nft-tables.js';
import { removeNodeNamespaces } from '../kernel/nodens.js';
import {
  isAlive,
  ownerTag,
  processesOfOwner,
  isRunning as processRunning,
  stopProcess,
} from '../kernel/proc.js';
import { waitFor } from '../util/wait.js';
import { runDir, simDir } from './paths.js';
import { isRunning, readState } from './state.js';

export interface TeardownReport {
  namespaces: string[];
  processes: number[];
  files: string[];
}

export async function teardownSim(sim: string): Promise<TeardownReport> {
  const dir = simDir(sim);
  // an owner killed with -9 leaves its tools running (an `ip -batch` still adding namespaces,
  // possibly one the ledger lists but /run/netns does not show yet): stop them first, so
  // nothing is created after we have looked
  const state = readState(sim);
  if (state && !processRunning(state.pid, state.pidStart))
    await killAll(processesOfOwner(ownerTag(state.pid, state.pidStart)));
  const entries = new Ledger(join(dir, 'ledger.jsonl')).read();
  const namespaces = new Set<string>();
  const procs: { pid: number; start?: string }[] = [];
  const files: string[] = [];
  for (const e of entries) {
    if (e.t === 'netns') namespaces.add(e.name);
    else if (e.t === 'proc') procs.push({ pid: e.pid, start: e.start || undefined });
    else if (e.t === 'file') files.push(e.path);
  }
  // also any process still inside one of our namespaces (e.g. started from the REPL with &)
  const present = new Set(Kernel.listNamespaces().filter((n) => namespaces.has(n)));
  for (const pid of Kernel.processesInNamespaces(present)) {
    if (pid !== process.pid && !procs.some((p) => p.pid === pid)) procs.push({ pid });
  }
  const live = procs.filter((p) => isAlive(p.pid, p.start));
  await Promise.all(live.map((p) => stopProcess(p.pid, p.start)));
  // tables a tracer killed mid-probe left: removed explicitly, like every other ledger entry,
  // rather than trusting that their namespace goes (namespace deletion tolerates failures)
  for (const { table, namespaces: where } of leftoverNftTables(entries))
    await deleteNftTables(
      undefined,
      where.filter((n) => present.has(n)),
      table,
    );
  // every recorded node's UTS/mount namespace files (also of a network namespace already
  // gone) and the network namespaces: independent of each other, so side by side
  await Promise.all([removeNodeNamespaces([...namespaces]), deleteNetworkNamespaces([...present])]);
  for (const f of files) rmSync(f, { force: true, recursive: true });
  releaseNeighThresholds(runDir(), sim, (other) => other !== sim && isRunning(readState(other)));
  rmSync(dir, { recursive: true, force: true });
  return { namespaces: [...present], processes: live.map((p) => p.pid), files };
}

async function killAll(pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  // a process that outlives SIGKILL (stuck in the kernel) must not stop the teardown
  await waitFor(() => !pids.some((p) => processRunning(p)), { timeoutMs: 2000, intervalMs: 10 }).catch(
    () => undefined,
  );
}
