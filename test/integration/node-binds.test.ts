// A lab's binds in each node's own mount namespace: a script bound to /config/setup.sh (a
// directory the host lacks) runs from exec: and addresses the node (by its hostname), so a
// ping crosses the link; a :ro bind refuses writes; the host gains no /config, keeps its
// /etc/hosts and hostname, and after teardown no mount, namespace file or root is left.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { mntFile, nodeNsDir } from '../../src/kernel/enter.js';
import { loadTopology, PROJECT_ROOT } from '../../src/model/load.js';
import { Simulation } from '../../src/runtime/simulation.js';
import { runNetsim, startUp, waitReady } from '../lib/cli.js';
import { requireRoot, uniqueName } from '../lib/harness.js';

const DIR = join(PROJECT_ROOT, 'test/fixtures/clab-binds');
const LAB = join(DIR, 'binds.clab.yml');

function leftovers(sim: string): string[] {
  // the simulation's own directory of namespace files (a tmpfs), and its files
  const dir = nodeNsDir(sim);
  const files = existsSync(dir) ? [dir, ...readdirSync(dir)] : [];
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(`netsim-${sim}-`) || l.includes(` ${dir} `));
  return [...files, ...mounts];
}

if (requireRoot(t)) {
  t.test('binds at their destinations, exec: runs the bound script, :ro refuses writes', async (t) => {
    const hosts = readFileSync('/etc/hosts', 'utf8');
    const host = hostname();
    t.notOk(existsSync('/config'), 'the host has no /config to start with');
    const { model, notes } = await loadTopology(LAB, { simName: uniqueName('bd') });
    t.match(
      (notes ?? []).join('\n'),
      /mounted in their node's own mount namespace/,
      'the import says where binds go',
    );
    const sim = await Simulation.up(model);
    let down = false;
    t.teardown(() => (down ? undefined : sim.down()));
    const [h1, h2] = [sim.node('h1'), sim.node('h2')];
    t.ok(existsSync(mntFile(h1.ns)), 'h1 has a mount namespace file');
    t.equal(
      (await h1.cmd('cat /config/setup.sh')).trim(),
      readFileSync(join(DIR, 'setup.sh'), 'utf8').trim(),
      'h1 sees the script at /config/setup.sh',
    );
    t.match(await h2.cmd('ip -o addr show eth1'), /10\.0\.9\.2\/24/, "h2's exec: ran setup.sh (its address)");
    t.equal(
      (await h1.exec('ping -c1 -W2 10.0.9.2')).exitCode,
      0,
      'h1 pings h2 over the addresses setup.sh set',
    );
    const write = await h1.exec('echo changed > /config/readonly.txt');
    t.not(write.exitCode, 0, 'the :ro bind refuses a write');
    t.match(write.stderr, /Read-only file system/);
    t.equal(
      readFileSync(join(DIR, 'readonly.txt'), 'utf8'),
      'read-only by the lab\n',
      'its source is unchanged',
    );
    t.equal((await h1.exec('touch /config/new-file')).exitCode, 0, 'the node may write in its own /config');
    t.equal((await h1.cmd('hostname')).trim(), 'h1', 'and keeps its hostname');
    t.notOk(existsSync('/config'), 'the host still has no /config');
    t.equal(
      (await h1.exec('test -d /proc/self && test -d /run/netns')).exitCode,
      0,
      'the rest is the host file system',
    );
    const name = model.name;
    await sim.down();
    down = true;
    t.same(leftovers(name), [], 'no mount, namespace file or root left after teardown');
    t.notOk(existsSync('/config'), 'nor a /config on the host');
    t.equal(readFileSync('/etc/hosts', 'utf8'), hosts, "the host's /etc/hosts is unchanged");
    t.equal(hostname(), host, "the host's hostname is unchanged");
  });

  t.test('kill -9 of netsim up with a bound lab, then netsim clean NAME', async (t) => {
    const name = uniqueName('bk');
    const fg = startUp(t, LAB, name);
    await waitReady(fg, name);
    const exec = await runNetsim(['exec', '--sim', name, 'h1', '--', 'cat', '/config/readonly.txt']);
    t.equal(exec.stdout, 'read-only by the lab\n', 'netsim exec enters the mount namespace');
    t.ok(leftovers(name).length > 0, 'before: namespace files and mounts');
    fg.child.kill('SIGKILL');
    await fg.exited;
    t.ok(leftovers(name).length > 0, 'kill -9 left them');
    t.equal((await runNetsim(['clean', name])).code, 0, `netsim clean ${name}`);
    t.same(leftovers(name), [], 'after: no mount, namespace file or root of it');
    t.notOk(existsSync('/config'), 'and no /config on the host');
  });
}
