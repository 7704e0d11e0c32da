// A trace as text (one block per hop, a step per line) and as `--json`.
import { hostPort, probeName } from './family.js';
import type { TraceResult } from './types.js';

/** The trace as text, one block per hop. */
export function formatTrace(r: TraceResult): string {
  const lines: string[] = [];
  const to = hostPort(r.target.ip, r.target.port);
  const what = r.target.service
    ? `service ${r.target.service} ${to}`
    : r.target.node && r.target.node !== r.dst
      ? `${to} (${r.target.node})`
      : to;
  lines.push(
    `trace ${r.src} -> ${r.dst}${r.dst === what ? '' : ` (${what})`}, ${probeName(r.proto, r.family ?? 4)} from ${r.probe.from}`,
  );
  lines.push(`probe: ${r.probe.command}: ${r.probe.result}, ${r.probe.detail} (${r.probe.ms} ms)`);
  r.hops.forEach((h, i) => {
    const io = [h.in ? `in ${h.in}` : '', h.out ? `out ${h.out}` : ''].filter(Boolean).join(', ');
    lines.push(
      `${String(i + 1).padStart(2)}. ${h.node} (${h.kind})${io ? `  ${io}` : ''}${h.seen === false ? '  [not seen]' : ''}`,
    );
    for (const s of h.steps) lines.push(`      ${s.kind.padEnd(9)} ${s.text}`);
  });
  lines.push(`result: ${r.outcome}: ${r.summary}`);
  return `${lines.join('\n')}\n`;
}

/** The trace as `--json` prints it. */
export function formatTraceJson(r: TraceResult): string {
  return `${JSON.stringify(r, null, 1)}\n`;
}
