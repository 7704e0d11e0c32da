// The REPL's string logic: word splitting, node names -> IPs, tab completion. A stand-in
// simulation with a node map is enough; nothing here reaches the kernel.
import t from 'tap';
import type { Simulation } from '../../src/runtime/simulation.js';
import { Commands, words } from '../../src/surfaces/repl/commands.js';
import { complete } from '../../src/surfaces/repl/repl.js';

interface FakeNode {
  name: string;
  kind: string;
  ns: string;
  ip?: string;
  ip6?: string;
}

function fakeSim(): Simulation {
  const list: FakeNode[] = [
    { name: 'h1', kind: 'host', ns: 'netsim-fake-h1', ip: '10.0.0.1', ip6: 'fd00::1' },
    { name: 'h2', kind: 'host', ns: 'netsim-fake-h2', ip: '10.0.0.2', ip6: 'fd00::2' },
    { name: 'v6', kind: 'host', ns: 'netsim-fake-v6', ip6: 'fd00:1::6' },
    { name: 'web.1', kind: 'host', ns: 'netsim-fake-web.1', ip: '10.0.0.3' },
    { name: 's1', kind: 'switch', ns: 'netsim-fake-s1' },
    { name: 'r1', kind: 'router', ns: 'netsim-fake-r1', ip: '10.0.0.254' },
  ];
  // pods wrap their lines (hostname, mounts); plain nodes run them as given
  const nodes = new Map(list.map((n) => [n.name, { ...n, shellLine: (l: string) => l }]));
  const fake = {
    name: 'fake',
    nodes,
    model: { links: [] },
    node(name: string) {
      const n = nodes.get(name);
      if (!n) throw new Error(`no node ${name}`);
      return n;
    },
  };
  return fake as unknown as Simulation;
}

