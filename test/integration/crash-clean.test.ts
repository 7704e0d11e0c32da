// kill -9 of `netsim up` (in the middle of the build, and once it is ready with processes
// running inside nodes), then `netsim clean NAME`: every namespace, process and file of that
// simulation is gone, and a second simulation running meanwhile is untouched.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { nodeNsDir } from '../../src/kernel/enter.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { simDir } from '../../src/runtime/paths.js';
import { sleep, waitFor } from '../../src/util/wait.js';
import {
  readSimState,
  runNetsim,
  startNetsim,
  startUp,
  tempDir,
  waitReady,
  whileRunning,
  writeFile,
} from '../lib/cli.js';
import { namespacesOf, requireRoot, uniqueName } from '../lib/harness.js';

/** 300 hosts on three switches: big enough that the build takes a while. */
function bigTopology(): string {
  const lines = ['name: big', 'nodes:'];
  for (let s = 1; s <= 3; s++) lines.push(`  s${s}: {kind: switch, subnet: 10.${60 + s}.0.0/24}`);
  for (let h = 1; h <= 300; h++) lines.push(`  h${h}: {kind: host}`);
  lines.push('links:');
  for (let h = 1; h <= 300; h++) lines.push(`  - endpoints: [h${h}, s${Math.ceil(h / 100)}]`);
  return `${lines.join('\n')}\n`;
}

const SMALL = `
name: small
nodes:
  h1: {kind: host}
  h2: {kind: host, exec: ["sleep 1000 &"]}
  s1: {kind: switch}
links:
  - endpoints: [h1, s1]
  - endpoints: [h2, s1]
`;

