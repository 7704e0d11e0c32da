// Runs the tap suite and ends with the plain summary line CI reads: "N passed, N failed, N skipped".
import { spawn } from 'node:child_process';

const args = process.argv.slice(2);
const child = spawn('npx', ['tap', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
let tail = '';
child.stdout.on('data', (d) => {
  process.stdout.write(d);
  tail = (tail + d.toString()).slice(-4000);
});
child.on('close', (code) => {
  const m = /# \{ ([^}]*) \}/.exec(tail);
  const counts = Object.fromEntries(
    (m?.[1] ?? '')
      .split(',')
      .map((kv) => kv.split(':').map((s) => s.trim()))
      .filter((kv) => kv.length === 2)
      .map(([k, v]) => [k, Number(v)]),
  );
  const passed = counts.pass ?? 0;
  const failed = (counts.fail ?? 0) + (code !== 0 && !counts.fail ? 1 : 0);
  const skipped = (counts.skip ?? 0) + (counts.todo ?? 0);
  console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(code ?? 1);
});
