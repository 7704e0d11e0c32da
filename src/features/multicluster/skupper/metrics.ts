// What Skupper-style sites export at /metrics: each link's state, the connections (streams) it
// carries now, and how many of them wait for the receiver's credit (a reader that does not
// read stalls its own stream, never the link). Read from each started site's router over its
// control socket at scrape time, at most once per 500 ms.
import { ObjectKey } from '../../../runtime/objects.js';
import type { MetricFamily } from '../../../runtime/plugin.js';
import type { Simulation } from '../../../runtime/simulation.js';
import { Cached } from '../../../util/cached.js';
import { sitesOf } from './site.js';

interface LinkRow {
  cluster: string;
  link: string;
  peer: string;
  up: boolean;
  streams: number;
  stalled: number;
}

interface LinkView {
  name: string;
  site?: string;
  state: string;
  streams?: number;
  stalled?: number;
}

const LINKS = new ObjectKey<Cached<LinkRow[]>>('Skupper link rows');

function linksOf(sim: Simulation): Cached<LinkRow[]> {
  return sim.objects.state(
    LINKS,
    () =>
      new Cached(500, async () => {
        const out: LinkRow[] = [];
        for (const site of sitesOf(sim)) {
          // a router that is down has no links to report
          const st = (await site.status().catch(() => undefined)) as { links?: LinkView[] } | undefined;
          for (const l of st?.links ?? [])
            out.push({
              cluster: site.name,
              link: l.name,
              peer: l.site ?? '',
              up: l.state === 'up',
              streams: l.streams ?? 0,
              stalled: l.stalled ?? 0,
            });
        }
        return out;
      }),
  );
}

const LABELS = ['cluster', 'link', 'peer'] as const;

export function skupperMetrics(sim: Simulation): MetricFamily[] {
  const rows = linksOf(sim);
  const family = (name: string, help: string, value: (r: LinkRow) => number): MetricFamily => ({
    name,
    help,
    type: 'gauge',
    labels: LABELS,
    async collect() {
      return (await rows.get()).map((r) => ({
        labels: { cluster: r.cluster, link: r.link, peer: r.peer },
        value: value(r),
      }));
    },
  });
  return [
    family('netsim_skupper_link_up', 'Skupper-style site link up (1) or not (0)', (r) => (r.up ? 1 : 0)),
    family(
      'netsim_skupper_link_streams',
      'Connections (streams) a Skupper-style link carries now',
      (r) => r.streams,
    ),
    family(
      'netsim_skupper_link_stalled_streams',
      "Streams on a Skupper-style link whose sender waits for the receiver's credit",
      (r) => r.stalled,
    ),
  ];
}
