// Every file of the bad-input corpus through the real `netsim up`: it must fail with exit
// status 2, exactly one located error (file, line, field path, message), the same error
// `netsim validate` prints, and leave no namespace and no state directory behind.
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import t, { type Test } from 'tap';
import { probeFeatures } from '../../src/kernel/features.js';
import { formatIssue, TopologyError } from '../../src/model/errors.js';
import { loadTopology } from '../../src/model/load.js';
import { runDir, simDir } from '../../src/runtime/paths.js';
import {
  boundedPool,
  CORPUS_DIR,
  checkError,
  corpusFiles,
  type Expectation,
  errorLines,
  readExpectation,
  runCli,
} from '../lib/corpus.js';
import { namespacesOf, requireRoot, uniqueName } from '../lib/harness.js';

// scenario call sites are reported in the .ts files, as the CLI does
process.setSourceMapsEnabled(true);

/** What `netsim validate` prints for a file: the same loader, in this process. */
async function validateErrors(file: string): Promise<string[]> {
  try {
    await loadTopology(file);
    return [];
  } catch (err) {
    if (!(err instanceof TopologyError)) throw err;
    return err.issues.map((i) => `error: ${formatIssue(i)}`);
  }
}

function leftovers(t: Test, sim: string): void {
  t.same(namespacesOf(sim), [], `no namespace netsim-${sim}-* is left`);
  t.notOk(existsSync(simDir(sim)), `no ${simDir(sim)} is left`);
}

if (requireRoot(t)) {
  const files = corpusFiles();
  t.ok(files.length >= 35, `the corpus has at least 35 files (${files.length})`);
  const features = await probeFeatures(runDir(), `netsim-${uniqueName('p')}--probe`);
  const jobs = files.map((file) => {
    const exp: Expectation = readExpectation(file);
    const missing = exp.needsMissing.filter((f) => features[f as keyof typeof features] !== false);
    return {
      exp,
      sim: uniqueName('bad'),
      skip: missing.length ? `this kernel has ${missing.join(', ')}` : '',
    };
  });

  const t0 = performance.now();
  const results = await boundedPool(jobs, 4, (job) =>
    job.skip ? Promise.resolve(undefined) : runCli(['up', job.exp.file, '--no-repl', '-n', job.sim]),
  );
  const ms = performance.now() - t0;
  t.comment(`netsim up on ${jobs.length} corpus files: ${(ms / 1000).toFixed(1)} s (4 at a time)`);

  for (const [i, job] of jobs.entries()) {
    const name = relative(CORPUS_DIR, job.exp.file);
    t.test(name, { skip: job.skip || false }, async (t) => {
      const res = results[i]!;
      t.notOk(res.timedOut, 'netsim up gave up instead of building the topology');
      t.equal(res.code, 2, 'exit status 2 (topology error)', { stderr: res.stderr });
      checkError(t, job.exp, res.stderr);
      // errors found while planning (e.g. a missing qdisc) are beyond what validate knows
      if (job.exp.needsMissing.length === 0) {
        t.same(
          errorLines(res.stderr),
          await validateErrors(job.exp.file),
          'the same error as netsim validate',
        );
      }
      leftovers(t, job.sim);
    });
  }

  t.test('a topology file that does not exist', async (t) => {
    const file = join(CORPUS_DIR, 'no_such_topology.yml');
    const sim = uniqueName('bad');
    const res = await runCli(['up', file, '--no-repl', '-n', sim]);
    t.equal(res.code, 2, 'exit status 2');
    const errors = errorLines(res.stderr);
    t.equal(errors.length, 1, 'exactly one error: line');
    t.ok(errors[0]?.startsWith(`error: ${file}: no such topology file or scenario`), 'says so', {
      found: errors[0],
    });
    leftovers(t, sim);
  });
}
