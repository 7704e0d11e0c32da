// Which program a capture runs, with which arguments, and how its words are read.
import t from 'tap';
import {
  captureArgv,
  groupTargets,
  parseCount,
  parseTarget,
  splitTargets,
} from '../../src/runtime/capture.js';

t.test('targets', async (t) => {
  t.same(parseTarget('h1'), { node: 'h1', ifaces: [] });
  t.same(parseTarget('w1:eth1,flannel.1'), { node: 'w1', ifaces: ['eth1', 'flannel.1'] });
  t.same(parseTarget('C0w1/a1:eth0'), { node: 'C0w1/a1', ifaces: ['eth0'] });
  t.throws(() => parseTarget('h1:'), /not NODE\[:IFACE/);
  const nodes = new Set(['h1', 'h2']);
  t.same(
    splitTargets('h1:eth0', ['h1:eth1', 'host', '10.0.0.1', 'and', 'port', '80'], (n) => nodes.has(n)),
    {
      targets: [
        { node: 'h1', ifaces: ['eth0'] },
        { node: 'h1', ifaces: ['eth1'] },
      ],
      filter: ['host', '10.0.0.1', 'and', 'port', '80'],
    },
  );
  t.same(splitTargets('h1', ['ip6', 'host', 'fe80::1'], (n) => nodes.has(n)).filter, [
    'ip6',
    'host',
    'fe80::1',
  ]);
  t.same(groupTargets([parseTarget('h1:eth0'), parseTarget('h2:eth1'), parseTarget('h1:eth1,eth0')]), [
    { node: 'h1', ifaces: ['eth0', 'eth1'] },
    { node: 'h2', ifaces: ['eth1'] },
  ]);
  t.same(
    splitTargets('h1:eth0', ['h2', 'h2:eth2', 'icmp'], (n) => nodes.has(n)),
    {
      targets: [
        { node: 'h1', ifaces: ['eth0'] },
        { node: 'h2', ifaces: [] },
        { node: 'h2', ifaces: ['eth2'] },
      ],
      filter: ['icmp'],
    },
  );
  t.throws(
    () => splitTargets('h1', ['h9:eth1', 'icmp'], (n) => nodes.has(n)),
    /^capture: no node "h9" \(argument 2, "h9:eth1"\)$/,
  );
  t.same(splitTargets('h1', ['ether', 'host', '02:00:00:00:00:01'], (n) => nodes.has(n)).filter, [
    'ether',
    'host',
    '02:00:00:00:00:01',
  ]);
});

t.test('argv', async (t) => {
  t.same(captureArgv(['eth1'], ['icmp'], {}), ['tcpdump', '-n', '-l', '-i', 'eth1', 'icmp']);
  t.same(captureArgv(['eth1'], [], { write: '-', count: 3 }), [
    'tcpdump',
    '-n',
    '-U',
    '-Z',
    'root',
    '-w',
    '-',
    '-i',
    'eth1',
    '-c',
    '3',
  ]);
  t.same(captureArgv(['eth1', 'eth2'], ['udp', 'port', '8472'], { write: 'x.pcapng' }), [
    'dumpcap',
    '-q',
    '-f',
    'udp port 8472',
    '-i',
    'eth1',
    '-i',
    'eth2',
    '-w',
    'x.pcapng',
  ]);
  t.same(captureArgv(['eth1', 'eth2'], [], {}), ['tshark', '-l', '-n', '-i', 'eth1', '-i', 'eth2']);
  t.same(captureArgv(['eth1'], [], { decode: true, count: 2 }), [
    'tshark',
    '-l',
    '-n',
    '-i',
    'eth1',
    '-d',
    'udp.port==8472,vxlan',
    '-c',
    '2',
  ]);
  t.throws(() => captureArgv(['eth1'], [], { decode: true, write: 'f' }), /does not combine with -w/);
  t.equal(parseCount('5'), 5);
  t.throws(() => parseCount('0'), /packet count/);
});
