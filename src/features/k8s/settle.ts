// Before a topology's `expect:` entries are checked: every worker's kube-proxy has every
// service's ClusterIP (and, for a service with endpoints, its endpoints' map entry), and the
// cluster DNS answers every service's name.
import type { Settled } from '../../runtime/plugin.js';
import type { Simulation } from '../../runtime/simulation.js';
import { sleep } from '../../util/wait.js';
import { proxyTablesText } from './agent/proxy-tables.js';
import { clustersOf } from './cluster.js';
import { unansweredNames } from './dns-answers.js';
import { HEADLESS } from './services/objects.js';

export async function settleServices(sim: Simulation, timeoutMs: number): Promise<Settled | undefined> {
  const clusters = clustersOf(sim);
  if (clusters.length === 0) return undefined;
  const deadline = Date.now() + timeoutMs;
  const notes: string[] = [];
  for (const c of clusters) {
    let svcs: Awaited<ReturnType<typeof c.services>> = [];
    for (;;) {
      svcs = await c.services().catch(() => []);
      const missing: string[] = [];
      for (const w of c.workers) {
        // kube-proxy's tables: one, or the main one and its shards above a number of services
        const r = await sim.kernel.tool(w.ns, 'nft', ['list', 'ruleset', 'ip'], { check: false });
        const tables = proxyTablesText(r.stdout);
        for (const s of svcs) {
          if (s.clusterIP === HEADLESS) continue; // no rules for a headless service
          const withEp = s.endpoints.length > 0;
          const needle = withEp ? `${s.clusterIP} . ` : s.clusterIP;
          if (!tables.includes(needle) || (withEp && !tables.includes(`-${s.namespace}/${s.name}/`)))
            missing.push(`${w.name}: ${s.namespace}/${s.name}`);
        }
      }
      if (missing.length === 0) break;
      if (Date.now() > deadline) {
        notes.push(`kube-proxy had not programmed ${missing.slice(0, 5).join(', ')} in time`);
        break;
      }
      // each round reads every worker's table: a fifth of a second between rounds
      await sleep(200);
    }
    // the names too: the DNS process sees services on a watch of its own
    for (;;) {
      const unanswered = await unansweredNames(c, svcs);
      if (unanswered.length === 0) break;
      if (Date.now() > deadline) {
        const names = unanswered.slice(0, 5).map((s) => `${s.namespace}/${s.name}`);
        notes.push(`the cluster DNS did not answer ${names.join(', ')} in time`);
        break;
      }
      await sleep(200);
    }
  }
  return { notes };
}
