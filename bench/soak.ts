// `npm run soak`: the chaos soak (bench/soak-run.ts) from the command line, not part of CI.
//
//   node dist/bench/soak.js [--minutes 10] [--seed N] [--json] [--name so...]
//
// --keep DIR: when something stays broken, the simulation's directory (logs) is copied there.
// Prints the schedule as it runs, then a table per fault kind (count, outage the traffic saw:
// median and max, requests lost), the flows and the invariants after the faults; exits 1 when
// an invariant does not hold or a fault could not be undone. The same seed replays the same
// schedule. The fuzzers' soak is `NETSIM_FUZZ_RUNS=5000 npx tap dist/test/unit/fuzz-*.test.js`.
import { randomBytes, randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { registerBuiltins } from '../src/features/index.js';
import { formatReport } from './soak-report.js';
import { runSoak } from './soak-run.js';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      seed: { type: 'string' },
      json: { type: 'boolean', default: false },
      name: { type: 'string' },
      keep: { type: 'string' },
    },
  });
  const minutes = Number(values.minutes);
  const seed = values.seed === undefined ? randomInt(1, 2 ** 31) : Number(values.seed);
  if (!(minutes > 0) || !Number.isInteger(seed)) {
    process.stderr.write('usage: soak [--minutes M] [--seed N] [--json] [--name NAME] [--keep DIR]\n');
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('the soak needs root (network namespaces)\n');
    return 2;
  }
  registerBuiltins();
  const log = (l: string) => process.stderr.write(`${l}\n`);
  log(`soak: ${minutes} min, seed ${seed} (replay: npm run soak -- --minutes ${minutes} --seed ${seed})`);
  const report = await runSoak({
    seed,
    durationMs: minutes * 60000,
    simName: values.name ?? `so${randomBytes(3).toString('hex')}`,
    log,
    keepDir: values.keep,
  });
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report.ok ? 0 : 1;
}

process.exitCode = await main();
