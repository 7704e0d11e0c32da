// What dual-stack costs the engine: the build of the same topology IPv4-only and dual-stack
// (addressing.family: dual: a second address per interface, a /64 per LAN, the IPv6 sysctls
// that turn DAD and router advertisements off), interleaved in the same run so machine load
// falls on both alike. Goal: dual-stack within 1.3x of IPv4-only.
import { median, settle, spreadPercent } from './measure.js';
import { runNetsim } from './netsim.js';

const GOAL = 1.3;

export async function ipv6Suite(
  reps: number,
  log: (l: string) => void,
  topo = 'single,200',
): Promise<string[]> {
  const up = { ipv4: [] as number[], dual: [] as number[] };
  const confPhase = { ipv4: [] as number[], dual: [] as number[] };
  await runNetsim('single,10'); // warm-up: feature probe, JIT
  for (let rep = 0; rep < reps; rep++) {
    const order: ('ipv4' | 'dual')[] = rep % 2 ? ['dual', 'ipv4'] : ['ipv4', 'dual'];
    for (const family of order) {
      const r = await runNetsim(topo, { family });
      up[family].push(r.up);
      confPhase[family].push(r.timings.find((t) => t.phase === 'configure')?.ms ?? 0);
      log(`  rep ${rep + 1}/${reps} ${topo} ${family.padEnd(4)} up ${r.up.toFixed(2)} s`);
      await settle();
    }
  }
  const [v4, dual] = [median(up.ipv4), median(up.dual)];
  const ratio = dual / v4;
  const row = (name: string, k: 'ipv4' | 'dual') =>
    `| ${name} | ${median(up[k]).toFixed(2)} | ${spreadPercent(up[k]).toFixed(0)}% | ${median(confPhase[k]).toFixed(0)} |`;
  return [
    `## Dual-stack: build time of ${topo}`,
    '',
    '| addressing.family | up s (median) | spread | configure phase ms |',
    '|---|---:|---:|---:|',
    row('ipv4', 'ipv4'),
    row('dual', 'dual'),
    '',
    `dual/ipv4: ${ratio.toFixed(3)} (goal ≤ ${GOAL}); median of ${reps} interleaved runs each.${ratio > GOAL ? ' **Over the goal.**' : ''}`,
  ];
}
