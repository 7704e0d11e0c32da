// Paired A/B of build+teardown against another built checkout (e.g. the commit before a
// change): the two trees alternate, one process per run, each timing one build+teardown after
// a warm-up one, so load that drifts over time falls on both alike. Reports each tree's median
// and the after/before ratio of each pair.
//
//   node dist/bench/ab.js <other checkout, built> [topology=single,200] [pairs=8]
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { failedRounds, jsonIn, median } from './measure.js';

const here = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Run {
  s: number;
  configureMs?: number;
}

function once(tree: string, topo: string): Run {
  // a tree from before src/features/index.ts registered its kinds on import
  const code = `
    import { existsSync } from 'node:fs';
    const idx = ${JSON.stringify(join(tree, 'dist/src/features/index.js'))};
    if (existsSync(idx)) (await import(idx)).registerBuiltins();
    const { runNetsim } = await import(${JSON.stringify(join(tree, 'dist/bench/netsim.js'))});
    await runNetsim(${JSON.stringify(topo)});
    const r = await runNetsim(${JSON.stringify(topo)});
    console.log(JSON.stringify({ s: r.seconds, configureMs: r.timings.find((t) => t.phase === 'configure')?.ms }));`;
  const out = execFileSync('node', ['--input-type=module', '-e', code], { encoding: 'utf8' });
  return jsonIn<Run>(out, `run in ${tree}`, { last: true });
}

const [other, topo = 'single,200', pairs = '8'] = process.argv.slice(2);
if (!other) {
  console.error('usage: node dist/bench/ab.js <other checkout, built> [topology] [pairs]');
  process.exit(2);
}
const before: Run[] = [];
const after: Run[] = [];
const failures: string[] = [];
for (let i = 0; i < Number(pairs); i++) {
  // alternate which goes first, so neither always follows the other's teardown
  try {
    if (i % 2) {
      const x = once(here, topo);
      const y = once(resolve(other), topo);
      after.push(x);
      before.push(y);
    } else {
      const y = once(resolve(other), topo);
      const x = once(here, topo);
      before.push(y);
      after.push(x);
    }
  } catch (err) {
    // a failed pair is left out (its ratio needs both), recorded, and the run exits 1
    failures.push(`pair ${i + 1}: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
const line = (name: string, runs: Run[]) =>
  `${name.padEnd(8)} median ${median(runs.map((r) => r.s)).toFixed(3)} s (min ${Math.min(...runs.map((r) => r.s)).toFixed(3)}, max ${Math.max(...runs.map((r) => r.s)).toFixed(3)}), configure ${median(runs.map((r) => r.configureMs ?? 0)).toFixed(0)} ms`;
console.log(`${topo}, ${pairs} pairs`);
console.log(line('other', before));
console.log(line('this', after));
const ratios = after.map((a, i) => a.s / before[i].s);
console.log(
  `this/other per pair: median ${median(ratios).toFixed(3)} (min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)})`,
);
for (const l of failedRounds(failures)) console.log(l);
