// Each node's own /etc/hosts (runtime/etc-hosts.ts), without a kernel: Docker's localhost lines,
// the lab's nodes by name (and `clab-<lab>-<node>`) at the address on a shared subnet or their
// first interface address, model or learned, nodes without one left out, a 127.0.1.1 own line
// for a node without an address; nodes that see the same share one file, and every name and
// address resolves in each node as it did with a file of its own ending in its own line.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { importClabFile } from '../../src/features/clab/import.js';
import { loadTopology, PROJECT_ROOT } from '../../src/model/load.js';
import type { Model, NodeModel } from '../../src/model/model.js';
import { YamlSource } from '../../src/model/source.js';
import { builtinTopology } from '../../src/model/topos.js';
import { validate } from '../../src/model/validate.js';
import { etcHostsText, hostsAddresses, writeEtcHosts } from '../../src/runtime/etc-hosts.js';
import type { LearnedAddrs } from '../../src/runtime/learned.js';
import { contains, formatIp, networkOf } from '../../src/util/ipv4.js';
import { contains6, formatIp6, networkOf6 } from '../../src/util/ipv6.js';

const LOCALHOST = `127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
`;

t.test(
  'a netsim topology with hosts: model addresses, switches left out, own line without an address',
  async (t) => {
    const { source, value } = YamlSource.parse(
      'lab.yml',
      `
name: p
hosts: {}
nodes:
  b: {kind: host}
  a: {kind: host}
  s1: {kind: switch, subnet: 10.0.0.0/24}
links:
  - {endpoints: [a, s1], ipv4: [10.0.0.10/24, null]}
  - {endpoints: [b, s1], ipv4: [10.0.0.11/24, null]}
`,
    );
    const model = validate(value, source, { simName: 'p' });
    t.equal(
      etcHostsText(model, model.nodes.get('b')!),
      `${LOCALHOST}10.0.0.10\ta\n10.0.0.11\tb\n`,
      'sorted by name; the switch has no address and no line; b is listed once',
    );
    t.equal(
      etcHostsText(model, model.nodes.get('s1')!).split('\n').at(-2),
      '127.0.1.1\ts1',
      'a node without an address still resolves its own name',
    );
  },
);

t.test('an imported lab: clab-<lab>-<node> too, learned addresses, the first interface', async (t) => {
  const file = join(PROJECT_ROOT, 'test/fixtures/clab-hosts/hosts.clab.yml');
  t.same(importClabFile(file).spec.hosts, { prefix: 'clab-hosts' }, 'every import asks for /etc/hosts');
  const { model } = await loadTopology(file, { simName: 'hh' });
  const learned = new Map([
    ['h1', new Map([['eth1', '10.0.7.1/24']])],
    [
      'h2',
      new Map([
        ['eth2', '10.0.8.2/24'],
        ['eth1', '10.0.7.2/24'],
      ]),
    ],
  ]);
  t.equal(
    etcHostsText(model, model.nodes.get('h1')!, learned),
    `${LOCALHOST}10.0.7.1\th1 clab-hosts-h1\n10.0.7.2\th2 clab-hosts-h2\n`,
    "h2 by its first interface's address (eth1), h3 left out until it has one",
  );
  t.match(etcHostsText(model, model.nodes.get('h3')!), /\n127\.0\.1\.1\th3 clab-hosts-h3\n$/);
  learned.set('h3', new Map([['eth1', '10.0.8.3/24']]));
  t.match(
    etcHostsText(model, model.nodes.get('h3')!, learned),
    /\n10\.0\.8\.2\th2 clab-hosts-h2\n10\.0\.8\.3\th3 clab-hosts-h3\n$/,
    'h3 lists h2 at the address on their shared subnet (eth2), not its first',
  );
});

t.test('dual stack: an IPv6 line after each IPv4 one', async (t) => {
  const { source, value } = YamlSource.parse(
    'lab.yml',
    `
name: p
hosts: {}
addressing: {family: dual}
nodes:
  b: {kind: host}
  a: {kind: host, ip6: "fd00:5::a/64"}
  s1: {kind: switch, subnet: 10.0.0.0/24}
links:
  - {endpoints: [a, s1], ipv4: [10.0.0.10/24, null]}
  - {endpoints: [b, s1], ipv4: [10.0.0.11/24, null]}
`,
  );
  const model = validate(value, source, { simName: 'p' });
  t.equal(
    etcHostsText(model, model.nodes.get('b')!),
    `${LOCALHOST}10.0.0.10\ta\nfd00:5::a\ta\n10.0.0.11\tb\nfd00:5::1\tb\n`,
  );
  const { source: s6, value: v6 } = YamlSource.parse(
    'lab.yml',
    'name: p\nhosts: {}\naddressing: {family: ipv6}\nnodes:\n  a: {kind: host}\n  b: {kind: host}\nlinks:\n  - {endpoints: [a, b]}\n',
  );
  const only6 = validate(v6, s6, { simName: 'p' });
  t.equal(
    etcHostsText(only6, only6.nodes.get('a')!),
    `${LOCALHOST}fd00:0:ff::1\ta\nfd00:0:ff::2\tb\n`,
    'IPv6 only: no 127.0.1.1 line (its IPv6 address is listed)',
  );
});

// --- shared files ---------------------------------------------------------------------------

