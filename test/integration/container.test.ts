// What the docker image relies on: netsim run from a network namespace that is not the host's
// (as in a container) builds and tears down as usual, and says so in a note where it cannot
// change what only the host's namespace has (the neighbour table limits) instead of failing.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import t from 'tap';
import { readNeighThresholds } from '../../src/kernel/neigh.js';
import { simDir } from '../../src/runtime/paths.js';
import { NETSIM, netsim, tempDir, writeFile } from '../lib/cli.js';
import { namespacesOf, requireRoot, uniqueName } from '../lib/harness.js';

const TOPOLOGY = `
name: ctr
nodes:
  h1: {kind: host}
  h2: {kind: host}
  s1: {kind: switch, subnet: 10.71.1.0/24}
links:
  - endpoints: [h1, s1]
  - endpoints: [h2, s1]
`;

function run(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

if (requireRoot(t)) {
  t.test('up --script from a network namespace of its own (unshare --net)', async (t) => {
    const dir = tempDir(t);
    const file = writeFile(dir, 'topo.yml', TOPOLOGY);
    const script = writeFile(dir, 'lines.txt', 'h1 ping -c1 -W2 h2\npingall\n');
    const name = uniqueName('k');
    t.teardown(async () => {
      if (existsSync(simDir(name))) await netsim(['clean', name]);
    });
    const before = readNeighThresholds();
    const r = await run([
      'unshare',
      '--net',
      '--',
      process.execPath,
      NETSIM,
      'up',
      file,
      '-n',
      name,
      '--script',
      script,
    ]);
    t.equal(r.code, 0, 'the script passes', { stderr: r.stderr });
    t.match(r.stdout, /1 received/, 'h1 pings h2');
    t.match(r.stdout, /0% dropped \(2\/2 received\)/, 'pingall');
    t.match(
      r.stderr,
      /note: the IPv4 neighbour table limits .* are not visible in this network namespace/,
      'a note says the neighbour table limits are left alone',
    );
    t.notMatch(r.stderr, /^error:/m, 'and no error');
    t.same(namespacesOf(name), [], 'no namespace left');
    t.notOk(existsSync(simDir(name)), 'no state directory left');
    // other simulations may raise them meanwhile; this one must not have lowered them
    const after = readNeighThresholds();
    t.ok(Number(after.gc_thresh3) >= Number(before.gc_thresh3), "the host's limits untouched by it");
  });
}
