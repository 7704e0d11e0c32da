// The verbs containerlab users type, through the real `netsim` binary on a small running lab:
// `exec` on several nodes (by name, label, kind; text and JSON; exit status when one fails),
// `save` (each FRR router's running configuration into files).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runNetsim, startUp, tempDir, waitReady, writeFile } from '../lib/cli.js';
import { requireFrr } from '../lib/frr.js';
import { requireRoot, uniqueName } from '../lib/harness.js';

const LAB = `
name: verbs
nodes:
  r1: {kind: router, ospf: {area: 0}, labels: {role: core}}
  r2: {kind: router, ospf: {area: 0}, labels: {role: core}}
  h1: {kind: host, labels: {role: edge, site: a}}
  h2: {kind: host, labels: {role: edge, site: b}}
links:
  - endpoints: [r1, r2]
  - endpoints: [h1, r1]
  - endpoints: [h2, r2]
`;

interface ExecJson {
  node: string;
  kind: string;
  exitCode: number;
  stdout: string;
  stderr: string;
}

if (requireRoot(t) && requireFrr(t)) {
  const dir = tempDir(t);
  const file = writeFile(dir, 'verbs.yml', LAB);
  const name = uniqueName('v');
  const fg = startUp(t, file, name);
  await waitReady(fg, name);

  t.test('exec on several nodes: each output under its name, exit 1 when one fails', async (t) => {
    const r = await runNetsim([
      'exec',
      '--sim',
      name,
      'h1',
      'h2',
      'r1',
      '--',
      'sh',
      '-c',
      'echo "$NETSIM_NODE"; [ "$NETSIM_NODE" != h2 ]',
    ]);
    t.equal(r.code, 1, 'h2 failed: exit 1');
    t.equal(
      r.stdout,
      [
        '--- h1 (host): exit 0',
        'h1',
        '--- h2 (host): exit 1',
        'h2',
        '--- r1 (router): exit 0',
        'r1',
        '1 of 3 nodes failed: h2',
        '',
      ].join('\n'),
      'grouped output, literally',
    );
    const ok = await runNetsim(['exec', '--sim', name, 'h1', 'h2', '--', 'ip -br addr show eth1']);
    t.equal(ok.code, 0, 'all succeed: exit 0');
    t.match(
      ok.stdout,
      /--- h1 \(host\): exit 0\neth1@if\d+ +UP +\d+\.\d+\.\d+\.\d+\/\d+/,
      "one argument runs through sh, in h1's namespace",
    );
    t.match(ok.stdout, /2 nodes: all exited 0\n$/);
  });

  t.test('exec --format json, --label, --kind', async (t) => {
    const r = await runNetsim([
      'exec',
      '--sim',
      name,
      '--label',
      'role=edge',
      '--format',
      'json',
      '--',
      'sh',
      '-c',
      'echo out-$NETSIM_NODE; echo err >&2; [ $NETSIM_NODE = h1 ]',
    ]);
    t.equal(r.code, 1, 'h2 failed: exit 1');
    const rows = JSON.parse(r.stdout) as ExecJson[];
    t.same(
      rows,
      [
        { node: 'h1', kind: 'host', exitCode: 0, stdout: 'out-h1\n', stderr: 'err\n' },
        { node: 'h2', kind: 'host', exitCode: 1, stdout: 'out-h2\n', stderr: 'err\n' },
      ],
      'label role=edge: h1 and h2, each {node, kind, exitCode, stdout, stderr}',
    );
    const two = await runNetsim([
      'exec',
      '--sim',
      name,
      '--label',
      'role=edge',
      '--label',
      'site=b',
      '--format',
      'json',
      '--',
      'true',
    ]);
    t.same(
      (JSON.parse(two.stdout) as ExecJson[]).map((x) => x.node),
      ['h2'],
      'two labels: both must match',
    );
    const kind = await runNetsim([
      'exec',
      '--sim',
      name,
      '--kind',
      'router',
      '--format',
      'json',
      '--',
      'vtysh',
      '-c',
      'show running-config',
    ]);
    t.equal(kind.code, 0, 'vtysh on every router');
    const routers = JSON.parse(kind.stdout) as ExecJson[];
    t.same(
      routers.map((x) => x.node),
      ['r1', 'r2'],
      '--kind router: r1, r2',
    );
    t.match(routers[0].stdout, /router ospf/, "vtysh reaches the router's daemons");
  });

  t.test('exec: bad selections give one clear error each', async (t) => {
    const unknown = await runNetsim(['exec', '--sim', name, 'h1', 'nosuch', '--', 'true']);
    t.equal(unknown.code, 1);
    t.match(
      unknown.stderr,
      /^error: no node "nosuch" in \S+ \(nodes: r1, r2, h1, h2\)\n$/,
      'unknown node named',
    );
    const none = await runNetsim(['exec', '--sim', name, '--label', 'role=none', '--', 'true']);
    t.equal(none.code, 1);
    t.equal(none.stderr, `error: no node of ${name} has label role=none\n`, 'a label no node has');
    const bad = await runNetsim(['exec', '--sim', name, '--label', 'role', '--', 'true']);
    t.equal(bad.stderr, 'error: --label: "role" is not KEY=VALUE\n', 'a label without =');
    const nocmd = await runNetsim(['exec', '--sim', name, 'h1', 'h2', '--']);
    t.equal(nocmd.stderr, 'error: exec on several nodes needs a command (after --)\n');
  });

  t.test("save: each FRR router's running configuration in <dir>/<node>/frr.conf", async (t) => {
    const out = join(dir, 'out');
    const r = await runNetsim(['save', '--sim', name, '-o', out]);
    t.equal(r.code, 0, r.stderr);
    t.equal(
      r.stdout,
      `saved r1: ${join(out, 'r1', 'frr.conf')}\nsaved r2: ${join(out, 'r2', 'frr.conf')}\n`,
      'says what it wrote',
    );
    for (const node of ['r1', 'r2']) {
      const text = readFileSync(join(out, node, 'frr.conf'), 'utf8');
      t.match(
        text,
        new RegExp(`^!\nfrr version .*\nfrr defaults .*\nhostname ${node}\n`),
        `${node}: its hostname`,
      );
      t.match(text, /\nrouter ospf\n/, `${node}: its router ospf`);
      t.notMatch(text, /Building configuration|Current configuration/, "without vtysh's banner");
    }
    t.notOk(existsSync(join(out, 'h1')), 'hosts have no FRR: nothing saved for them');
    // default directory: netsim-<sim>/ next to the topology file
    const def = await runNetsim(['save', '--sim', name]);
    t.equal(def.code, 0, def.stderr);
    t.ok(
      existsSync(join(dir, `netsim-${name}`, 'r2', 'frr.conf')),
      'default: netsim-<sim>/ next to the file',
    );
  });
}
