// What the docker image relies on: netsim run from a network namespace that is not the host's
// (as in a container) builds and tears down as usual, and says so in a note where it cannot
// change what only the host's namespace has (the neighbour table limits) instead of failing.
import { existsSync } from 'node:fs';
import t from 'tap';
import { readNeighThresholds } from '../../src/kernel/neigh.js';
import { simDir } from '../../src/runtime/paths.js';
import { runNetsim, tempDir, writeFile } from '../lib/cli.js';
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

if (requireRoot(t)) {
  t.test('up --script from a network namespace of its own (unshare --net)', async (t) => {
    const dir = tempDir(t);
    const file = writeFile(dir, 'topo.yml', TOPOLOGY);
    const script = writeFile(dir, 'lines.txt', 'h1 ping -c1 -W2 h2\npingall\n');
    const name = uniqueName('k');
    t.teardown(async () => {
      if (existsSync(simDir(name))) await runNetsim(['clean', name]);
    });
    const before = readNeighThresholds();
    const r = await runNetsim(['up', file, '-n', name, '--script', script], {
      under: ['unshare', '--net', '--'],
      timeoutMs: 120000,
    });
    t.equal(r.code, 0, 'the script passes', { stderr: r.stderr });
    t.match(r.stdout, /1 received/, 'h1 pings h2');
    t.match(r.stdout, /0% dropped \(2\/2 received\)/, 'pingall');
    t.match(
      r.stderr,
      /note: the neighbour table limits .* are not visible in this network namespace/,
      'a note says the neighbour table limits are left alone',
    );
    t.notMatch(r.stderr, /^error:/m, 'and no error');
    t.same(namespacesOf(name), [], 'no namespace left');
    t.notOk(existsSync(simDir(name)), 'no state directory left');
    // other simulations may raise them meanwhile; this one must not have lowered them
    const after = readNeighThresholds();
    t.ok(
      Number(after['ipv4.gc_thresh3']) >= Number(before['ipv4.gc_thresh3']),
      "the host's limits untouched by it",
    );
  });
}
