// The trace's conclusion: the probe's own result (answered, refused, nothing) put together with
// where the explanation ended (delivered at a node, dropped by a rule or a missing route).
import { hostPort } from '../family.js';
import type { Hop, Outcome, TraceResult } from '../types.js';

export interface WalkEnd {
  hops: Hop[];
  delivered?: { node: string; ip: string };
  drop?: TraceResult['drop'];
  dnat?: TraceResult['dnat'];
}

export function conclude(
  probe: TraceResult['probe'],
  target: TraceResult['target'],
  end: WalkEnd,
): { outcome: Outcome; summary: string } {
  const to = hostPort(target.ip, target.port);
  const last = [...end.hops].reverse().find((h) => h.seen);
  if (probe.result === 'answered') {
    const where = end.delivered ? end.delivered.node : (last?.node ?? '?');
    return {
      outcome: 'delivered',
      summary: `delivered to ${where}${end.dnat ? ` (DNAT ${end.dnat.from} -> ${end.dnat.to})` : ''}: ${probe.detail}`,
    };
  }
  if (end.drop)
    return {
      outcome: probe.result === 'refused' ? 'refused' : 'dropped',
      summary: `${probe.result === 'refused' ? 'refused' : 'dropped'} at ${end.drop.node}: ${end.drop.reason}`,
    };
  if (probe.result === 'refused' && end.delivered)
    return {
      outcome: 'refused',
      summary: `refused by ${end.delivered.node}: it reached ${to}${target.port ? ', but nothing listens on that port' : ''} (${probe.detail})`,
    };
  return {
    outcome: probe.result === 'refused' ? 'refused' : probe.result === 'unreachable' ? 'dropped' : 'unknown',
    summary: `no answer (${probe.detail}); ${last ? `last seen at ${last.node}` : 'not seen anywhere'}`,
  };
}
