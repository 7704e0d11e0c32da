// `--suite scale`: netsim at 1,000 and 5,000 hosts.
// - single,1000 end to end from the CLI (`netsim up single,1000 --script /dev/null -q`: Node's
//   start, build, teardown), in-process (Simulation.up + down) and by the floor (bench/floor.py),
//   interleaved, the kernel's namespace cleanup waited for (and timed) after each; Mininet's
//   single,1000 once in the same run (--no-mininet skips it);
// - a tree of 5,000+ hosts (tree,2,71: 5,041 hosts on 71 switches under one) brought up from
//   the CLI (`up --no-repl`) and driven from other shells as a user would: `netsim ls`,
//   `netsim exec`, `netsim check --sample`, `netsim down`;
// - memory per plain host: MemAvailable lost and Slab grown (kernel: namespaces, veths,
//   neighbours, namespace files) divided by the hosts, and the owning netsim process's RSS.
// `--part single` or `--part tree` runs one half (the file then holds that half).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/model/load.js';
import { readState } from '../src/runtime/state.js';
import { sleep, waitFor } from '../src/util/wait.js';
import { FloorProcess } from './floor.js';
import { loadAverage, median, runProc, settle, spreadPercent } from './measure.js';
import { ensureMininet, runMininet } from './mininet.js';
import { benchModel, runNetsim } from './netsim.js';

const NETSIM = join(PROJECT_ROOT, 'bin', 'netsim.js');
const SINGLE = 'single,1000';
const TREE = 'tree,2,71';
const SAMPLE = 1000;
const TARGET_SINGLE_S = 3;

/** MemAvailable and Slab in KiB. */
function meminfo(): { available: number; slab: number } {
  const text = readFileSync('/proc/meminfo', 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { available: kib('MemAvailable'), slab: kib('Slab') };
}

/** Packets the CPUs' backlog queues dropped since boot (/proc/net/softnet_stat, 2nd column, all CPUs). */
function backlogDrops(): number {
  return readFileSync('/proc/net/softnet_stat', 'utf8')
    .trim()
    .split('\n')
    .reduce((sum, l) => sum + Number.parseInt(l.trim().split(/\s+/)[1] ?? '0', 16), 0);
}

/** VmRSS and VmHWM (peak) of a process, in MiB. */
function rssOf(pid: number): { rss: number; peak: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) / 1024;
  return { rss: mib('VmRSS'), peak: mib('VmHWM') };
}

const netsimCli = (args: string[]) => runProc([process.execPath, NETSIM, ...args]);

async function timedCli(
  args: string[],
): Promise<{ s: number; code: number; stdout: string; stderr: string }> {
  const t0 = performance.now();
  const r = await netsimCli(args);
  return { s: (performance.now() - t0) / 1000, ...r };
}

export interface LabRun {
  topo: string;
  hosts: number;
  upS: number;
  lsS: number;
  execS: number;
  checkS?: number;
  checkPassed?: string;
  /** failed pairs pinged again one by one (ping -c 3): how many answered then */
  recheck?: string;
  /** what check's own recheck did (failed pairs pinged again after the drops stopped) */
  rechecked?: string;
  /** backlog drops during the check */
  drops?: number;
  downS: number;
  /** KiB per host */
  memPerHost: number;
  slabPerHost: number;
  rssMiB: number;
  peakMiB: number;
}

/**
 * A lab from the CLI as a user runs one: `up --no-repl` in the background until its state says
 * ready; memory read then; ls, exec, check --sample from other processes; `down`.
 */
