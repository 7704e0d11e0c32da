// What a UTS namespace per node (its own hostname, kernel/nodens.ts) costs: the build of the
// same topology with and without them, interleaved in the same run so machine load falls on
// both alike. Goal: within 10 %.
import { median, settle, spreadPercent } from './measure.js';
import { runNetsim } from './netsim.js';

const GOAL = 1.1;

export async function utsSuite(
  reps: number,
  log: (l: string) => void,
  topo = 'single,200',
): Promise<string[]> {
  const up = { on: [] as number[], off: [] as number[] };
  const phase = { on: [] as number[], off: [] as number[] };
  await runNetsim('single,10'); // warm-up: feature probe, JIT
  for (let rep = 0; rep < reps; rep++) {
    const order: ('on' | 'off')[] = rep % 2 ? ['off', 'on'] : ['on', 'off'];
    for (const mode of order) {
      const r = await runNetsim(topo, { uts: mode === 'on' });
      up[mode].push(r.up);
      phase[mode].push(r.timings.find((t) => t.phase === 'namespaces')?.ms ?? 0);
      log(`  rep ${rep + 1}/${reps} ${topo} UTS ${mode.padEnd(3)} up ${r.up.toFixed(2)} s`);
      await settle();
    }
  }
  const [on, off] = [median(up.on), median(up.off)];
  const ratio = on / off;
  return [
    `## UTS namespace per node: build time of ${topo}`,
    '',
    '| UTS namespaces | up s (median) | spread | namespaces phase ms |',
    '|---|---:|---:|---:|',
    `| on (default) | ${on.toFixed(2)} | ${spreadPercent(up.on).toFixed(0)}% | ${median(phase.on).toFixed(0)} |`,
    `| off | ${off.toFixed(2)} | ${spreadPercent(up.off).toFixed(0)}% | ${median(phase.off).toFixed(0)} |`,
    '',
    `on/off: ${ratio.toFixed(3)} (goal ≤ ${GOAL}); median of ${reps} interleaved runs each.${ratio > GOAL ? ' **Over the goal.**' : ''}`,
  ];
}
