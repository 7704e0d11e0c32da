// Structure rules that an import graph cannot see (dependency-cruiser checks the imports):
// - `nsenter` is spelled only in the kernel layer (src/kernel) and the agents' kernel module;
//   everything else enters a namespace through them, so every process is entered and
//   recorded the same way;
// - no source file is longer than a reader can hold in one sitting (400 lines).
// Exits 1 with a line per finding.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const KERNEL = [/^src\/kernel\//, /^src\/features\/k8s\/agent\/kernel\.ts$/];
const MAX_LINES = 400;

function* files(dir) {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) {
      if (e !== 'assets') yield* files(p);
    } else if (p.endsWith('.ts')) yield p;
  }
}

const findings = [];
for (const file of files(join(root, 'src'))) {
  const rel = relative(root, file);
  const lines = readFileSync(file, 'utf8').split('\n');
  if (lines.length > MAX_LINES) findings.push(`${rel}: ${lines.length} lines (at most ${MAX_LINES})`);
  if (KERNEL.some((re) => re.test(rel))) continue;
  lines.forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, '').replace(/^\s*\*.*$/, '');
    if (/nsenter/.test(code))
      findings.push(
        `${rel}:${i + 1}: builds an nsenter command (enter namespaces through src/kernel/enter.ts)`,
      );
  });
}
for (const f of findings) console.error(f);
if (findings.length) {
  console.error(`structure: ${findings.length} finding(s)`);
  process.exit(1);
}
console.log('structure: ok');
