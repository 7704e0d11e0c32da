// Each node's own /etc/hosts (runtime/etc-hosts.ts), without a kernel: Docker's localhost lines,
// the lab's nodes by name (and `clab-<lab>-<node>`) at the address on a shared subnet or their
// first interface address, model or learned, nodes without one left out, the own line last.
import { join } from 'node:path';
import t from 'tap';
import { importClabFile } from '../../src/features/clab/import.js';
import { loadTopology, PROJECT_ROOT } from '../../src/model/load.js';
import { YamlSource } from '../../src/model/source.js';
import { validate } from '../../src/model/validate.js';
import { etcHostsText } from '../../src/runtime/etc-hosts.js';

const LOCALHOST = `127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
`;

t.test('a netsim topology with hosts: model addresses, switches left out, own line last', async (t) => {
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
    `${LOCALHOST}10.0.0.10\ta\n10.0.0.11\tb\n10.0.0.11\tb\n`,
    'sorted by name; the switch has no address and no line',
  );
  t.equal(
    etcHostsText(model, model.nodes.get('s1')!).split('\n').at(-2),
    '127.0.1.1\ts1',
    'a node without an address still resolves its own name',
  );
});

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
    `${LOCALHOST}10.0.7.1\th1 clab-hosts-h1\n10.0.7.2\th2 clab-hosts-h2\n10.0.7.1\th1 clab-hosts-h1\n`,
    "h2 by its first interface's address (eth1), h3 left out until it has one",
  );
  t.match(etcHostsText(model, model.nodes.get('h3')!), /\n127\.0\.1\.1\th3 clab-hosts-h3\n$/);
  learned.set('h3', new Map([['eth1', '10.0.8.3/24']]));
  t.match(
    etcHostsText(model, model.nodes.get('h3')!, learned),
    /\n10\.0\.8\.2\th2 clab-hosts-h2\n10\.0\.8\.3\th3 clab-hosts-h3\n10\.0\.8\.3\th3 clab-hosts-h3\n$/,
    'h3 lists h2 at the address on their shared subnet (eth2), not its first',
  );
});

t.test('dual stack: an IPv6 line after each IPv4 one, the own lines last', async (t) => {
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
    `${LOCALHOST}10.0.0.10\ta\nfd00:5::a\ta\n10.0.0.11\tb\nfd00:5::1\tb\n10.0.0.11\tb\nfd00:5::1\tb\n`,
  );
  const { source: s6, value: v6 } = YamlSource.parse(
    'lab.yml',
    'name: p\nhosts: {}\naddressing: {family: ipv6}\nnodes:\n  a: {kind: host}\n  b: {kind: host}\nlinks:\n  - {endpoints: [a, b]}\n',
  );
  const only6 = validate(v6, s6, { simName: 'p' });
  t.equal(
    etcHostsText(only6, only6.nodes.get('a')!),
    `${LOCALHOST}fd00:0:ff::1\ta\nfd00:0:ff::2\tb\nfd00:0:ff::1\ta\n`,
    'IPv6 only: no 127.0.1.1 line, the own IPv6 address',
  );
});
