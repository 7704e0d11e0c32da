// `netsim inspect` and `netsim graph` through the real binary, on a lab of two hosts and an
// FRR router run by `netsim up --no-repl` in the background: the nodes, kinds and addresses
// inspect reports are the live ones (an address it lists answers pings; one added by hand
// shows up), its daemon PIDs are FRR processes running in the router's namespace; graph
// draws the file without building anything; bad inputs give one clear error each.
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import t from 'tap';
import { runNetsim, startUp, tempDir, waitReady, writeFile } from '../lib/cli.js';
import { requireRoot, uniqueName } from '../lib/harness.js';

const LAB = `
name: insplab
nodes:
  h1: {kind: host}
  h2: {kind: host}
  r1: {kind: router, ospf: {area: 0}}
links:
  - endpoints: [h1, r1]
  - endpoints: [h2, r1]
`;

interface Row {
  name: string;
  kind: string;
  namespace: string;
  state: string;
  ipv4_address: string[];
  frr_daemons: { name: string; pid: number }[];
}

interface IfaceRow {
  node: string;
  interface: string;
  ipv4_address: string[];
  mac: string;
  mtu: number;
  state: string;
  peer: string;
}

const netnsOf = (pid: number) => readlinkSync(`/proc/${pid}/ns/net`);

t.test('graph FILE --mermaid: the topology drawn from its file, nothing built', async (t) => {
  const file = writeFile(tempDir(t), 'lab.yml', LAB);
  const res = await runNetsim(['graph', file, '--mermaid']);
  t.equal(res.code, 0, res.stderr);
  t.equal(
    res.stdout,
    `graph LR
  h1["h1<br/>host"]
  h2["h2<br/>host"]
  r1["r1<br/>router"]
  h1 ---|"eth1 - eth1"| r1
  h2 ---|"eth1 - eth2"| r1
`,
  );
  const missing = await runNetsim(['graph', `${file}.nope`, '--dot']);
  t.not(missing.code, 0, 'a missing file fails');
  t.match(missing.stderr, /^error: .*lab\.yml\.nope: no such topology file/);
  t.equal(missing.stderr.trim().split('\n').length, 1, 'one error line');
  const noFormat = await runNetsim(['graph', file]);
  t.equal(noFormat.code, 1);
  t.equal(noFormat.stderr, 'error: give one format: --mermaid, --drawio or --dot\n');
});