/** A node's file as each node had its own (before files were shared): own line(s) last. */
function ownFileText(model: Model, self: NodeModel, learned?: LearnedAddrs): string {
  const mine = hostsAddresses(self, learned);
  const own = mine.map((a) => networkOf(a.ip, a.prefix));
  const mine6 = self.ifaces.flatMap((i) => (i.addr6 ? [i.addr6] : []));
  const own6 = mine6.map((a) => networkOf6(a.ip, a.prefix));
  const lines = LOCALHOST.trimEnd().split('\n');
  const names = (n: NodeModel) =>
    model.hosts?.prefix ? `${n.name} ${model.hosts.prefix}-${n.name}` : n.name;
  for (const n of [...model.nodes.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const addrs = hostsAddresses(n, learned);
    const addrs6 = n.ifaces.flatMap((i) => (i.addr6 ? [i.addr6] : []));
    const addr = addrs.find((a) => own.some((c) => contains(c, a.ip))) ?? addrs[0];
    if (addr) lines.push(`${formatIp(addr.ip)}\t${names(n)}`);
    const addr6 = addrs6.find((a) => own6.some((c) => contains6(c, a.ip))) ?? addrs6[0];
    if (addr6) lines.push(`${formatIp6(addr6.ip)}\t${names(n)}`);
  }
  if (mine[0] || !mine6[0]) lines.push(`${mine[0] ? formatIp(mine[0].ip) : '127.0.1.1'}\t${names(self)}`);
  if (mine6[0]) lines.push(`${formatIp6(mine6[0].ip)}\t${names(self)}`);
  return `${lines.join('\n')}\n`;
}

/** What the files backend answers: each name's first line per family, each address's first line. */
function answers(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.trimEnd().split('\n')) {
    const [addr, ...names] = line.split(/\s+/);
    const family = addr.includes(':') ? 6 : 4;
    out[`addr ${addr}`] ??= names.join(' ');
    for (const n of names) out[`${n}/${family}`] ??= addr;
  }
  return out;
}

function checkSameAnswers(t: Test, model: Model, learned?: LearnedAddrs) {
  const dir = mkdtempSync(join(tmpdir(), 'etc-hosts-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const files = writeEtcHosts(dir, model, learned);
  for (const n of model.nodes.values())
    t.same(
      answers(readFileSync(files.get(n.ns)!, 'utf8')),
      answers(ownFileText(model, n, learned)),
      `${model.name}: ${n.name} resolves every name and address as with a file of its own`,
    );
  return files;
}

t.test('files are shared by the nodes that see the same; each resolves as before', async (t) => {
  const single = builtinTopology('single,300')!;
  const big = validate(single.toSpec(), single.source, { simName: 'sh' });
  big.hosts = { prefix: 'lab' };
  const files = checkSameAnswers(t, big);
  t.equal(new Set(files.values()).size, 2, '300 hosts share one file; the switch (no address) has its own');

  const { model: basic } = await loadTopology(join(PROJECT_ROOT, 'scenarios/basic.yml'), { simName: 'bh' });
  basic.hosts = {};
  const bf = checkSameAnswers(t, basic);
  const fileOf = (n: string) => bf.get(basic.nodes.get(n)!.ns);
  t.equal(fileOf('h1'), fileOf('h2'), 'h1 and h2 (one LAN) share');
  t.not(fileOf('h1'), fileOf('h3'), 'h3 sees the router at its other address');
  t.match(readFileSync(fileOf('h3')!, 'utf8'), /\n10\.0\.2\.\d+\tr1\n/, 'h3 lists r1 on its own LAN');

  const { model: lab } = await loadTopology(join(PROJECT_ROOT, 'test/fixtures/clab-hosts/hosts.clab.yml'), {
    simName: 'hl',
  });
  checkSameAnswers(t, lab);
  checkSameAnswers(
    t,
    lab,
    new Map([
      ['h1', new Map([['eth1', '10.0.7.1/24']])],
      [
        'h2',
        new Map([
          ['eth1', '10.0.7.2/24'],
          ['eth2', '10.0.8.2/24'],
        ]),
      ],
      ['h3', new Map([['eth1', '10.0.8.3/24']])],
    ]),
  );
});

t.test(
  'once addresses are learned: each file rewritten in place, still right for all its nodes',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'etc-hosts-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const { model: lab } = await loadTopology(join(PROJECT_ROOT, 'test/fixtures/clab-hosts/hosts.clab.yml'), {
      simName: 'hr',
    });
    const first = writeEtcHosts(dir, lab);
    t.equal(
      new Set(first.values()).size,
      3,
      'nodes addressed by exec lines: a file each (their view may change)',
    );
    const learned = new Map([
      ['h1', new Map([['eth1', '10.0.7.1/24']])],
      [
        'h2',
        new Map([
          ['eth1', '10.0.7.2/24'],
          ['eth2', '10.0.8.2/24'],
        ]),
      ],
      ['h3', new Map([['eth1', '10.0.8.3/24']])],
    ]);
    t.same(writeEtcHosts(dir, lab, learned, first), first, 'the same files, rewritten');
    for (const n of lab.nodes.values())
      t.same(
        answers(readFileSync(first.get(n.ns)!, 'utf8')),
        answers(ownFileText(lab, n, learned)),
        `${n.name} resolves as with its own file`,
      );

    // model addresses, and a router whose second address only some hosts see
    const { model: basic } = await loadTopology(join(PROJECT_ROOT, 'scenarios/basic.yml'), { simName: 'hb' });
    basic.hosts = {};
    const dir2 = mkdtempSync(join(tmpdir(), 'etc-hosts-'));
    t.teardown(() => rmSync(dir2, { recursive: true, force: true }));
    const before = writeEtcHosts(dir2, basic);
    t.same(writeEtcHosts(dir2, basic, new Map(), before), before, 'rewritten in place');
    for (const n of basic.nodes.values())
      t.same(
        answers(readFileSync(before.get(n.ns)!, 'utf8')),
        answers(ownFileText(basic, n)),
        `${n.name} resolves as with its own file`,
      );
    t.equal(readdirSync(join(dir2, 'hosts')).length, new Set(before.values()).size, 'no other file');
  },
);
