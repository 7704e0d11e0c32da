// One k8s measurement per process, for comparing two builds interleaved (the same machine
// state): `node dist/bench/k8s-probe.js many [workers] [podsPerWorker]` (through CNI) or
// `... default`; prints one JSON line: up, all pods reachable, the build's phases, agent RSS.
import { registerBuiltins } from '../src/features/index.js';
import { type PodRun, runDefaultScenario, runManyPods } from './k8s.js';
import { median } from './measure.js';

async function main(): Promise<void> {
  registerBuiltins();
  const [what = 'many', workers = '50', perWorker = '20'] = process.argv.slice(2);
  const r: PodRun =
    what === 'default'
      ? await runDefaultScenario()
      : await runManyPods(Number(workers), Number(perWorker), true);
  console.log(
    JSON.stringify({
      case: r.name,
      up: Number(r.up.toFixed(2)),
      reachable: Number(r.reachable.toFixed(2)),
      agentRssMiB: {
        median: Number(median(r.agentRssMiB).toFixed(1)),
        max: Number(Math.max(...r.agentRssMiB).toFixed(1)),
      },
      phases: r.phases,
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
