// The nftables rules the probe met in one node, from `nft monitor trace`: the events are cut
// into passes (one per time the probe was marked: each time it enters the namespace's
// stack, as itself or inside a VXLAN packet), trimmed to the rules worth showing, and
// explained with the NAT and policy layers' help.
import { type TraceEvent, tableName } from '../nft.js';
import type { Pass, Pkt, Step, StepKind } from '../types.js';
import {
  type ConntrackEntry,
  explainDnat,
  isKubeProxyTable,
  isMasqueradeCheck,
  masqueradeStep,
} from './nat.js';
import { dropReason, POLICY_TABLE, stopsProbe } from './policy.js';

/** The trace tables' own prefix (their marking rules are not shown). */
export const TRACE_TABLE_PREFIX = 'netsim-trace-';

/** A namespace's events cut at each mark of the trace table: a UDP packet from elsewhere is VXLAN. */
export function passesOf(events: TraceEvent[], table: string, probeSrc: string): Pass[] {
  const out: Pass[] = [];
  for (const e of events) {
    if (e.type === 'packet' && e.table === table) {
      const p = e.packet ?? {};
      const outer = p.proto === 'udp' && p.saddr !== probeSrc;
      out.push({ packet: p, events: [], layer: outer ? 'outer' : 'inner' });
      continue;
    }
    out[out.length - 1]?.events.push(e);
  }
  return out;
}

/**
 * The rules worth showing: not the trace table's own mark, no base-chain policy accepts, no
 * kube-proxy masquerade check that returns, and jumps only into chains where something shown
 * happened.
 */
export function interesting(events: TraceEvent[]): TraceEvent[] {
  const keep = events.map((e) => {
    if (e.type === 'packet' || e.type === 'verdict') return false;
    if (e.table.startsWith(TRACE_TABLE_PREFIX)) return false;
    if (e.type === 'policy' && e.verdict === 'accept') return false;
    if (isMasqueradeCheck(e)) return false;
    return true;
  });
  // from the end: a jump stays when the chain it enters has a kept event before control returns
  const shownIn = new Set<string>();
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e.type === 'rule' && /^(jump|goto) /.test(e.verdict ?? '')) {
      const target = e.verdict!.split(' ')[1];
      keep[i] = shownIn.has(`${tableName(e)} ${target}`);
    }
    if (keep[i]) shownIn.add(`${tableName(e)} ${e.chain}`);
  }
  return events.filter((_, i) => keep[i]);
}

export function kindOfTable(table: string): StepKind {
  if (isKubeProxyTable(table)) return 'nat';
  if (table === POLICY_TABLE) return 'policy';
  return 'filter';
}

/** One rule (or chain policy) as a step. */
export function ruleStep(e: TraceEvent): Step {
  const where = `${tableName(e)} ${e.chain}`;
  const verdict = e.verdict ?? '';
  const text =
    e.type === 'policy'
      ? `${where}: chain policy ${verdict}`
      : `${where}: ${e.text}${verdict && !/^(accept|continue)$/.test(verdict) && !e.text.endsWith(verdict) ? ` (${verdict})` : ''}`;
  return {
    kind: kindOfTable(e.table),
    text,
    data: {
      ...(e.family ? { family: e.family } : {}),
      table: e.table,
      chain: e.chain,
      rule: e.text,
      verdict,
    },
  };
}

/** The "seen" step for a pass (or for its absence in a watched node). */
export function seenStep(pass: Pass | undefined, layer: 'inner' | 'outer'): Step {
  if (!pass) return { kind: 'seen', text: 'nft trace: the probe never reached this node' };
  const p = pass.packet;
  return {
    kind: 'seen',
    text: `nft trace: ${layer === 'outer' ? 'VXLAN packet' : 'probe'} ${p.saddr ?? '?'} -> ${p.daddr ?? '?'}${p.iif ? ` in ${p.iif}` : ''}${p.oif ? ` out ${p.oif}` : ''}`,
    data: { ...p },
  };
}

export interface PassExplained {
  steps: Step[];
  /** the packet as it leaves the rules; undefined when one dropped it */
  out?: Pkt;
  dnat?: { from: string; to: string; rule: string };
  drop?: { reason: string; rule: string };
}

/** The rules of one pass: their steps, a DNAT's effect on the packet, or the rule that ended it. */
export function explainRules(events: TraceEvent[], pkt: Pkt, conntrack?: ConntrackEntry): PassExplained {
  const steps: Step[] = [];
  let out = { ...pkt };
  let dnat: PassExplained['dnat'];
  for (const e of interesting(events)) {
    steps.push(ruleStep(e));
    const d = explainDnat(pkt, e.text, conntrack);
    if (d) {
      steps.push(d.step);
      dnat = { from: d.from, to: d.to, rule: e.text };
      out = { ...out, daddr: d.pkt.daddr, dport: d.pkt.dport };
    }
    const masq = masqueradeStep(e);
    if (masq) steps.push(masq);
    if (stopsProbe(e)) {
      const reason = dropReason(e);
      const data = {
        ...(e.family ? { family: e.family } : {}),
        table: e.table,
        chain: e.chain,
        rule: e.text,
      };
      steps.push({ kind: 'drop', text: reason, data });
      return { steps, dnat, drop: { reason, rule: `${tableName(e)} ${e.chain}: ${e.text}` } };
    }
  }
  return { steps, out, dnat };
}
