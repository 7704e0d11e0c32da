// The chaos soak in one minute (bench/soak-run.ts; `npm run soak` runs it for 10): the default
// scenario with a Service, a Skupper-style link and a Liqo-style peering, traffic through all
// of them, and a seeded schedule whose first round fires every fault kind once (underlay link,
// flannel agent, etcd member, FRR daemon, pod, site router, peering). Every fault is undone and
// afterwards every invariant holds: pods reachable, services answering through every path,
// leases and kube-proxy tables as etcd says, nothing outside the ledger.
import t from 'tap';
import { formatReport } from '../../bench/soak-report.js';
import { runSoak } from '../../bench/soak-run.js';
import { FAULT_KINDS } from '../../bench/soak-schedule.js';
import { namespacesOf, requireRoot, uniqueName } from '../lib/harness.js';

// its first round deletes c1 (the endpoint of both HTTP flows), kills zebra and C1w1's agent
const SEED = 1;

if (requireRoot(t)) {
  t.setTimeout(480000);
  t.test(`60 s of faults, seed ${SEED}`, async (t) => {
    const simName = uniqueName('so');
    const report = await runSoak({ seed: SEED, durationMs: 60000, simName, log: (l) => t.comment(l) });
    t.comment(formatReport(report));
    for (const kind of FAULT_KINDS) {
      const k = report.kinds.find((x) => x.kind === kind)!;
      t.ok(k.count >= 1, `${kind} fired (${k.count})`);
      t.same(k.errors, [], `every ${kind} fault was undone`);
    }
    for (const c of report.invariants) t.ok(c.ok, `${c.name}${c.ok ? '' : `: ${c.detail}`}`);
    for (const f of report.flows)
      t.ok(f.requests > 20, `${f.name} ran through the soak (${f.requests} requests)`);
    t.same(namespacesOf(simName), [], 'torn down: no namespace left');
  });
}
