// Nodes as light containers: each node and each pod has its own UTS namespace with its name
// as hostname, entered with the network namespace by every command netsim starts there (a
// node's exec, daemons, the REPL, a pod's command); teardown leaves no namespace file or
// mount behind and the host's hostname untouched.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import t from 'tap';
import type { PodNode } from '../../src/features/k8s/pod.js';
import { NODE_NS_DIR, utsFile } from '../../src/kernel/enter.js';
import { run } from '../../src/kernel/run.js';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';
import { repl } from '../lib/repl.js';

const hostHostname = hostname();

/** Mounts whose mount point names one of the simulation's namespaces. */
function mountsOf(sim: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(`netsim-${sim}-`));
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
    await sim.down();
    t.same(mountsOf(name), [], 'no mount left after teardown');
    for (const ns of namespaces) t.notOk(existsSync(utsFile(ns)), `${ns}: UTS file removed`);
    t.equal(hostname(), hostHostname, "the host's hostname is still unchanged");
  });
}
