// Nodes as light containers: each node and each pod has its own UTS namespace with its name
// as hostname, entered with the network namespace by every command netsim starts there (a
// node's exec, daemons, the REPL, a pod's command); teardown leaves no namespace file or
// mount behind and the host's hostname untouched.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { PodNode } from '../../src/features/k8s/pod.js';
import { NODE_NS_DIR, nodeNsDir, utsFile } from '../../src/kernel/enter.js';
import { run } from '../../src/kernel/run.js';
import { loadTopology, PROJECT_ROOT } from '../../src/model/load.js';
import { Simulation } from '../../src/runtime/simulation.js';
import { waitFor } from '../../src/util/wait.js';
import { requireFrr } from '../lib/frr.js';
import { modelFromYaml, requireRoot, uniqueName, up } from '../lib/harness.js';
import { repl } from '../lib/repl.js';

const ISIS_LAB = join(PROJECT_ROOT, 'test/fixtures/clab-isis-pair/isis-pair.clab.yml');

const hostHostname = hostname();

/** Mounts whose mount point names one of the simulation's namespaces. */
function mountsOf(sim: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(`netsim-${sim}-`) || l.includes(` ${nodeNsDir(sim)} `));
}

if (requireRoot(t)) {
  t.test('hostname in a host, a router, a worker and a pod', async (t) => {
    const model = modelFromYaml(`
name: x
nodes:
  s1: {kind: switch, subnet: 192.168.70.0/24}
  h1: {kind: host}
  r1: {kind: router}
  C0:
    kind: cluster
    underlay: s1
    podCidr: 10.244.0.0/16
    workers: 1
    pods:
      c1: {worker: w1, command: "sleep 600"}
  s0: {kind: switch, subnet: 10.0.1.0/24}
links:
  - endpoints: [h1, s0]
  - endpoints: [r1, s0]
  - endpoints: [r1, s1]
`);
    const sim = await up(t, model);
    const name = model.name;
    const namespaces = ['h1', 'r1', 'C0w1', 'c1'].map((n) => sim.node(n).ns);
    for (const node of ['h1', 'r1', 'C0w1', 'c1']) {
      t.equal((await sim.node(node).cmd('hostname')).trim(), node, `${node}: hostname is its name`);
      t.ok(existsSync(utsFile(sim.node(node).ns)), `${node}: UTS namespace file under ${NODE_NS_DIR}`);
    }
    t.equal(hostname(), hostHostname, "the host's hostname is unchanged");
    const hosts = await sim.node('c1').cmd('cat /etc/hosts');
    t.match(hosts, /^127\.0\.0\.1\tlocalhost$/m, "the pod's /etc/hosts: localhost");
    t.match(
      hosts,
      new RegExp(`^${sim.node('c1').ip}\\tc1$`, 'm'),
      'and its own IP and name, as the kubelet writes it',
    );
    t.equal(
      (await sim.node('c1').exec('getent hosts c1')).stdout.split(/\s+/)[0],
      sim.node('c1').ip,
      'so its name resolves to its IP inside it',
    );
    t.not(readFileSync('/etc/hosts', 'utf8'), hosts, "the host's /etc/hosts is not the pod's");
    const r = repl(sim);
    t.match((await r.run('h1 hostname')).out, /^h1\n/, 'REPL: h1 hostname');
    t.match((await r.run('C0w1/c1 hostname')).out, /^c1\n/, 'REPL: C0w1/c1 hostname prints the pod name');
    // a pod's command is started through the same door: its UTS namespace is c1's
    const pid = (sim.node('c1') as PodNode).pid!;
    t.equal(
      (await run('nsenter', ['--uts', '--target', String(pid), 'hostname'])).stdout.trim(),
      'c1',
      "the pod's command runs with c1 as its hostname",
    );
    t.ok(mountsOf(name).length > 0, 'the namespace files are mounts while running');
    t.ok(
      mountsOf(name).some((l) => l.includes(` ${nodeNsDir(name)} `) && l.includes(' - tmpfs ')),
      "the simulation's namespace files are on a tmpfs of its own (detached whole at teardown)",
    );
    await sim.down();
    t.same(mountsOf(name), [], 'no mount left after teardown');
    for (const ns of namespaces) t.notOk(existsSync(utsFile(ns)), `${ns}: UTS file removed`);
    t.notOk(existsSync(nodeNsDir(name)), "the simulation's directory of namespace files is gone");
    t.equal(hostname(), hostHostname, "the host's hostname is still unchanged");
  });

  t.test('IS-IS lists the neighbour under its node name (FRR takes the UTS hostname)', async (t) => {
    if (!requireFrr(t)) return;
    const { model } = await loadTopology(ISIS_LAB, { simName: uniqueName('isis') });
    const sim = await Simulation.up(model);
    t.teardown(() => sim.down());
    for (const [me, peer] of [
      ['r1', 'r2'],
      ['r2', 'r1'],
    ]) {
      // the adjacency comes up under the System Id; the name follows with the peer's LSP
      const named = new RegExp(`^\\s*${peer}\\s+eth1\\s+2\\s+Up`, 'm');
      let out = '';
      await waitFor(
        async () => {
          out = await sim.node(me).cmd("vtysh -c 'show isis neighbor'");
          return named.test(out);
        },
        { timeoutMs: 60000, what: `${me}'s IS-IS adjacency up with ${peer} named` },
      ).catch(() => undefined);
      t.match(out, named, `${me} lists ${peer} by name`);
      t.notMatch(out, new RegExp(`\\b${hostHostname}\\b`), `${me} lists no one under the machine's name`);
    }
  });
}
