// What a UTS namespace per node (its own hostname, kernel/nodens.ts) costs: the build of the
// same topology with and without them, interleaved in the same run so machine load falls on
// both alike. Goal: within 10 %. Also with each node's own /etc/hosts (a mount namespace per
// node, as an imported containerlab lab has: runtime/etc-hosts.ts).
import { median, settle, spreadPercent } from './measure.js';
import { runNetsim } from './netsim.js';

const GOAL = 1.1;

export async function utsSuite(
  reps: number,
  log: (l: string) => void,
  topo = 'single,200',
): Promise<string[]> {
  const up = { on: [] as number[], off: [] as number[], hosts: [] as number[] };
  const phase = { on: [] as number[], off: [] as number[], hosts: [] as number[] };
  await runNetsim('single,10'); // warm-up: feature probe, JIT
  for (let rep = 0; rep < reps; rep++) {
    const order: ('on' | 'off' | 'hosts')[] = rep % 2 ? ['off', 'hosts', 'on'] : ['on', 'hosts', 'off'];
    for (const mode of order) {
      const r = await runNetsim(topo, { uts: mode !== 'off', hosts: mode === 'hosts' });
      up[mode].push(r.up);
      phase[mode].push(r.timings.find((t) => t.phase === 'namespaces')?.ms ?? 0);
      log(`  rep ${rep + 1}/${reps} ${topo} UTS ${mode.padEnd(5)} up ${r.up.toFixed(2)} s`);
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
    `| on + /etc/hosts per node | ${median(up.hosts).toFixed(2)} | ${spreadPercent(up.hosts).toFixed(0)}% | ${median(phase.hosts).toFixed(0)} |`,
    '',
    `on/off: ${ratio.toFixed(3)} (goal ≤ ${GOAL}); median of ${reps} interleaved runs each.${ratio > GOAL ? ' **Over the goal.**' : ''}`,
    `on + /etc/hosts / off: ${(median(up.hosts) / off).toFixed(3)} (a mount namespace per node besides the UTS one).`,
  ];
}