if (requireRoot(t)) {
  t.test('inspect with no simulation running: one clear error', async (t) => {
    const res = await runNetsim(['inspect'], { env: { NETSIM_RUN_DIR: tempDir(t) } });
    t.equal(res.code, 1);
    t.equal(res.stderr, 'error: no simulation is running (start one with netsim up)\n');
  });

  t.test('inspect a running lab: json, table, csv, interfaces, graph --sim', async (t) => {
    const file = writeFile(tempDir(t), 'lab.yml', LAB);
    const name = uniqueName('i');
    const fg = startUp(t, file, name);
    await waitReady(fg, name);

    const json = await runNetsim(['inspect', '--sim', name, '--format', 'json']);
    t.equal(json.code, 0, json.stderr);
    const rows = (JSON.parse(json.stdout) as Record<string, Row[]>)[name];
    t.same(
      rows.map((r) => [r.name, r.kind, r.namespace, r.state]),
      [
        ['h1', 'host', `netsim-${name}-h1`, 'running'],
        ['h2', 'host', `netsim-${name}-h2`, 'running'],
        ['r1', 'router', `netsim-${name}-r1`, 'running'],
      ],
      'every node with its kind, namespace and state',
    );
    const [h1, h2, r1] = rows;
    t.match(h1.ipv4_address, [/^eth1 \d+\.\d+\.\d+\.\d+\/\d+$/]);
    t.equal(r1.ipv4_address.length, 2, 'the router: an address on each of its two interfaces');
    t.same(h1.frr_daemons, [], 'a host runs no FRR daemon');
    t.same(
      r1.frr_daemons.map((d) => d.name),
      ['zebra', 'staticd', 'ospfd'],
      'the router: zebra, staticd and ospfd',
    );
    const routerNs = `net:[${statSync(`/run/netns/${r1.namespace}`).ino}]`;
    for (const d of r1.frr_daemons) {
      t.match(readFileSync(`/proc/${d.pid}/cmdline`, 'utf8'), new RegExp(`/${d.name}\\0`), `${d.name}: live`);
      t.equal(netnsOf(d.pid), routerNs, `${d.name} ${d.pid} runs in r1's namespace`);
    }

    // the addresses are the live ones: h2's answers h1 (across r1), and one added shows up
    const h2ip = h2.ipv4_address[0].split(' ')[1].split('/')[0];
    const ping = await runNetsim(['exec', '--sim', name, 'h1', '--', 'ping', '-c1', '-W2', h2ip]);
    t.equal(ping.code, 0, `h1 reaches h2 at ${h2ip}, the address inspect gave`);
    await runNetsim(['exec', '--sim', name, 'h1', '--', 'ip', 'addr', 'add', '192.0.2.9/32', 'dev', 'eth1']);
    const csv = await runNetsim(['inspect', '--sim', name, '--format', 'csv']);
    t.equal(csv.code, 0, csv.stderr);
    const lines = csv.stdout.trim().split('\n');
    t.equal(lines[0], 'lab_name,name,kind,namespace,state,ipv4_address,frr_daemons');
    t.equal(
      lines[1],
      `${name},h1,host,netsim-${name}-h1,running,${h1.ipv4_address[0]} eth1 192.0.2.9/32,`,
      'the address added by hand is there',
    );
    t.equal(
      lines[3],
      `${name},r1,router,netsim-${name}-r1,running,${r1.ipv4_address.join(' ')},${r1.frr_daemons.map((d) => `${d.name}:${d.pid}`).join(' ')}`,
    );

    // --node: only those rows, the same rows as without it
    const some = await runNetsim(['inspect', '--sim', name, '--node', 'h2,h1', '--format', 'csv']);
    t.equal(some.code, 0, some.stderr);
    t.equal(some.stdout, `${lines.slice(0, 3).join('\n')}\n`, '--node h2,h1: the h1 and h2 rows');
    const rep = await runNetsim([
      'inspect',
      '--sim',
      name,
      '--node',
      'r1',
      '--node',
      'h2',
      '--format',
      'json',
    ]);
    t.same(
      (JSON.parse(rep.stdout) as Record<string, Row[]>)[name].map((r) => r.name),
      ['h2', 'r1'],
      '--node r1 --node h2',
    );
    const oneIf = await runNetsim([
      'inspect',
      'interfaces',
      '--sim',
      name,
      '--node',
      'h1',
      '--format',
      'csv',
    ]);
    t.equal(oneIf.stdout.trim().split('\n').length, 2, 'interfaces --node h1: a header and h1 eth1');
    t.match(oneIf.stdout.trim().split('\n')[1], new RegExp(`^${name},h1,eth1,`));
    const noNode = await runNetsim(['inspect', '--sim', name, '--node', 'h1,zz']);
    t.equal(noNode.code, 1, 'an unknown node: exit 1');
    t.equal(noNode.stderr, `error: inspect: no node "zz" in ${name} (nodes: h1, h2, r1)\n`);
    t.equal(noNode.stdout, '', 'no rows');

    const table = await runNetsim(['inspect', '--sim', name]);
    t.equal(table.code, 0, table.stderr);
    const tl = table.stdout.split('\n');
    t.match(tl[1], /^\| Name \| Kind {3}\| Namespace +\| State {3}\| IPv4 Address +\| FRR daemons +\|$/);
    t.match(
      tl[6],
      new RegExp(
        `^\\| r1 +\\| router \\| netsim-${name}-r1 \\| running \\| eth1 [0-9./]+ +\\| zebra \\d+ +\\|$`,
      ),
    );
    t.match(tl[7], /^\| +\| +\| +\| +\| eth2 [0-9./]+ +\| staticd \d+ +\|$/, 'a second line in the cells');

    const ifs = await runNetsim(['inspect', 'interfaces', '--sim', name, '--format', 'json']);
    t.equal(ifs.code, 0, ifs.stderr);
    const irows = (JSON.parse(ifs.stdout) as Record<string, IfaceRow[]>)[name];
    t.same(
      irows.map((r) => [r.node, r.interface, r.state, r.mtu, r.peer]),
      [
        ['h1', 'eth1', 'UP', 1500, 'r1:eth1'],
        ['h2', 'eth1', 'UP', 1500, 'r1:eth2'],
        ['r1', 'eth1', 'UP', 1500, 'h1:eth1'],
        ['r1', 'eth2', 'UP', 1500, 'h2:eth1'],
      ],
    );
    const link = await runNetsim([
      'exec',
      '--sim',
      name,
      'r1',
      '--',
      'ip',
      '-o',
      'link',
      'show',
      'dev',
      'eth2',
    ]);
    t.equal(
      irows[3].mac,
      /link\/ether (\S+)/.exec(link.stdout)?.[1],
      "r1 eth2's MAC as its namespace has it",
    );
    t.same(irows[3].ipv4_address, [r1.ipv4_address[1].split(' ')[1]]);
    const itable = await runNetsim(['inspect', 'interfaces', '--sim', name]);
    t.match(
      itable.stdout.split('\n')[1],
      /^\| Node \| Interface \| IPv4 Address +\| MAC +\| MTU +\| State \| Peer +\|$/,
    );

    const graph = await runNetsim(['graph', '--sim', name, '--mermaid']);
    t.equal(graph.code, 0, graph.stderr);
    t.match(graph.stdout, /^graph LR\n {2}h1\["h1<br\/>host"\]/, "graph --sim draws the simulation's file");

    const unknown = await runNetsim(['inspect', '--sim', `${name}x`]);
    t.equal(unknown.code, 1);
    t.match(
      unknown.stderr,
      new RegExp(`^error: no running simulation named "${name}x" \\(running: .*${name}.*\\)\\n$`),
    );
    const view = await runNetsim(['inspect', 'bogus', '--sim', name]);
    t.equal(view.stderr, 'error: inspect: unknown view "bogus" (known: interfaces)\n');
    const fmt = await runNetsim(['inspect', '--sim', name, '--format', 'xml']);
    t.equal(fmt.stderr, 'error: --format: "xml" is not one of table, json, csv\n');
  });
}
