// End to end from the command line, as a user runs it: `netsim up FILE --script /dev/null`
// (build, an empty script, teardown, exit), `netsim up FILE --no-repl` with `netsim down` from
// another process once it is up (the clock stops when both have exited), and Mininet's
// `mn --topo single,N` (runMininet), interleaved; then the short verbs: `netsim --version` and
// `netsim validate` of the same 200-node YAML file, next to `node -e 0` (Node's own start-up).
// Every clock covers the whole process: Node's start-up, module loading, state files, exit.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { builtinTopology } from '../src/model/topos.js';
import { simDir } from '../src/runtime/paths.js';
import { loadAverage, median, runProc, settle, spreadPercent } from './measure.js';
import { ensureMininet, runMininet } from './mininet.js';

const NETSIM = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'netsim.js');
const GOAL_VS_MININET = 10;
const GOAL_VERSION_MS = 150;
const GOAL_VALIDATE_MS = 400;

type Way = 'script' | 'no-repl' | 'mininet';

interface UpRun {
  seconds: number;
  /** `ready in` + `stopped in`: the part spent in Simulation.up and down */
  inSim?: number;
}

/** The built-in topology as a YAML file, as a user would write it. */
function yamlFile(dir: string, topo: string): string {
  const t = builtinTopology(topo);
  if (!t) throw new Error(`not a built-in topology: ${topo}`);
  const file = join(dir, `${topo.replace(/\W/g, '_')}.yml`);
  writeFileSync(file, stringify(t.toSpec()));
  return file;
}

const simName = () => `e2e_${randomBytes(3).toString('hex')}`;

/** After a run: nothing of the simulation is left (its namespaces, its state directory). */
function assertClean(name: string): void {
  const ns = existsSync('/run/netns')
    ? readdirSync('/run/netns').filter((n) => n.startsWith(`netsim-${name}-`))
    : [];
  if (ns.length || existsSync(simDir(name)))
    throw new Error(
      `${name}: left ${ns.length} namespaces${existsSync(simDir(name)) ? ' and its state directory' : ''}`,
    );
}

function inSimSeconds(stderr: string): number | undefined {
  const up = /ready in ([\d.]+) s/.exec(stderr);
  const down = /stopped \S+ in ([\d.]+) s/.exec(stderr);
  return up && down ? Number(up[1]) + Number(down[1]) : undefined;
}

async function upScript(file: string): Promise<UpRun> {
  const name = simName();
  const t0 = performance.now();
  const r = await runProc(['node', NETSIM, 'up', file, '-n', name, '--script', '/dev/null']);
  const seconds = (performance.now() - t0) / 1000;
  if (r.code !== 0) throw new Error(`netsim up --script exited ${r.code}: ${r.stderr.trim().slice(-500)}`);
  assertClean(name);
  return { seconds, inSim: inSimSeconds(r.stderr) };
}

