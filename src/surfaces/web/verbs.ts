// REPL verbs to see the simulation: `web` (the web view's URL, started if needed) and the
// workloads pods replay (`workload c2 profile.yml`, `workload c2 stop`, `workloads`).

import { workloadsOf } from '../../features/workload/player.js';
import { formatIssue, TopologyError } from '../../model/errors.js';
import type { Simulation } from '../../runtime/simulation.js';
import { webServerOf } from './server.js';

export interface SeeVerb {
  names: string[];
  usage: string;
  help: string;
  run(args: string[], rest: string): Promise<number>;
}

export function seeVerbs(
  sim: Simulation,
  io: { out: (t: string) => void; err: (t: string) => void },
): SeeVerb[] {
  return [
    {
      names: ['web'],
      usage: 'web',
      help: 'the URL of the live web view and /metrics (started on 127.0.0.1 if needed)',
      async run() {
        const web = await webServerOf(sim);
        io.out(
          `${web.url}\n  metrics: ${new URL(`metrics${web.token ? `?token=${web.token}` : ''}`, web.url)}\n`,
        );
        return 0;
      },
    },
    {
      names: ['workload'],
      usage: 'workload pod file|stop',
      help: "replay a workload template in a pod (series in /metrics, traffic at the profile's rate)",
      async run([pod, what]) {
        if (!pod || !what) {
          io.err('*** usage: workload <pod> <template.yml> | workload <pod> stop\n');
          return 1;
        }
        const w = workloadsOf(sim);
        if (what === 'stop') {
          if (!(await w.stop(pod))) {
            io.err(`*** ${pod} replays no workload\n`);
            return 1;
          }
          io.out(`${pod}: workload stopped\n`);
          return 0;
        }
        try {
          const s = await w.start(pod, what);
          io.out(`${pod}: replaying ${s.workload} (${Object.keys(s.values).join(', ') || 'traffic'})\n`);
          return 0;
        } catch (err) {
          if (!(err instanceof TopologyError)) throw err;
          for (const i of err.issues) io.err(`*** ${formatIssue(i)}\n`);
          return 1;
        }
      },
    },
    {
      names: ['workloads'],
      usage: 'workloads',
      help: 'the workloads pods replay, with their current samples',
      async run() {
        const samples = workloadsOf(sim).samples();
        if (samples.length === 0) io.out('no workloads (workload <pod> <template.yml>)\n');
        for (const s of samples) {
          const vals = Object.entries(s.values).map(([k, v]) => `${k}=${v}`);
          if (s.trafficBps) vals.push(`traffic=${s.trafficBps} bit/s`);
          io.out(
            `${s.pod.padEnd(12)} ${s.workload.padEnd(16)} ${`${s.cluster ?? ''}/${s.node ?? ''}`.padEnd(12)} step ${s.step}${s.ended ? ' (ended)' : ''}  ${vals.join(' ')}\n`,
          );
        }
        return 0;
      },
    },
  ];
}
