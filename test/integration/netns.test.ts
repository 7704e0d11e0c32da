// `netsim clean --all` removes netsim-* namespaces that no ledger records. Run here on
// namespaces of our own making (clean --all itself would also stop other people's simulations).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { spawnIn } from '../../src/kernel/enter.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { Ledger } from '../../src/kernel/ledger.js';
import { addNetworkNamespaces, deleteNamespaces, deleteNetworkNamespaces } from '../../src/kernel/netns.js';
import { isRunning, processStartTime } from '../../src/kernel/proc.js';
import { ensureTmpfs, topMount } from '../../src/kernel/tmpfs.js';
import { waitFor } from '../../src/util/wait.js';
import { namespacesOf, requireRoot, uniqueName } from '../lib/harness.js';

/** The error of a netns add that met an existing namespace file (ip's words, then ip's own line). */
const existsError = (ns: string) =>
  new RegExp(`^netns add failed \\(exit 1\\): Cannot create namespace file "/run/netns/${ns}": File exists`);

if (requireRoot(t)) {
  t.test('removeUnrecordedNamespaces kills what runs inside and deletes the namespaces', async (t) => {
    const sim = uniqueName('orph');
    const names = [`netsim-${sim}-a`, `netsim-${sim}-b`];
    t.teardown(() => deleteNamespaces(names));
    // recorded nowhere, like the leftovers of a feature probe killed midway
    await new Kernel(new Ledger('/dev/null')).addNamespaces(names);
    t.same(namespacesOf(sim).sort(), names);
    const child = spawnIn(names[0], ['sleep', '300'], { stdio: 'ignore' });
    const pid = child.pid!;
    const start = await waitFor(() => processStartTime(pid), { what: 'sleep to start' });
    await waitFor(() => Kernel.processesInNamespaces(new Set(names)).includes(pid), {
      what: 'sleep inside the namespace',
    });
    await Kernel.removeUnrecordedNamespaces(names);
    t.same(namespacesOf(sim), [], 'both namespaces deleted');
    await waitFor(() => !isRunning(pid, start), { timeoutMs: 2000, what: 'the process inside to die' });
    t.pass('the process inside was killed');
  });

  t.test(
    'namespaces made and deleted by several processes: all of them, an existing one refused',
    async (t) => {
      const sim = uniqueName('many');
      const names = Array.from({ length: 600 }, (_, i) => `netsim-${sim}-h${i}`);
      t.teardown(() => deleteNamespaces(names));
      // 600: three parts of 250 on a machine with as many CPUs, 12 deleting processes
      await addNetworkNamespaces(names);
      t.same(namespacesOf(sim).sort(), [...names].sort(), 'every namespace made');
      const ids = new Set(names.map((n) => statSync(`/run/netns/${n}`).ino));
      t.equal(ids.size, names.length, 'each its own namespace');
      await deleteNetworkNamespaces(names);
      t.same(namespacesOf(sim), [], 'every namespace deleted');
      // one of a batch exists already: ip's error for it
      const clash = [`netsim-${sim}-x0`, `netsim-${sim}-x1`, `netsim-${sim}-x2`];
      t.teardown(() => deleteNamespaces(clash));
      await addNetworkNamespaces([clash[1]]);
      await t.rejects(addNetworkNamespaces(clash), { message: existsError(clash[1]) });
      // one part for three names: it stops there, as `ip -batch` does (the ledger lists them all)
      t.same(namespacesOf(sim).sort(), clash.slice(0, 2), 'the one before it made, none after');
      // 600 names: two forked parts; the one that meets it stops with the same message
      const many = Array.from({ length: 600 }, (_, i) => `netsim-${sim}-y${i}`);
      t.teardown(() => deleteNamespaces(many));
      await addNetworkNamespaces([many[1]]);
      await t.rejects(addNetworkNamespaces(many), { message: existsError(many[1]) });
      t.ok(
        namespacesOf(sim).filter((n) => n.includes('-y')).length > 300,
        'the other part made its half (the ledger lists them all for teardown)',
      );
    },
  );

  t.test('ensureTmpfs: a tmpfs on an empty directory that lies on a disk, never over files', async (t) => {
    const base = mkdtempSync('/var/tmp/netsim-tmpfs-');
    const empty = join(base, 'empty');
    const busy = join(base, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'keep'), 'x');
    t.teardown(async () => {
      for (const d of [empty, busy]) while (topMount(d).at === d) await Kernel.tool(undefined, 'umount', [d]);
      rmSync(base, { recursive: true, force: true });
    });
    if (topMount(base).fstype === 'tmpfs') {
      t.plan(0, `${base} is on a tmpfs already: nothing to mount`);
      return;
    }
    await ensureTmpfs(empty, { mode: '0755', shared: true });
    const m = topMount(empty);
    t.same([m.at, m.fstype, m.shared], [empty, 'tmpfs', true], 'empty: a shared tmpfs of its own');
    await ensureTmpfs(empty, { mode: '0755', shared: true });
    t.equal(
      readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .filter((l) => l.split(' ')[4] === empty).length,
      1,
      'asked again: still one mount',
    );
    await ensureTmpfs(busy, { mode: '0755', shared: true });
    t.not(topMount(busy).fstype, 'tmpfs', 'a directory holding files is not covered');
    t.ok(existsSync(join(busy, 'keep')), 'its file is still there');
    t.same([topMount(busy).at, topMount(busy).shared], [busy, true], 'but a shared mount point of its own');
  });

  t.test('Kernel.tool runs a read-only tool in a namespace without a Kernel instance', async (t) => {
    const sim = uniqueName('tool');
    const ns = `netsim-${sim}-a`;
    t.teardown(() => deleteNamespaces([ns]));
    await new Kernel(new Ledger('/dev/null')).addNamespaces([ns]);
    const res = await Kernel.tool(ns, 'ip', ['-o', 'link', 'show']);
    t.equal(res.exitCode, 0);
    t.match(res.stdout, /\blo\b/, 'the namespace has its own lo');
    t.notMatch(res.stdout, /\beth0\b|\benp/, 'and none of the host interfaces');
    const failed = await Kernel.tool(ns, 'sh', ['-c', 'exit 3'], { check: false });
    t.equal(failed.exitCode, 3, 'check: false returns the exit status instead of throwing');
  });
}