export async function runCliLab(topo: string, name: string, sample?: number): Promise<LabRun> {
  await settle();
  const before = meminfo();
  const t0 = performance.now();
  const child = spawn(process.execPath, [NETSIM, 'up', topo, '-n', name, '--no-repl', '-q'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  try {
    await waitFor(
      () => {
        if (exited) throw new Error(`netsim up ${topo} exited: ${stderr.trim().slice(-1000)}`);
        return readState(name)?.status === 'ready';
      },
      { timeoutMs: 600_000, intervalMs: 50 },
    );
    const upS = (performance.now() - t0) / 1000;
    await sleep(1000); // the kernel's deferred work of the build (address configuration) done
    const after = meminfo();
    const state = readState(name)!;
    const hosts = state.nodes.filter((n) => n.kind === 'host').length;
    const { rss, peak } = rssOf(child.pid!);
    const ls = await timedCli(['ls']);
    const exec = await timedCli(['exec', '--sim', name, 'h1', '--', 'true']);
    if (exec.code !== 0) throw new Error(`netsim exec failed: ${exec.stderr}`);
    let checkS: number | undefined;
    let checkPassed: string | undefined;
    let recheck: string | undefined;
    let rechecked: string | undefined;
    let drops: number | undefined;
    if (sample) {
      const drops0 = backlogDrops();
      const check = await timedCli([
        'check',
        '--sim',
        name,
        '--sample',
        String(sample),
        '--seed',
        '1',
        '--json',
      ]);
      drops = backlogDrops() - drops0;
      const j = JSON.parse(check.stdout || '{}') as {
        pairs?: number;
        passed?: number;
        rechecked?: { pairs: number; answered: number };
        results?: { src: string; dst: string; dstIp: string; ok: boolean }[];
      };
      checkS = check.s;
      checkPassed = `${j.passed ?? '?'}/${j.pairs ?? '?'}`;
      if (j.rechecked)
        rechecked = `check pinged ${j.rechecked.pairs} failed pairs again once the drops had stopped: ${j.rechecked.answered} answered`;
      // a failed pair: lost probes (it answers when pinged alone) or no path (it does not)
      const failed = (j.results ?? []).filter((r) => !r.ok).slice(0, 20);
      if (failed.length) {
        let answered = 0;
        for (const r of failed) {
          const p = await netsimCli([
            'exec',
            '--sim',
            name,
            r.src,
            '--',
            'ping',
            '-c',
            '3',
            '-W',
            '2',
            r.dstIp,
          ]);
          if (p.code === 0) answered++;
        }
        recheck = `${answered} of ${failed.length} failed pairs answered alone`;
      }
    }
    const down = await timedCli(['down', name]);
    if (down.code !== 0) throw new Error(`netsim down failed: ${down.stderr}`);
    return {
      topo,
      hosts,
      upS,
      lsS: ls.s,
      execS: exec.s,
      checkS,
      checkPassed,
      recheck,
      rechecked,
      drops,
      downS: down.s,
      memPerHost: (before.available - after.available) / hosts,
      slabPerHost: (after.slab - before.slab) / hosts,
      rssMiB: rss,
      peakMiB: peak,
    };
  } finally {
    if (!exited) {
      child.kill('SIGTERM');
      await waitFor(() => exited, { timeoutMs: 60_000, intervalMs: 50 }).catch(() => child.kill('SIGKILL'));
    }
  }
}

export type ScalePart = 'single' | 'tree';

export async function scaleSuite(
  reps: number,
  noMininet: boolean,
  log: (l: string) => void,
  parts: ScalePart[] = ['single', 'tree'],
): Promise<string[]> {
  const started = new Date();
  const loadBefore = loadAverage();
  const f = (x: number | undefined, d = 2) => (x === undefined ? '–' : x.toFixed(d));
  const lines = ['## Scale: 1,000 and 5,000 hosts', ''];
  lines.push(
    `Measured ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC; load average ${loadBefore} before (parts: ${parts.join(', ')}).`,
    '',
  );
  log('warming up (single,10)');
  await runNetsim('single,10');
  await settle();
  const labs: LabRun[] = [];
  if (parts.includes('single')) lines.push(...(await singleTimes(reps, noMininet, log)));
  if (parts.includes('single')) {
    log(`  ${SINGLE} from the CLI, held up: memory, ls, exec, check --sample ${SAMPLE}`);
    labs.push(await runCliLab(SINGLE, 'benchscale1k', SAMPLE));
  }
  if (parts.includes('tree')) {
    log(`  ${TREE} from the CLI: up, ls, exec, check --sample ${SAMPLE}, down`);
    const tree = await runCliLab(TREE, 'benchscale5k', SAMPLE);
    log(`  ${TREE}: up ${tree.upS.toFixed(1)} s, down ${tree.downS.toFixed(1)} s`);
    labs.push(tree);
  }
  await settle(30_000);
  lines.push(
    '| lab (from the CLI) | hosts | up s | netsim ls s | netsim exec s | check --sample 1000 s (passed) | down s | kernel KiB per host (MemAvailable) | Slab KiB per host | netsim RSS MiB (peak) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of labs)
    lines.push(
      `| ${r.topo} | ${r.hosts} | ${f(r.upS)} | ${f(r.lsS)} | ${f(r.execS)} | ${f(r.checkS)} (${r.checkPassed ?? '–'}) | ${f(r.downS)} | ${f(r.memPerHost, 0)} | ${f(r.slabPerHost, 0)} | ${f(r.rssMiB, 0)} (${f(r.peakMiB, 0)}) |`,
    );
  for (const r of labs)
    lines.push(
      '',
      `${r.topo} check: ${r.drops ?? '–'} packets dropped by the CPUs' backlog queues meanwhile (/proc/net/softnet_stat)${r.rechecked ? `; ${r.rechecked}` : ''}${r.recheck ? `; ${r.recheck} (\`netsim exec SRC -- ping -c 3\`)` : ''}.`,
    );
  lines.push(
    '',
    `Up = from the start of \`netsim up --no-repl\` until its state file says ready; memory read 1 s later (MemAvailable lost and Slab grown since before the run, over the hosts: each host's namespace, veth pair, its share of the bridge, UTS namespace and files; switches counted in, they are few); RSS of the \`up\` process then. The machine is shared, so memory deltas carry other work's noise. Load average after: ${loadAverage()}.`,
  );
  return lines;
}

/**
 * single,1000 built and torn down from the CLI, in-process, and by the floor (bench/floor.py:
 * the same kernel operations from one pyroute2 process), interleaved; after each run the time
 * the kernel was still freeing namespaces is measured (and waited for, so no run pays for the
 * one before).
 */
async function singleTimes(reps: number, noMininet: boolean, log: (l: string) => void): Promise<string[]> {
  const f = (x: number | undefined, d = 2) => (x === undefined ? '–' : x.toFixed(d));
  let mininetSkip: string | undefined = noMininet ? 'skipped (--no-mininet)' : undefined;
  mininetSkip ??= await ensureMininet(log);
  const floor = await FloorProcess.start();
  const ways = ['cli', 'in-process', 'floor'] as const;
  const runs: Record<(typeof ways)[number], number[]> = { cli: [], 'in-process': [], floor: [] };
  const freeing: Record<(typeof ways)[number], number[]> = { cli: [], 'in-process': [], floor: [] };
  const phases: Record<string, number[]> = {};
  try {
    await floor.run(benchModel('single,10', 'benchscfl'));
    await settle();
    for (let rep = 0; rep < reps; rep++) {
      for (const how of ways.map((_, i) => ways[(i + rep) % ways.length])) {
        if (how === 'cli') {
          const r = await timedCli(['up', SINGLE, '-n', `benchscale${rep}`, '--script', '/dev/null', '-q']);
          if (r.code !== 0) throw new Error(`netsim up ${SINGLE} failed: ${r.stderr}`);
          runs.cli.push(r.s);
        } else if (how === 'in-process') {
          const r = await runNetsim(SINGLE);
          runs['in-process'].push(r.seconds);
          for (const t of r.timings) phases[t.phase] = [...(phases[t.phase] ?? []), t.ms];
          phases.teardown = [...(phases.teardown ?? []), r.down * 1000];
        } else {
          const r = await floor.run(benchModel(SINGLE, 'benchscfl'));
          runs.floor.push(r.seconds);
          phases['floor build'] = [...(phases['floor build'] ?? []), r.build * 1000];
          phases['floor teardown'] = [...(phases['floor teardown'] ?? []), r.teardown * 1000];
        }
        freeing[how].push(await settle(30_000));
        log(
          `  rep ${rep + 1}/${reps} ${SINGLE} ${how.padEnd(10)} ${runs[how].at(-1)!.toFixed(2)} s, kernel freeing namespaces ${freeing[how].at(-1)!.toFixed(2)} s after`,
        );
      }
    }
  } finally {
    await floor.stop();
  }
  let mininet: number | undefined;
  if (!mininetSkip) {
    log(`  Mininet ${SINGLE} (once)`);
    mininet = (await runMininet(SINGLE)).seconds;
    log(`  Mininet ${SINGLE} ${mininet.toFixed(1)} s`);
    await settle();
  }
  const row = (label: string, how: (typeof ways)[number]) =>
    `| ${label} | ${f(median(runs[how]))} | ${spreadPercent(runs[how]).toFixed(0)}% | ${runs[how].map((x) => f(x)).join(' ')} | ${f(median(freeing[how]))} |`;
  const lines = [
    `${reps} runs of each single,1000 case, interleaved; after each run the benchmark waits until the kernel has freed the namespaces (its \`netns\` cleanup worker idle for 200 ms), so no run pays for the one before; how long that took is the last column (a user who runs one lab right after another waits for it: a build of 1,000 namespaces during that cleanup took 1.6-1.7 s for its namespaces instead of 1.2 s).`,
    '',
    '| single,1000 | median s | spread | runs | kernel still freeing namespaces after, s |',
    '|---|---:|---:|---|---:|',
    row('netsim, CLI end to end (`up --script /dev/null -q`)', 'cli'),
    row('netsim, in-process (Simulation.up + down)', 'in-process'),
    row('floor (bench/floor.py, build + teardown)', 'floor'),
    `| Mininet 2.3 (\`mn --topo single,1000\`, build + stop, once) | ${f(mininet)} | – | ${mininetSkip ?? ''} | |`,
    '',
    `netsim / floor at 1,000 hosts: ${f(median(runs['in-process']) / median(runs.floor))}× in-process, ${f(median(runs.cli) / median(runs.floor))}× end to end (the floor's clock leaves out Python's start-up). Target: single,1000 end to end ≤ ${TARGET_SINGLE_S} s.`,
    '',
  ];
  if (mininet)
    lines.push(
      `Mininet / netsim at 1,000 hosts: ${f(mininet / median(runs.cli), 1)}× end to end, ${f(mininet / median(runs['in-process']), 1)}× in-process.`,
      '',
    );
  lines.push(
    `Phases, median ms: ${Object.entries(phases)
      .map(([p, ms]) => `${p} ${median(ms).toFixed(0)}`)
      .join(', ')}.`,
    '',
  );
  return lines;
}
