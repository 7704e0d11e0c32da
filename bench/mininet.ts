// Mininet 2.3 (Debian's package) as the reference, fenced in so it cannot touch the host:
// - its own network namespace `netsim-bench-mn` (its switches and the switch ends of its veths
//   land there; its hosts get unnamed namespaces of their own);
// - its own PID namespace, so its cleanup code (`killall ping ...`, `pkill -f mininet:`) sees
//   only its own processes, "netns 1" means mn itself, and when mn exits the kernel kills
//   whatever it left behind, which frees the hosts' namespaces;
// - its own mount namespace with a private /tmp (its cleanup removes /tmp/*.log).
// We never run `mn -c`: even fenced, nothing of Mininet's is left that it would remove.
import { existsSync } from 'node:fs';
import { Kernel } from '../src/kernel/kernel.js';
import { holdNeighThresholds, releaseNeighThresholds } from '../src/kernel/neigh.js';
import { runDir } from '../src/runtime/paths.js';
import { isRunning, readState } from '../src/runtime/state.js';
import { mustRun, runProc, timed } from './measure.js';

export const MININET_NS = 'netsim-bench-mn';
const NEIGH_HOLDER = 'bench-mininet';

/**
 * Host-wide settings Mininet's fixLimits() may raise; checked before and after each run. The
 * neighbour table limits are not here: they are held raised for the run the way netsim holds them.
 */
const HOST_SYSCTLS = [
  'fs.file-max',
  'kernel.pty.max',
  'net.core.netdev_max_backlog',
  'net.core.rmem_max',
  'net.core.wmem_max',
  'net.ipv4.route.max_size',
];

async function has(cmd: string): Promise<boolean> {
  return (await runProc(['sh', '-c', `command -v ${cmd}`])).code === 0;
}

/** Installs Debian's mininet (and bridge-utils, which its lxbr switch needs) when missing. */
export async function ensureMininet(log: (l: string) => void): Promise<string | undefined> {
  const missing: string[] = [];
  if (!(await has('mn'))) missing.push('mininet');
  if (!(await has('brctl'))) missing.push('bridge-utils');
  if (missing.length) {
    log(`installing ${missing.join(' ')} (apt-get)`);
    const r = await runProc(['apt-get', 'install', '-y', '--no-install-recommends', ...missing], undefined);
    if (r.code !== 0) {
      const upd = await runProc(['apt-get', 'update']);
      const again =
        upd.code === 0
          ? await runProc(['apt-get', 'install', '-y', '--no-install-recommends', ...missing])
          : upd;
      if (again.code !== 0)
        return `could not install ${missing.join(' ')}: ${again.stderr.trim().slice(-300)}`;
    }
  }
  return undefined;
}

async function readSysctls(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const k of HOST_SYSCTLS) {
    const r = await runProc(['sysctl', '-n', k]);
    if (r.code === 0) out[k] = r.stdout.trim();
  }
  return out;
}

async function deleteMininetNamespace(): Promise<void> {
  if (!existsSync(`/run/netns/${MININET_NS}`)) return;
  const stray = Kernel.processesInNamespaces(new Set([MININET_NS]));
  for (const pid of stray) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await runProc(['ip', 'netns', 'del', MININET_NS]);
}

export interface MininetRun {
  seconds: number;
  /** Mininet's own "completed in" figure */
  reported?: number;
  /** interfaces left in the fenced namespace after mn exited (Mininet's own cleanup) */
  leftoverLinks: string[];
  /** host settings Mininet changed (restored by us) */
  changedSysctls: string[];
}

/** `mn --topo <topo>` with Linux bridges and no controller: build, no test, stop. */
export async function runMininet(topo: string): Promise<MininetRun> {
  await deleteMininetNamespace(); // leftovers of an interrupted run
  await mustRun(['ip', 'netns', 'add', MININET_NS]);
  // with the neighbour limits already raised (as netsim holds them) Mininet leaves them alone
  holdNeighThresholds(runDir(), NEIGH_HOLDER);
  const before = await readSysctls();
  try {
    const mn = `mn --switch lxbr,stp=0 --controller none --test none --topo ${topo}`;
    let res = { code: 0, stdout: '', stderr: '' };
    const seconds = await timed(async () => {
      res = await runProc([
        'nsenter',
        `--net=/run/netns/${MININET_NS}`,
        'unshare',
        '--mount',
        '--pid',
        '--fork',
        '--kill-child',
        '--mount-proc',
        '--',
        'sh',
        '-c',
        `mount -t tmpfs netsim-bench-mn /tmp && ${mn}`,
      ]);
    });
    const output = `${res.stdout}\n${res.stderr}`;
    if (res.code !== 0 || /Exception|Error creating/.test(output))
      throw new Error(`${mn} failed (exit ${res.code}):\n${output.trim().slice(-2000)}`);
    const m = /completed in ([\d.]+) seconds/.exec(output);
    const links = JSON.parse(
      await mustRun(['nsenter', `--net=/run/netns/${MININET_NS}`, 'ip', '-j', 'link', 'show']),
    ) as { ifname: string }[];
    return {
      seconds,
      reported: m ? Number(m[1]) : undefined,
      leftoverLinks: links.map((l) => l.ifname).filter((n) => n !== 'lo'),
      changedSysctls: await restoreSysctls(before),
    };
  } finally {
    await deleteMininetNamespace();
    releaseNeighThresholds(
      runDir(),
      NEIGH_HOLDER,
      (other) => other !== NEIGH_HOLDER && isRunning(readState(other)),
    );
  }
}

async function restoreSysctls(before: Record<string, string>): Promise<string[]> {
  const after = await readSysctls();
  const changed: string[] = [];
  for (const [k, v] of Object.entries(before)) {
    if (after[k] === v) continue;
    changed.push(`${k}: ${v} -> ${after[k]}`);
    await runProc(['sysctl', '-qw', `${k}=${v}`]);
  }
  return changed;
}
