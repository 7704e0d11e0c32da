// REPL verbs for workloads: replay a template in a pod (`workload c2 profile.yml`), stop it
// (`workload c2 stop`), and list what pods replay (`workloads`).
import { formatIssue, TopologyError } from '../../model/errors.js';
import type { Io, Verb } from '../../runtime/plugin.js';
import type { Simulation } from '../../runtime/simulation.js';
import { workloadsOf } from './player.js';

export function workloadVerbs(sim: Simulation, io: Io): Verb[] {
  return [
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
