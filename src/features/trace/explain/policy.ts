// The NetworkPolicy layer (and any firewall): why a rule the probe met dropped or refused it.
// netsim's agents program policies as table netsim-policy, one chain per selected pod
// (`ingress-<namespace>/<pod>`, `egress-...`).
import { type TraceEvent, tableName } from '../nft.js';

export const POLICY_TABLE = 'netsim-policy';

/** The rule ends the probe: a drop verdict or a reject. */
export function stopsProbe(e: TraceEvent): boolean {
  return e.verdict === 'drop' || /\breject\b/.test(e.text);
}

/** The pod a policy chain is for ("default/web2" from "ingress-default/web2"). */
export function policySubject(chain: string): string | undefined {
  return /^(?:ingress|egress)-(.+)$/.exec(chain)?.[1];
}

/** Why the probe stopped at this rule, as the trace tells it. */
export function dropReason(e: TraceEvent): string {
  const where = `${tableName(e)} ${e.chain}`;
  if (e.table === POLICY_TABLE)
    return `dropped by NetworkPolicy: no policy selecting ${policySubject(e.chain) ?? 'the pod'} allows it (${where})`;
  if (/\breject\b/.test(e.text)) return `refused by ${where}: ${e.text}`;
  return `dropped by ${where}: ${e.text}`;
}
