// `netsim validate` on every file of the bad-input corpus, as an unprivileged user: the
// same located error `netsim up` gives (see test/integration/bad-input.test.ts), no root needed.
import { join, relative } from 'node:path';
import t from 'tap';
import { runNetsim } from '../lib/cli.js';
import {
  boundedPool,
  CORPUS_DIR,
  checkError,
  corpusFiles,
  errorLines,
  readExpectation,
} from '../lib/corpus.js';

// as root, run as nobody: the point is that validating needs no privileges
const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
const user = asUser.uid === undefined ? 'the current user' : 'nobody';

const jobs = corpusFiles().map(readExpectation);
t.ok(jobs.length >= 35, `the corpus has at least 35 files (${jobs.length})`);
const t0 = performance.now();
const results = await boundedPool(jobs, 4, (exp) => runNetsim(['validate', exp.file], asUser));
t.comment(
  `netsim validate on ${jobs.length} files as ${user}: ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);

for (const [i, exp] of jobs.entries()) {
  t.test(relative(CORPUS_DIR, exp.file), async (t) => {
    const res = results[i];
    if (exp.needsMissing.length) {
      // found only while planning for this kernel: the topology itself is valid
      t.equal(res.code, 0, `valid as a topology (the error needs a kernel without ${exp.needsMissing})`, {
        stderr: res.stderr,
      });
      t.match(res.stdout, /: valid$/m);
      return;
    }
    t.equal(res.code, 2, `exit status 2 as ${user}`, { stderr: res.stderr });
    t.equal(res.stdout, '', 'nothing on stdout');
    checkError(t, exp, res.stderr);
  });
}

t.test('a file that does not exist', async (t) => {
  const file = join(CORPUS_DIR, 'no_such_topology.yml');
  const res = await runNetsim(['validate', file], asUser);
  t.equal(res.code, 2);
  const errors = errorLines(res.stderr);
  t.equal(errors.length, 1, 'exactly one error: line');
  t.ok(errors[0]?.startsWith(`error: ${file}: no such topology file or scenario`), 'says so', {
    found: errors[0],
  });
});
