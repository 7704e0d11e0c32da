// IPv6 text forms (RFC 4291 in, RFC 5952 out) and subnet arithmetic on bigints.
import t from 'tap';
import {
  contains6,
  formatCidr6,
  formatIp6,
  hostRange6,
  networkOf6,
  overlaps6,
  parseCidr6,
  parseIp6,
  SubnetPool6,
} from '../../src/util/ipv6.js';

t.test('parse: every text form of the same address', async (t) => {
  const one = 0xfd000000000000000000000000000001n;
  for (const text of ['fd00::1', 'FD00::1', 'fd00:0:0:0:0:0:0:1', 'fd00:0000::0001', 'fd00::0:1'])
    t.equal(parseIp6(text), one, text);
  t.equal(parseIp6('::'), 0n, '::');
  t.equal(parseIp6('::1'), 1n, '::1');
  t.equal(parseIp6('::ffff:10.0.0.1'), 0xffff0a000001n, 'an IPv4 tail');
  t.equal(parseIp6('64:ff9b::192.0.2.33'), 0x0064ff9b0000000000000000c0000221n, 'NAT64 form');
  for (const bad of [
    '',
    ':',
    ':::',
    '1:::2',
    'fd00::1::2',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    'g::1',
    '12345::',
    '1:2:3:4:5:6:7:8::',
    'fe80::1%eth0',
    '::ffff:10.0.0.256',
    ':1::',
  ])
    t.equal(parseIp6(bad), undefined, `refused: "${bad}"`);
});

t.test('format: RFC 5952 (lower case, longest zero run, first of equals, no :: for one group)', async (t) => {
  const cases: [string, string][] = [
    ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['fd00:0:ff::', 'fd00:0:ff::'],
  ];
  for (const [input, want] of cases) t.equal(formatIp6(parseIp6(input)!), want, input);
});

t.test('CIDRs: network, containment, overlap, host range', async (t) => {
  const c = parseCidr6('fd00:1::5/64')!;
  t.same(c, { ip: parseIp6('fd00:1::5'), prefix: 64 });
  const net = networkOf6(c.ip, c.prefix);
  t.equal(formatCidr6(net), 'fd00:1::/64');
  t.ok(contains6(net, parseIp6('fd00:1::ffff')!));
  t.notOk(contains6(net, parseIp6('fd00:2::1')!));
  t.ok(overlaps6(net, networkOf6(parseIp6('fd00::')!, 16)), 'inside a larger network');
  t.notOk(overlaps6(net, networkOf6(parseIp6('fd00::')!, 32)), 'fd00:1:: is outside fd00::/32');
  t.notOk(overlaps6(net, networkOf6(parseIp6('fd00:2::')!, 64)));
  t.equal(parseCidr6('fd00::/129'), undefined, 'prefix out of range');
  t.equal(parseCidr6('fd00::'), undefined, 'no prefix');
  t.equal(formatIp6(hostRange6(net).first), 'fd00:1::1', 'the subnet-router anycast address is skipped');
  const p2p = networkOf6(parseIp6('fd00:ff::')!, 127);
  t.same(
    [formatIp6(hostRange6(p2p).first), formatIp6(hostRange6(p2p).last)],
    ['fd00:ff::', 'fd00:ff::1'],
    'a /127 uses both addresses (RFC 6164)',
  );
  t.equal(networkOf6(parseIp6('::1')!, 0).net, 0n, '/0');
});

t.test('pool: aligned first fit, skipping reserved ranges, undefined when full', async (t) => {
  const pool = new SubnetPool6(networkOf6(parseIp6('fd00::')!, 48));
  pool.reserve(networkOf6(parseIp6('fd00:0:0:1::')!, 64));
  const got = [pool.allocate(64), pool.allocate(64), pool.allocate(127), pool.allocate(64)].map((c) =>
    formatCidr6(c!),
  );
  t.same(got, ['fd00::/64', 'fd00:0:0:2::/64', 'fd00:0:0:3::/127', 'fd00:0:0:4::/64']);
  t.equal(pool.allocate(32), undefined, 'larger than the pool');
  const tiny = new SubnetPool6(networkOf6(parseIp6('fd00::')!, 63));
  t.ok(tiny.allocate(64) && tiny.allocate(64));
  t.equal(tiny.allocate(64), undefined, 'exhausted');
});