/** `up --no-repl` until it says it is up, then `netsim down NAME`; until both have exited. */
async function upNoReplDown(file: string): Promise<UpRun> {
  const name = simName();
  const t0 = performance.now();
  const up = spawn('node', [NETSIM, 'up', file, '-n', name, '--no-repl'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => up.on('close', resolve));
  await new Promise<void>((resolve, reject) => {
    up.stderr!.on('data', (d) => {
      stderr += d;
      if (stderr.includes(' is up.')) resolve();
    });
    void exited.then((code) =>
      reject(new Error(`netsim up --no-repl exited ${code}: ${stderr.trim().slice(-500)}`)),
    );
  });
  const down = await runProc(['node', NETSIM, 'down', name]);
  const code = await exited;
  const seconds = (performance.now() - t0) / 1000;
  if (down.code !== 0 || code !== 0)
    throw new Error(
      `netsim down exited ${down.code}, up ${code}: ${down.stderr.trim()} ${stderr.trim().slice(-300)}`,
    );
  assertClean(name);
  return { seconds, inSim: inSimSeconds(stderr) };
}

/** Wall time of a short command, in ms; it must succeed. */
async function shortMs(argv: string[]): Promise<number> {
  const t0 = performance.now();
  const r = await runProc(argv);
  const ms = performance.now() - t0;
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return ms;
}

export async function e2eSuite(
  reps: number,
  topos: string[],
  noMininet: boolean,
  log: (l: string) => void,
): Promise<string[]> {
  const mininetSkip = noMininet ? 'skipped (--no-mininet)' : await ensureMininet(log);
  const ways: Way[] = mininetSkip ? ['script', 'no-repl'] : ['script', 'no-repl', 'mininet'];
  const dir = mkdtempSync(join(tmpdir(), 'netsim-e2e-'));
  const started = new Date();
  const loadBefore = loadAverage();
  const runs = new Map<string, UpRun[]>();
  const short = { node: [] as number[], version: [] as number[], validate: [] as number[] };
  const file200 = yamlFile(dir, 'single,200');
  try {
    const files = new Map(topos.map((t) => [t, yamlFile(dir, t)]));
    log('warming up (feature probe, page cache)');
    await upScript(yamlFile(dir, 'single,10'));
    await shortMs(['node', NETSIM, '--version']);
    await settle();
    for (let rep = 0; rep < reps; rep++) {
      for (const topo of topos) {
        // rotate the order so no way always runs right after the slow one
        for (const way of ways.map((_, i) => ways[(i + rep) % ways.length])) {
          const file = files.get(topo)!;
          const r =
            way === 'script'
              ? await upScript(file)
              : way === 'no-repl'
                ? await upNoReplDown(file)
                : { seconds: (await runMininet(topo)).seconds };
          runs.set(`${topo}/${way}`, [...(runs.get(`${topo}/${way}`) ?? []), r]);
          log(`  rep ${rep + 1}/${reps} ${topo.padEnd(11)} ${way.padEnd(8)} ${r.seconds.toFixed(2)} s`);
          await settle();
        }
      }
      for (let i = 0; i < 3; i++) {
        short.node.push(await shortMs(['node', '-e', '0']));
        short.version.push(await shortMs(['node', NETSIM, '--version']));
        short.validate.push(await shortMs(['node', NETSIM, 'validate', file200]));
      }
      log(
        `  rep ${rep + 1}/${reps} --version ${median(short.version).toFixed(0)} ms, validate ${median(short.validate).toFixed(0)} ms`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const loadAfter = loadAverage();

  const med = (topo: string, way: Way) => {
    const xs = runs.get(`${topo}/${way}`)?.map((r) => r.seconds) ?? [];
    return xs.length ? median(xs) : undefined;
  };
  const cell = (topo: string, way: Way) => {
    const xs = runs.get(`${topo}/${way}`)?.map((r) => r.seconds) ?? [];
    return xs.length ? `${median(xs).toFixed(2)} (±${spreadPercent(xs).toFixed(0)}%)` : '–';
  };
  const ratio = (topo: string, way: Way) => {
    const [n, m] = [med(topo, way), med(topo, 'mininet')];
    return n && m ? `${(m / n).toFixed(1)}×` : '–';
  };
  const outside = (topo: string, way: Way) => {
    const rs = (runs.get(`${topo}/${way}`) ?? []).filter((r) => r.inSim !== undefined);
    return rs.length ? median(rs.map((r) => r.seconds - r.inSim!)).toFixed(2) : '–';
  };
  const lines = [
    '## End to end from the CLI',
    '',
    `Measured ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpus().length} × ${cpus()[0]?.model.trim() ?? '?'}, kernel ${release()}; median of ${reps} interleaved runs (spread = (max − min) / median); load average ${loadBefore} before, ${loadAfter} after. Each clock covers whole processes: \`netsim up FILE --script /dev/null\`; \`netsim up FILE --no-repl\`, then \`netsim down NAME\` once it is up, until both have exited (the host checked clean after each run); Mininet \`mn --switch lxbr,stp=0 --controller none --test none --topo T\`.`,
    '',
    '| topology | up --script s | up --no-repl + down s | Mininet s | Mininet/script | Mininet/no-repl | outside Simulation.up/down s (script, no-repl) |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...topos.map(
      (t) =>
        `| ${t} | ${cell(t, 'script')} | ${cell(t, 'no-repl')} | ${cell(t, 'mininet')} | ${ratio(t, 'script')} | ${ratio(t, 'no-repl')} | ${outside(t, 'script')}, ${outside(t, 'no-repl')} |`,
    ),
    '',
    `Short verbs (median of ${short.version.length}, ms; the validated file is single,200 as YAML):`,
    '',
    '| command | ms | spread | goal |',
    '|---|---:|---:|---:|',
    `| node -e 0 (Node's own start-up) | ${median(short.node).toFixed(0)} | ${spreadPercent(short.node).toFixed(0)}% | |`,
    `| netsim --version | ${median(short.version).toFixed(0)} | ${spreadPercent(short.version).toFixed(0)}% | ≤ ${GOAL_VERSION_MS} |`,
    `| netsim validate single_200.yml | ${median(short.validate).toFixed(0)} | ${spreadPercent(short.validate).toFixed(0)}% | ≤ ${GOAL_VALIDATE_MS} |`,
  ];
  if (mininetSkip) lines.push('', `Mininet: ${mininetSkip}.`);
  const checks = topos
    .filter((t) => t === 'single,200' && med(t, 'mininet'))
    .flatMap((t) =>
      (['script', 'no-repl'] as const).map(
        (w) => `${t} ${w}: ${ratio(t, w)} faster than Mininet (goal ≥ ${GOAL_VS_MININET}×)`,
      ),
    );
  if (checks.length) lines.push('', ...checks.map((c) => `- ${c}`));
  return lines;
}
