// Each node's own /etc/hosts in an imported lab: the lab's nodes by name and as
// clab-<lab>-<node> at the addresses the nodes really have (here set by their exec lines),
// so `getent hosts` and `ping <node>` work inside a node; the hosts of one LAN (model addresses)
// share one file; the host's /etc/hosts never changes;
// after teardown, and after kill -9 + `netsim clean NAME`, no mount, file or namespace is left.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { mntFile, nodeNsDir } from '../../src/kernel/enter.js';
import { loadTopology, PROJECT_ROOT } from '../../src/model/load.js';
import { builtinTopology } from '../../src/model/topos.js';
import { validate } from '../../src/model/validate.js';
import { simDir } from '../../src/runtime/paths.js';
import { Simulation } from '../../src/runtime/simulation.js';
import { runNetsim, startUp, waitReady } from '../lib/cli.js';
import { requireRoot, uniqueName } from '../lib/harness.js';

const LAB = join(PROJECT_ROOT, 'test/fixtures/clab-hosts/hosts.clab.yml');

function leftovers(sim: string): string[] {
  // the simulation's own directory of namespace files (a tmpfs), and its files
  const dir = nodeNsDir(sim);
  const files = existsSync(dir) ? [dir, ...readdirSync(dir)] : [];
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(`netsim-${sim}-`) || l.includes(` ${dir} `) || l.includes(`/sims/${sim}/`));
  return [...files, ...mounts, ...(existsSync(simDir(sim)) ? [simDir(sim)] : [])];
}

if (requireRoot(t)) {
  t.test('getent and ping by node name inside the nodes of a lab', async (t) => {
    const hosts = readFileSync('/etc/hosts', 'utf8');
    const { model } = await loadTopology(LAB, { simName: uniqueName('eh') });
    const sim = await Simulation.up(model);
    let down = false;
    t.teardown(() => (down ? undefined : sim.down()));
    const [h1, h2, h3] = [sim.node('h1'), sim.node('h2'), sim.node('h3')];
    for (const n of [h1, h2, h3]) t.ok(existsSync(mntFile(n.ns)), `${n.name} has a mount namespace`);
    t.match(await h1.cmd('getent hosts h2'), /^10\.0\.7\.2\s+h2 clab-hosts-h2$/m, 'h1 resolves h2');
    t.match(
      await h1.cmd('getent hosts clab-hosts-h3'),
      /^10\.0\.8\.3\s+h3 clab-hosts-h3$/m,
      "h1 resolves h3's container name (a bind-holding node's address)",
    );
    t.match(await h3.cmd('getent hosts h1'), /^10\.0\.7\.1\s/m, 'h3 (with binds) resolves h1');
    t.equal((await h3.cmd('cat /config/note.txt')).trim(), 'bound by the lab', "h3's bind is there too");
    t.match(await h2.cmd('hostname -i'), /10\.0\.7\.2/, "h2's own name resolves to its address");
    for (const [from, to] of [
      [h2, 'h1'],
      [h2, 'h3'],
      [h1, 'h2'],
      [h3, 'clab-hosts-h2'], // at h2's address on their subnet (eth2), not its first (eth1)
    ] as const) {
      const r = await from.exec(`ping -c1 -W2 ${to}`);
      t.equal(r.exitCode, 0, `${from.name}: ping -c1 ${to}`);
    }
    t.not(
      (await h1.exec('ping -c1 -W1 h3')).exitCode,
      0,
      'h1 has no route to h3: the name alone does not help',
    );
    t.equal(readFileSync('/etc/hosts', 'utf8'), hosts, "the host's /etc/hosts is unchanged");
    t.notOk(/clab-hosts-h1/.test(readFileSync('/etc/hosts', 'utf8')), 'it lists no node of the lab');
    const name = model.name;
    await sim.down();
    down = true;
    t.same(leftovers(name), [], 'no mount, namespace file or hosts file left after teardown');
  });

  t.test('the hosts of one LAN share one /etc/hosts file; each resolves the others and itself', async (t) => {
    const topo = builtinTopology('single,3')!;
    const model = validate(topo.toSpec(), topo.source, { simName: uniqueName('es') });
    model.hosts = {};
    const sim = await Simulation.up(model);
    t.teardown(() => sim.down());
    const inode = async (n: string) => (await sim.node(n).cmd('stat -c %d:%i /etc/hosts')).trim();
    t.equal(await inode('h2'), await inode('h1'), 'h1 and h2: one file');
    t.equal(await inode('h3'), await inode('h1'), 'h1 and h3: one file');
    t.not(await inode('s1'), await inode('h1'), 'the switch (no address, its own 127.0.1.1 line): another');
    t.equal(readdirSync(join(simDir(model.name), 'hosts')).length, 2, 'two files for four nodes');
    for (const n of ['h1', 'h2', 'h3'])
      t.equal((await sim.node(n).cmd('hostname -i')).trim(), sim.node(n).ip, `${n}'s own name: its address`);
    const line = (await sim.node('h1').cmd('getent hosts h3')).trim().split(/\s+/);
    t.same(line, [sim.node('h3').ip, 'h3'], 'h1 resolves h3 at its address');
    t.match(
      await sim.node('s1').cmd('getent hosts s1'),
      /^127\.0\.1\.1\s+s1$/m,
      'the switch resolves itself',
    );
    t.equal((await sim.node('h2').exec('ping -c1 -W2 h3')).exitCode, 0, 'h2: ping -c1 h3');
  });

  t.test('kill -9 of netsim up with a lab, then netsim clean NAME', async (t) => {
    const name = uniqueName('ek');
    const fg = startUp(t, LAB, name);
    await waitReady(fg, name);
    const exec = await runNetsim(['exec', '--sim', name, 'h1', '--', 'getent', 'hosts', 'h3']);
    t.match(exec.stdout, /^10\.0\.8\.3\s/, 'netsim exec sees the node /etc/hosts');
    t.ok(leftovers(name).length > 0, 'before: namespace files, mounts and hosts files');
    fg.child.kill('SIGKILL');
    await fg.exited;
    t.ok(leftovers(name).length > 0, 'kill -9 left them');
    t.equal((await runNetsim(['clean', name])).code, 0, `netsim clean ${name}`);
    t.same(leftovers(name), [], 'after: nothing of it');
  });
}
