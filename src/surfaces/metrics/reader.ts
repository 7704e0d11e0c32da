// What the web view and /metrics read of every node's kernel state: interface counters,
// addresses and routes, one process per namespace through the kernel layer, cached briefly so
// a page refresh and a Prometheus scrape in the same moment read the kernel once. What features
// read (FRR neighbours, kube-proxy counters, etcd health) they cache themselves.
import { type NetnsStats, netnsStats } from '../../kernel/stats.js';
import type { Simulation } from '../../runtime/simulation.js';
import { Cached } from '../../util/cached.js';

export class SimReader {
  readonly netns: Cached<Map<string, NetnsStats>>;

  constructor(readonly sim: Simulation) {
    // fewer shells than a build uses: this runs beside whatever the user does
    this.netns = new Cached(400, () =>
      netnsStats(
        [...sim.nodes.values()].map((n) => n.ns),
        2,
        sim.model.families.includes(6),
      ),
    );
  }
}