function commands() {
  const out: string[] = [];
  const err: string[] = [];
  const cmds = new Commands(fakeSim(), { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { cmds, out, err };
}

t.test('words', async (t) => {
  t.same(words('h1 ping -c1 h2'), ['h1', 'ping', '-c1', 'h2']);
  t.same(words('  h1   ip   addr  '), ['h1', 'ip', 'addr'], 'runs of spaces');
  t.same(words('h1 sh -c "echo hi there"'), ['h1', 'sh', '-c', 'echo hi there'], 'double quotes group');
  t.same(words("h1 echo 'a  b' c"), ['h1', 'echo', 'a  b', 'c'], 'single quotes keep inner spaces');
  t.same(words('say ""'), ['say', ''], 'an empty quoted word');
  t.same(words(''), []);
});

t.test('substitute: node names become their IPs', async (t) => {
  const { cmds } = commands();
  t.equal(cmds.substitute('ping -c1 h2'), 'ping -c1 10.0.0.2');
  t.equal(cmds.substitute('ping h2 && ping h1'), 'ping 10.0.0.2 && ping 10.0.0.1', 'every occurrence');
  t.equal(cmds.substitute('iperf3 -c h2 -t 1'), 'iperf3 -c 10.0.0.2 -t 1');
  t.equal(cmds.substitute('curl web.1'), 'curl 10.0.0.3', 'names with dots');
  t.equal(cmds.substitute('ping h2 h2'), 'ping 10.0.0.2 10.0.0.2', 'adjacent occurrences');
  t.equal(
    cmds.substitute('cat h2.log xh2 h2x h2:80 /tmp/h2'),
    'cat h2.log xh2 h2x h2:80 /tmp/h2',
    'only whole words are node names',
  );
  t.equal(cmds.substitute('ping s1'), 'ping s1', 'a node without an address stays a name');
  t.equal(cmds.substitute('ping H2'), 'ping H2', 'names are case-sensitive');
});

t.test('substitute: IPv6 addresses in IPv6 commands (-6, ping6), and where a node has no IPv4', async (t) => {
  const { cmds } = commands();
  t.equal(cmds.substitute('ping -6 -c1 h2'), 'ping -6 -c1 fd00::2', '-6: the IPv6 address');
  t.equal(cmds.substitute('ping6 -c1 h2'), 'ping6 -c1 fd00::2', 'ping6');
  t.equal(cmds.substitute('/usr/bin/traceroute6 h2'), '/usr/bin/traceroute6 fd00::2', 'a *6 tool by path');
  t.equal(cmds.substitute('ip -6 route get h2'), 'ip -6 route get fd00::2', 'ip -6');
  t.equal(cmds.substitute('ping -c1 h2'), 'ping -c1 10.0.0.2', 'no -6: IPv4 as before');
  t.equal(cmds.substitute('ping -4 v6'), 'ping -4 v6', '-4 and a node without IPv4: stays a name');
  t.equal(cmds.substitute('ping -c1 v6'), 'ping -c1 fd00:1::6', 'an IPv6-only node: its IPv6 address');
  t.equal(cmds.substitute('ping -6 r1'), 'ping -6 r1', '-6 and a node without IPv6: stays a name');
});

t.test('<node> <cmd>: the first word picks the namespace and is not substituted', async (t) => {
  const { cmds, err } = commands();
  const ran: string[][] = [];
  // capture instead of spawning nsenter
  cmds.stream = async (ns, argv) => {
    ran.push([ns ?? 'host', ...argv]);
    return 0;
  };
  t.equal(await cmds.run('h1 ping -c1 h2'), 0);
  t.equal(await cmds.run('h2 ping -c1 h1'), 0);
  t.same(ran, [
    ['netsim-fake-h1', 'sh', '-c', 'ping -c1 10.0.0.2'],
    ['netsim-fake-h2', 'sh', '-c', 'ping -c1 10.0.0.1'],
  ]);
  t.equal(await cmds.run('h1'), 1, 'a node without a command is an error');
  t.match(err.join(''), 'give a command to run in h1');
  t.ok(cmds.handles('h1 ip addr'), 'node lines are handled by the REPL');
  t.ok(cmds.handles('pingall'), 'verbs too');
  t.notOk(cmds.handles('h1.ip'), 'JavaScript is not');
  t.equal(await cmds.run('   # a comment'), 0, 'comments do nothing');
});

t.test('complete', async (t) => {
  const { cmds } = commands();
  const hits = (line: string) => complete(cmds, line)[0];
  const first = hits('');
  for (const w of ['pingall', 'link', 'help', 'h1', 's1', 'exit', 'quit'])
    t.ok(first.includes(w), `"" offers ${w}`);
  t.same(hits('pi'), ['pingall', 'pingallfull', 'pingpair', 'pingpairfull', 'pingpods'], 'verbs by prefix');
  t.same(hits('h'), ['h1', 'h2', 'help'], 'verbs and node names together');
  t.same(complete(cmds, 'h1 ping h'), [['h1', 'h2'], 'h'], 'node names after a node command');
  t.same(hits('h1 ping '), ['h1', 'h2', 'r1', 's1', 'v6', 'web.1']);
  t.same(hits('link h'), ['h1', 'h2'], 'link a: node names');
  t.same(hits('link h1 '), ['h1', 'h2', 'r1', 's1', 'v6', 'web.1'], 'link a b: node names');
  t.same(hits('link h1 s1 '), ['down', 'set', 'up'], 'link a b <up|down|set>');
  t.same(hits('link h1 s1 d'), ['down']);
  t.same(hits('switch s1 st'), ['start', 'stop']);
  t.same(hits('help pingp'), ['pingpair', 'pingpairfull', 'pingpods'], 'help completes verbs');
  t.same(hits('iperf h2 '), ['h1', 'h2', 'r1', 's1', 'v6', 'web.1']);
  t.same(hits('tr'), ['trace'], 'trace is a verb');
  t.same(hits('trace h1 h'), ['h1', 'h2'], 'trace src dst: node names');
  t.same(hits('trace h1 h2 80 '), ['--json', '-4', '-6'], 'then --json and the family');
  t.same(hits('pingall '), ['-4', '-6'], 'pingall: the family');
  t.same(hits('pingallfull -'), ['-4', '-6']);
  t.same(hits('pingpair -'), ['-4', '-6'], 'pingpair: the family after a dash');
  t.same(hits('pingpair h'), ['h1', 'h2'], 'and node names otherwise');
  t.same(hits('zz'), [], 'nothing for an unknown prefix');
});