/** PIDs of processes whose network namespace is one of `sim`'s, with their command names. */
function processesOf(sim: string): { pid: number; comm: string }[] {
  return Kernel.processesInNamespaces(new Set(namespacesOf(sim))).map((pid) => ({
    pid,
    comm: comm(pid),
  }));
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Direct children of `pid` (from /proc/N/stat's ppid field). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

/** UTS/mount namespace files (kernel/nodens.ts) and mounts named after `sim`'s namespaces. */
function nodeNsLeftovers(sim: string): string[] {
  // the simulation's own directory of namespace files (a tmpfs), and its files
  const dir = nodeNsDir(sim);
  const files = existsSync(dir) ? [dir, ...readdirSync(dir)] : [];
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(`netsim-${sim}-`) || l.includes(` ${dir} `));
  return [...files, ...mounts];
}

function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

/** A second simulation that must come through the clean untouched: its namespaces and pings. */
async function bystander(t: Test, dir: string) {
  const name = uniqueName('by');
  const fg = startUp(t, writeFile(dir, 'bystander.yml', SMALL.replace('exec: ["sleep 1000 &"]', '')), name);
  await waitReady(fg, name);
  const namespaces = namespacesOf(name);
  const inodes = namespaces.map((n) => statSync(`/run/netns/${n}`).ino);
  return {
    name,
    async check(t: Test, when: string) {
      t.same(namespacesOf(name), namespaces, `${when}: the bystander's namespaces are all there`);
      t.same(
        namespaces.map((n) => statSync(`/run/netns/${n}`).ino),
        inodes,
        `${when}: and they are the same namespaces (not re-created)`,
      );
      t.equal(readSimState(name)?.status, 'ready', `${when}: the bystander is still ready`);
      const check = await runNetsim(['check', '--sim', name, '--json']);
      t.equal(check.code, 0, `${when}: the bystander still pings`);
    },
  };
}

if (requireRoot(t)) {
  t.test('kill -9 during the build of 300 hosts, then netsim clean NAME', async (t) => {
    const dir = tempDir(t);
    const other = await bystander(t, dir);
    const name = uniqueName('k');
    const fg = startUp(t, writeFile(dir, 'big.yml', bigTopology()), name);
    await whileRunning(
      fg,
      'the first namespaces of the build',
      waitFor(() => namespacesOf(name).length > 0, {
        what: 'the first namespaces of the build',
        timeoutMs: 30000,
        intervalMs: 2,
      }),
    );
    // freeze the tools the build had running (the `ip -batch` adding namespaces) before the
    // kill, and let them go on only after the clean: whatever they would still create must
    // not survive the clean
    const tools = childrenOf(fg.child.pid!);
    for (const pid of tools) process.kill(pid, 'SIGSTOP');
    t.teardown(() => {
      for (const pid of tools) signal(pid, 'SIGKILL');
    });
    fg.child.kill('SIGKILL');
    await fg.exited;
    const seen = namespacesOf(name).length;
    t.comment(
      `killed with ${seen} namespaces of ${name} present; frozen: ${tools.map((p) => `${comm(p)}:${p}`).join(' ')}`,
    );
    t.ok(tools.length > 0, 'the build was still running tools when it was killed');
    t.ok(existsSync(simDir(name)), 'the dead simulation left its state directory (the ledger)');

    const ls = await runNetsim(['ls', '--json']);
    const row = (JSON.parse(ls.stdout) as { name: string; status: string }[]).find((r) => r.name === name);
    t.match(row?.status, /crashed/, 'netsim ls shows it as crashed');

    const clean = await runNetsim(['clean', name]);
    t.equal(clean.code, 0, `netsim clean ${name} succeeds`);
    t.match(clean.stdout, new RegExp(`cleaned ${name}`));
    t.same(namespacesOf(name), [], 'no namespace of the killed simulation is left');
    for (const pid of tools) signal(pid, 'SIGCONT');
    t.ok(
      tools.every((pid) => !alive(pid)),
      'the orphaned tools of the killed build were stopped by the clean',
    );
    // a fixed wait on purpose: this checks that something does NOT happen (a namespace added
    // late by a tool of the killed build); there is no event to wait for
    await sleep(1000);
    t.same(namespacesOf(name), [], 'and none appears afterwards');
    t.same(processesOf(name), [], 'no process runs in its namespaces');
    t.notOk(existsSync(simDir(name)), `${simDir(name)} is gone`);
    t.notOk(
      readdirSync('/run/netns').some((n) => n.startsWith(`netsim-${name}-`)),
      'nothing named after it in /run/netns',
    );
    t.same(nodeNsLeftovers(name), [], 'no UTS namespace file or mount of it is left');
    await other.check(t, 'after the clean');
  });

  t.test('kill -9 once ready, with processes inside nodes, then netsim clean NAME', async (t) => {
    const dir = tempDir(t);
    const other = await bystander(t, dir);
    const name = uniqueName('k');
    const fg = startUp(t, writeFile(dir, 'small.yml', SMALL), name);
    const state = await waitReady(fg, name);
    const ls = JSON.parse((await runNetsim(['ls', '--json'])).stdout) as { name: string; status: string }[];
    t.equal(ls.find((r) => r.name === name)?.status, 'ready', 'netsim ls --json shows it ready');

    // a long-running process started from another shell, as a user would
    const exec = startNetsim(t, ['exec', '--sim', name, 'h1', '--', 'sleep', '1000']);
    const sleeps = await waitFor(
      () => {
        const s = processesOf(name).filter((p) => p.comm === 'sleep');
        return s.length === 2 ? s : undefined;
      },
      { what: 'both sleep processes (exec: line and netsim exec)', timeoutMs: 30000 },
    );
    const before = {
      namespaces: namespacesOf(name),
      processes: processesOf(name),
      files: existsSync(simDir(name)) ? readdirSync(simDir(name)) : [],
    };
    t.same(
      before.namespaces.sort(),
      state.nodes.map((n) => n.ns).sort(),
      'before: one namespace per node, as state.json lists',
    );
    t.ok(
      before.files.includes('ledger.jsonl') && before.files.includes('state.json'),
      'before: ledger and state',
    );
    t.comment(`before: ${before.processes.map((p) => `${p.comm}:${p.pid}`).join(' ')}`);
    const hostname = await runNetsim(['exec', '--sim', name, 'h1', '--', 'hostname']);
    t.equal(hostname.stdout.trim(), 'h1', 'netsim exec h1 -- hostname: h1 (its own UTS namespace)');
    t.ok(nodeNsLeftovers(name).length > 0, 'before: its UTS namespace files are mounted');

    fg.child.kill('SIGKILL');
    await fg.exited;
    t.same(namespacesOf(name), before.namespaces, 'kill -9 leaves the namespaces (nothing ran the teardown)');
    t.ok(
      sleeps.every((p) => alive(p.pid)),
      'and the processes inside them',
    );

    const clean = await runNetsim(['clean', name]);
    t.equal(clean.code, 0, `netsim clean ${name} succeeds`);
    t.match(clean.stdout, /cleaned .*: 3 namespaces, [1-9]\d* processes/);
    t.same(namespacesOf(name), [], 'after: no namespace of the simulation');
    for (const p of sleeps) t.notOk(alive(p.pid), `after: sleep ${p.pid} is gone`);
    t.notOk(existsSync(simDir(name)), `after: ${simDir(name)} is gone`);
    t.same(nodeNsLeftovers(name), [], 'after: no UTS namespace file or mount of it');
    await waitFor(() => exec.child.exitCode !== null || exec.child.signalCode !== null, {
      what: 'netsim exec to return once its command was killed',
      timeoutMs: 5000,
    });
    await other.check(t, 'after the clean');
    const again = await runNetsim(['clean', name]);
    t.equal(again.code, 0, 'a second clean is harmless');
  });

  t.test('kill -9 of a cluster whose pods went through CNI, then netsim clean NAME', async (t) => {
    const dir = tempDir(t);
    const name = uniqueName('kc');
    const fg = startUp(t, writeFile(dir, 'cluster.yml', CLUSTER), name);
    await waitReady(fg, name);
    const leases = join(simDir(name), 'workers', 'C0w1', 'cni', 'networks', 'cbr0');
    t.ok(
      existsSync(leases) && readdirSync(leases).some((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)),
      "before: host-local's lease files in the simulation directory",
    );
    const before = namespacesOf(name);
    t.ok(
      before.some((n) => n.endsWith('-C0w1-a1')),
      'before: the pods have namespaces',
    );
    fg.child.kill('SIGKILL');
    await fg.exited;
    t.same(namespacesOf(name), before, 'kill -9 ran no teardown and no DEL');
    const clean = await runNetsim(['clean', name]);
    t.equal(clean.code, 0, `netsim clean ${name} succeeds`);
    t.same(namespacesOf(name), [], "after: no namespace, so no pod's veth");
    t.same(processesOf(name), [], 'after: no process (agents, etcd)');
    t.notOk(existsSync(simDir(name)), "after: the simulation directory is gone, host-local's leases with it");
    t.same(nodeNsLeftovers(name), [], "after: no UTS namespace file or mount of a node's or pod's");
  });
}

const CLUSTER = `
name: kc
nodes:
  s1: {kind: switch, subnet: 192.168.66.0/24}
  C0:
    kind: cluster
    underlay: s1
    workers: 2
    etcd: 1
    dns: false
    pods:
      a1: {worker: w1}
      b1: {worker: w2}
`;
