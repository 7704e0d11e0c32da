// trace's NetworkPolicy layer from the recorded `nft monitor trace` of a probe that a policy
// dropped on C0w2 (the pod's ingress chain of table netsim-policy), and the reasons given for
// drops and rejects by other tables.
import t from 'tap';
import { dropReason, policySubject, stopsProbe } from '../../src/features/trace/explain/policy.js';
import { explainRules, passesOf } from '../../src/features/trace/explain/rules.js';
import { parseTrace, type TraceEvent } from '../../src/features/trace/nft.js';
import type { Pkt } from '../../src/features/trace/types.js';
import { fixture } from '../lib/trace-fixtures.js';

const CLIENT = '10.244.185.3';
const pkt: Pkt = { saddr: CLIENT, daddr: '10.244.115.2', proto: 'tcp', sport: 45002, dport: 8000 };

t.test("C0w2: web2's ingress chain drops the probe", async (t) => {
  const passes = passesOf(parseTrace(fixture('policy-monitor-C0w2.txt')), 'netsim-trace-45002', CLIENT);
  const inner = passes.find((p) => p.layer === 'inner');
  if (!inner) return t.fail('no inner pass');
  const r = explainRules(inner.events, pkt);
  t.same(
    r.steps.map((s) => `${s.kind} ${s.text}`),
    [
      'policy netsim-policy forward: ip daddr 10.244.115.2 jump ingress-default/web2',
      'policy netsim-policy ingress-default/web2: counter packets 0 bytes 0 drop',
      'drop dropped by NetworkPolicy: no policy selecting default/web2 allows it (netsim-policy ingress-default/web2)',
    ],
  );
  t.same(r.drop, {
    reason:
      'dropped by NetworkPolicy: no policy selecting default/web2 allows it (netsim-policy ingress-default/web2)',
    rule: 'netsim-policy ingress-default/web2: counter packets 0 bytes 0 drop',
  });
  t.equal(r.out, undefined, 'the packet goes no further');
});

t.test('the outer VXLAN pass on C0w2 meets no policy', async (t) => {
  const passes = passesOf(parseTrace(fixture('policy-monitor-C0w2.txt')), 'netsim-trace-45002', CLIENT);
  const outer = passes.find((p) => p.layer === 'outer')!;
  const r = explainRules(outer.events, {
    saddr: '192.168.77.2',
    daddr: '192.168.77.3',
    proto: 'udp',
    dport: 8472,
  });
  t.notOk(r.drop);
  t.notOk(
    r.steps.some((s) => s.kind === 'policy'),
    'nothing of netsim-policy shown',
  );
});

t.test('reasons: policy chains, rejects, plain drops', async (t) => {
  const ev = (table: string, chain: string, text: string, verdict?: string): TraceEvent => ({
    table,
    chain,
    type: 'rule',
    text,
    verdict,
  });
  t.equal(policySubject('egress-prod/db-0'), 'prod/db-0');
  t.equal(policySubject('forward'), undefined);
  t.equal(
    dropReason(ev('netsim-policy', 'forward', 'drop', 'drop')),
    'dropped by NetworkPolicy: no policy selecting the pod allows it (netsim-policy forward)',
  );
  const reject = ev('filter', 'input', 'tcp dport 22 reject with tcp reset');
  t.ok(stopsProbe(reject), 'a reject stops the probe whatever its verdict');
  t.equal(dropReason(reject), 'refused by filter input: tcp dport 22 reject with tcp reset');
  t.equal(
    dropReason(ev('filter', 'forward', 'ip daddr 10.0.0.9 drop', 'drop')),
    'dropped by filter forward: ip daddr 10.0.0.9 drop',
  );
  t.notOk(stopsProbe(ev('filter', 'forward', 'counter accept', 'accept')));
});
