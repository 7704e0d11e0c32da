// The command-line contract, through the real `netsim` binary: `up --no-repl` stays in the
// foreground until SIGTERM/SIGINT or `netsim down`, and meanwhile exec/check/ls work from other
// processes; `up --script` runs REPL lines and exits with their status; two simulations of
// one file side by side.
import { existsSync } from 'node:fs';
import t from 'tap';
import { simDir } from '../../src/runtime/paths.js';
import { runNetsim, startUp, tempDir, waitReady, writeFile } from '../lib/cli.js';
import { namespacesOf, requireRoot, uniqueName } from '../lib/harness.js';

const TOPOLOGY = `
name: clitest
nodes:
  h1: {kind: host}
  h2: {kind: host}
  h3: {kind: host}
  s1: {kind: switch, subnet: 10.70.1.0/24}
  r1: {kind: router}
links:
  - endpoints: [h1, s1]
  - endpoints: [h2, s1]
  - endpoints: [r1, s1]
  - endpoints: [h3, r1]
`;

interface CheckJson {
  sim: string;
  pairs: number;
  passed: number;
  failed: number;
  scope: 'hosts' | 'all';
  nodes: { name: string; kind: string; ip: string }[];
  results: { src: string; dst: string; ok: boolean }[];
}

if (requireRoot(t)) {
  t.test('up --no-repl: exec, check, ls from other processes; SIGTERM tears down', async (t) => {
    const file = writeFile(tempDir(t), 'topo.yml', TOPOLOGY);
    const name = uniqueName('c');
    const fg = startUp(t, file, name);
    const state = await waitReady(fg, name);
    t.equal(namespacesOf(name).length, 5, 'five namespaces');

    const ls = await runNetsim(['ls', '--json']);
    t.equal(ls.code, 0, 'ls --json exits 0');
    const row = (
      JSON.parse(ls.stdout) as { name: string; status: string; pid: number; nodes: number }[]
    ).find((r) => r.name === name);
    t.match(row, { status: 'ready', pid: fg.child.pid, nodes: 5 }, 'ls lists it: ready, its pid, 5 nodes');

    const echo = await runNetsim([
      'exec',
      '--sim',
      name,
      'h1',
      '--',
      'sh',
      '-c',
      'echo out; echo err >&2; exit 7',
    ]);
    t.equal(echo.code, 7, "exec returns the command's exit code");
    t.equal(echo.stdout, 'out\n', "exec passes the command's stdout");
    t.equal(echo.stderr, 'err\n', 'and its stderr');
    const h3ip = state.nodes.find((n) => n.name === 'h3')!.ifaces[0].addr!.split('/')[0];
    const ping = await runNetsim(['exec', '--sim', name, 'h1', '--', 'ping', '-c1', '-W2', h3ip]);
    t.equal(ping.code, 0, 'exec h1 -- ping h3 (through r1) succeeds');
    t.match(ping.stdout, /1 received/);
    const addr = await runNetsim(['exec', '--sim', name, 'h2', '--', 'ip', '-br', 'addr', 'show', 'eth1']);
    t.match(addr.stdout, /10\.70\.1\.\d+\/24/, "exec runs in the node's namespace (h2's address)");
    const noNode = await runNetsim(['exec', '--sim', name, 'nosuch', '--', 'true']);
    t.equal(noNode.code, 1, 'exec on an unknown node fails');
    t.match(noNode.stderr, /no node "nosuch"/);

    const hosts = await runNetsim(['check', '--sim', name, '--json']);
    t.equal(hosts.code, 0, 'check exits 0 when every pair of hosts pings');
    t.match(
      JSON.parse(hosts.stdout),
      { sim: name, scope: 'hosts', pairs: 6, passed: 6, failed: 0 },
      'check --json: between the 3 hosts by default (6 pairs)',
    );
    const check = await runNetsim(['check', '--all', '--sim', name, '--json']);
    t.equal(check.code, 0, 'check --all exits 0 when every pair pings');
    const ok = JSON.parse(check.stdout) as CheckJson;
    t.match(ok, { sim: name, pairs: 12, passed: 12, failed: 0 }, 'check --all --json: 12 pairs, all passed');
    t.equal(ok.results.length, 12, 'one result per pair');
    t.same(
      ok.nodes.map((n) => `${n.name}:${n.kind}`).sort(),
      ['h1:host', 'h2:host', 'h3:host', 'r1:router'],
      "each checked node's kind in the JSON",
    );

    const down = await runNetsim(['exec', '--sim', name, 'r1', '--', 'ip', 'link', 'set', 'eth2', 'down']);
    t.equal(down.code, 0, "r1's link to h3 taken down");
    const broken = await runNetsim(['check', '--all', '--sim', name, '--json', '--timeout', '0.3']);
    t.equal(broken.code, 1, 'check exits 1 when a link is down');
    const bad = JSON.parse(broken.stdout) as CheckJson;
    t.equal(bad.failed, 6, 'the 6 pairs with h3 fail (h3 <-> h1, h2, r1 both ways)');
    t.ok(
      bad.results.filter((r) => !r.ok).every((r) => r.src === 'h3' || r.dst === 'h3'),
      'and only those',
    );
    const text = await runNetsim(['check', '-a', '--sim', name, '--timeout', '0.3']);
    t.match(text.stdout, /FAIL h1 -> h3/, 'the text output names the failing pairs');
    t.match(text.stdout, /6\/12 pairs reachable, 6 failed/);

    t.equal(fg.child.exitCode, null, 'up is still in the foreground');
    fg.child.kill('SIGTERM');
    const exit = await fg.exited;
    t.same(exit, { code: 0, signal: null }, 'SIGTERM: up exits 0');
    t.same(namespacesOf(name), [], 'no namespace left');
    t.notOk(existsSync(simDir(name)), 'no state directory left');
  });

  t.test('check: hosts by default (Mininet pingall), --all adds the routers', async (t) => {
    // r2's link to r1 is never announced: nothing routes back to the hosts from r2
    const file = writeFile(
      tempDir(t),
      'topo.yml',
      `name: chk
nodes:
  h1: {kind: host}
  h2: {kind: host}
  r1: {kind: router}
  r2: {kind: router}
links:
  - endpoints: [r1, r2]
  - endpoints: [h1, r1]
  - endpoints: [h2, r1]
`,
    );
    const name = uniqueName('ck');
    await waitReady(startUp(t, file, name), name);
    const hosts = await runNetsim(['check', '--sim', name, '--json', '--timeout', '0.5']);
    t.equal(hosts.code, 0, 'default check passes: h1 <-> h2 through r1');
    const h = JSON.parse(hosts.stdout) as CheckJson;
    t.match(h, { scope: 'hosts', pairs: 2, passed: 2, failed: 0 }, 'two host pairs');
    t.same(
      h.nodes.map((n) => [n.name, n.kind]),
      [
        ['h1', 'host'],
        ['h2', 'host'],
      ],
      'only the hosts, with their kind',
    );
    const all = await runNetsim(['check', '--all', '--sim', name, '--json', '--timeout', '0.5']);
    t.equal(all.code, 1, 'check --all fails: r2 has no route back to the hosts');
    const a = JSON.parse(all.stdout) as CheckJson;
    t.match(a, { scope: 'all', pairs: 12, passed: 8, failed: 4 }, '12 pairs among 4 nodes, 4 failed');
    t.same(
      a.results
        .filter((r) => !r.ok)
        .map((r) => `${r.src}->${r.dst}`)
        .sort(),
      ['h1->r2', 'h2->r2', 'r2->h1', 'r2->h2'],
      'the failures are exactly the pairs with r2',
    );
    t.same(
      a.nodes.map((n) => `${n.name}:${n.kind}`),
      ['h1:host', 'h2:host', 'r1:router', 'r2:router'],
      'every node with its kind',
    );
    const text = await runNetsim(['check', '--sim', name]);
    t.match(text.stdout, /2\/2 pairs reachable, 0 failed, between 2 nodes \(host; routers left out: --all\)/);
  });

  t.test('up --no-repl until `netsim down NAME` from another process; SIGINT as well', async (t) => {
    const file = writeFile(tempDir(t), 'topo.yml', TOPOLOGY);
    const name = uniqueName('c');
    const fg = startUp(t, file, name);
    await waitReady(fg, name);
    const down = await runNetsim(['down', name]);
    t.equal(down.code, 0, 'netsim down exits 0');
    t.match(down.stdout, new RegExp(`stopped ${name}`));
    const exit = await fg.exited;
    t.same(exit, { code: 0, signal: null }, 'the up process exits 0');
    t.same(namespacesOf(name), [], 'no namespace left');
    t.notOk(existsSync(simDir(name)), 'no state directory left');

    const again = startUp(t, file, name);
    await waitReady(again, name);
    again.child.kill('SIGINT');
    t.same(await again.exited, { code: 130, signal: null }, 'SIGINT: exits 130 after tearing down');
    t.same(namespacesOf(name), [], 'no namespace left after SIGINT');
    const missing = await runNetsim(['down', name]);
    t.equal(missing.code, 1, 'down of a simulation that is not there fails');
    t.match(missing.stderr, /no simulation named/);
  });

  t.test('up --script: REPL lines, teardown, exit status of the lines', async (t) => {
    const dir = tempDir(t);
    const file = writeFile(dir, 'topo.yml', TOPOLOGY);
    const good = writeFile(
      dir,
      'good.txt',
      [
        '# comments and blank lines are skipped',
        '',
        'h1 ping -c1 -W2 h3',
        'pingall',
        'link r1 h3 down',
        'link r1 h3 up',
        'h3 ping -c1 -W2 h2',
        "await h1.cmd('true')",
      ].join('\n'),
    );
    const name = uniqueName('c');
    const ok = await runNetsim(['up', file, '-n', name, '-q', '--script', good]);
    t.equal(ok.code, 0, `all lines pass: exit 0 ${ok.stderr}`);
    t.match(
      ok.stdout,
      /netsim> h1 ping -c1 -W2 h3\n[\s\S]*1 received/,
      'each line is echoed with its output',
    );
    t.match(ok.stdout, /Results: 0% dropped \(12\/12 received\)/, 'pingall output');
    t.same(namespacesOf(name), [], 'torn down after the script');
    t.notOk(existsSync(simDir(name)), 'no state directory left');

    const bad = writeFile(
      dir,
      'bad.txt',
      ['h1 ping -c1 -W2 h2', 'h1 ping -c1 -W1 10.99.99.99', 'h2 ping -c1 -W2 h1'].join('\n'),
    );
    const failed = await runNetsim(['up', file, '-n', name, '-q', '--script', bad]);
    t.equal(failed.code, 1, 'a failing line (ping to an unreachable address): exit 1');
    t.match(failed.stderr, /bad\.txt:2: exit status [1-9]/, 'the failing line is named');
    t.match(failed.stdout, /netsim> h2 ping -c1 -W2 h1/, 'the lines after it still run');
    t.same(namespacesOf(name), [], 'torn down after a failing script too');
  });

  t.test('two simulations of the same file side by side', async (t) => {
    const file = writeFile(tempDir(t), 'topo.yml', TOPOLOGY);
    const [a, b] = [uniqueName('ca'), uniqueName('cb')];
    const fa = startUp(t, file, a);
    const fb = startUp(t, file, b);
    const [sa, sb] = await Promise.all([waitReady(fa, a), waitReady(fb, b)]);
    t.equal(namespacesOf(a).length, 5, `${a}: five namespaces`);
    t.equal(namespacesOf(b).length, 5, `${b}: five namespaces`);
    t.same(
      sa.nodes.map((n) => n.ifaces.map((i) => i.addr)),
      sb.nodes.map((n) => n.ifaces.map((i) => i.addr)),
      'the same addresses in both (isolated from each other)',
    );
    const [ca, cb] = await Promise.all([
      runNetsim(['check', '--sim', a, '--json']),
      runNetsim(['check', '--sim', b, '--json']),
    ]);
    t.equal(ca.code, 0, `${a}: every pair pings`);
    t.equal(cb.code, 0, `${b}: every pair pings`);
    // a link down in one does not affect the other
    await runNetsim(['exec', '--sim', a, 'h1', '--', 'ip', 'link', 'set', 'eth1', 'down']);
    t.equal(
      (await runNetsim(['check', '--sim', a, '--json', '--timeout', '0.3'])).code,
      1,
      `${a}: h1 cut off`,
    );
    t.equal((await runNetsim(['check', '--sim', b, '--json'])).code, 0, `${b}: unaffected`);
    const same = await runNetsim(['up', file, '-n', a, '--no-repl']);
    t.equal(same.code, 1, 'a third with a name already running is refused');
    t.match(same.stderr, /already running/);
    t.equal(namespacesOf(a).length, 5, `and ${a} is untouched by the refused attempt`);
    fa.child.kill('SIGTERM');
    await fa.exited;
    t.same(namespacesOf(a), [], `${a} gone`);
    t.equal(namespacesOf(b).length, 5, `${b} still there`);
    t.equal((await runNetsim(['check', '--sim', b, '--json'])).code, 0, `${b} still pings`);
  });
}
