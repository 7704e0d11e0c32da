// Runs the tap suite and ends with the plain summary line CI reads: "N passed, N failed, N skipped".
//
// Strict when CI=true or as root (where everything can run): a test file that ran no test at
// all (it planned none, e.g. "integration tests need root", or skipped every one of its
// tests) counts as failed, so a suite that quietly ran nothing cannot pass. Unprivileged
// developers still get a green unit run with the integration files reported as skipped.
import { spawn } from 'node:child_process';

const strict = /^(true|1|yes)$/i.test(process.env.CI ?? '') || process.getuid?.() === 0;
const args = process.argv.slice(2);
const child = spawn('npx', ['tap', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });

/** per test file (a top-level subtest of tap's output): its direct tests, run and skipped */
const files = new Map();
let current;
let tail = '';
let partial = '';

function scan(line) {
  let m = /^# Subtest: (.+)$/.exec(line);
  if (m) {
    current = { name: m[1], ran: 0, skipped: 0, reason: '' };
    files.set(current.name, current);
    return;
  }
  if (!current) return;
  // the file's own result: a file that failed is counted by tap already
  m = /^(not )?ok \d+ - /.exec(line);
  if (m) {
    current.failed = Boolean(m[1]);
    return;
  }
  // a file that planned no test: `1..0 # reason` (tap shows it as `ok N - file # SKIP reason`)
  m = /^ {4}1\.\.0(?: # (.*))?$/.exec(line);
  if (m) {
    current.reason = m[1] ?? 'no test planned';
    return;
  }
  // the file's own tests, one level in
  m = /^ {4}(?:not )?ok \d+ - (.*?)(?: # (SKIP|TODO)\b ?(.*))?$/i.exec(line);
  if (m) {
    if (m[2]?.toUpperCase() === 'SKIP') {
      current.skipped++;
      current.reason ||= m[3] || m[1];
    } else current.ran++;
  }
}

child.stdout.on('data', (d) => {
  process.stdout.write(d);
  const text = partial + d.toString();
  const lines = text.split('\n');
  partial = lines.pop() ?? '';
  for (const line of lines) scan(line);
  tail = (tail + d.toString()).slice(-4000);
});

child.on('close', (code) => {
  if (partial) scan(partial);
  const m = /# \{ ([^}]*) \}/.exec(tail);
  const counts = Object.fromEntries(
    (m?.[1] ?? '')
      .split(',')
      .map((kv) => kv.split(':').map((s) => s.trim()))
      .filter((kv) => kv.length === 2)
      .map(([k, v]) => [k, Number(v)]),
  );
  const passed = counts.pass ?? 0;
  let failed = (counts.fail ?? 0) + (code !== 0 && !counts.fail ? 1 : 0);
  let skipped = (counts.skip ?? 0) + (counts.todo ?? 0);
  const ranNothing = [...files.values()].filter((f) => f.ran === 0 && !f.failed);
  if (strict && ranNothing.length > 0) {
    for (const f of ranNothing) console.log(`not run: ${f.name}: ${f.reason || 'no test ran'}`);
    console.log(`${ranNothing.length} test file(s) ran no test; with CI=true or as root every file must run`);
    // each such file is one skip in tap's count (the file) or several (its tests): as one failure
    failed += ranNothing.length;
    skipped = Math.max(0, skipped - ranNothing.reduce((n, f) => n + Math.max(1, f.skipped), 0));
  }
  console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(strict && ranNothing.length > 0 ? 1 : (code ?? 1));
});
