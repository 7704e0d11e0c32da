// Paired A/B of build+teardown against another built checkout (e.g. the commit before a
// change): the two trees alternate, one process per run, each timing one build+teardown after
// a warm-up one, so load that drifts over time falls on both alike. Reports each tree's median
// and the after/before ratio of each pair.
//
//   node dist/bench/ab.js <other checkout, built> [topology=single,200] [pairs=8]
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './measure.js';

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
  return JSON.parse(out.trim().split('\n').pop()!) as Run;
}

const [other, topo = 'single,200', pairs = '8'] = process.argv.slice(2);
if (!other) {
  console.error('usage: node dist/bench/ab.js <other checkout, built> [topology] [pairs]');
  process.exit(2);
}
const before: Run[] = [];
const after: Run[] = [];
for (let i = 0; i < Number(pairs); i++) {
  // alternate which goes first, so neither always follows the other's teardown
  if (i % 2) {
    after.push(once(here, topo));
    before.push(once(resolve(other), topo));
  } else {
    before.push(once(resolve(other), topo));
    after.push(once(here, topo));
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
