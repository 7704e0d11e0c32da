// The chaos soak's report as text (bench/soak.ts prints it; the 60 s test shows it).
import { median } from './measure.js';
import type { SoakReport } from './soak-run.js';
import { FAULT_TEXT } from './soak-schedule.js';

const s = (ms: number) => (ms / 1000).toFixed(1);

/** The report as text: the table per kind, the flows, the invariants. */
export function formatReport(r: SoakReport): string {
  const lines = [
    `## Chaos soak: ${r.minutes} min, seed ${r.seed}`,
    '',
    '| fault | count | outage median s | outage max s | requests lost | not undone |',
    '|---|---:|---:|---:|---:|---:|',
    ...r.kinds.map(
      (k) =>
        `| ${k.kind}: ${FAULT_TEXT[k.kind]} | ${k.count} | ${k.count ? s(median(k.outagesMs)) : '-'} | ${k.count ? s(Math.max(...k.outagesMs)) : '-'} | ${k.lost} | ${k.errors.length} |`,
    ),
    '',
    '| flow | from | to | requests | failed | restarts |',
    '|---|---|---|---:|---:|---:|',
    ...r.flows.map(
      (f) => `| ${f.name} | ${f.from} | ${f.to} | ${f.requests} | ${f.failed} | ${f.restarts} |`,
    ),
    '',
    `Invariants once the faults stopped (all held after ${s(r.recoveredMs)} s of checking):`,
    ...r.invariants.map((c) => `- ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.ok ? '' : `: ${c.detail}`}`),
    ...r.kinds.flatMap((k) => k.errors.map((e) => `- not undone: ${k.kind} ${e}`)),
    '',
    r.ok ? 'Every invariant holds.' : `Something stayed broken: replay with --seed ${r.seed}.`,
  ];
  return `${lines.join('\n')}\n`;
}
