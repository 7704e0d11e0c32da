// IPv4 arithmetic and the subnet pool that addresses every topology.
import t from 'tap';
import {
  contains,
  formatCidr,
  formatIp,
  hostRange,
  maskOf,
  networkOf,
  overlaps,
  parseCidr,
  parseIp,
  prefixFor,
  SubnetPool,
} from '../../src/util/ipv4.js';

const cidr = (s: string) => {
  const c = parseCidr(s);
  if (!c) throw new Error(`bad test CIDR ${s}`);
  return networkOf(c.ip, c.prefix);
};

t.test('parseIp and formatIp', async (t) => {
  t.equal(parseIp('10.0.0.1'), 0x0a000001);
  t.equal(parseIp('0.0.0.0'), 0);
  t.equal(parseIp('255.255.255.255'), 0xffffffff, 'the top address is unsigned, not -1');
  t.equal(parseIp('192.168.1.200'), 0xc0a801c8);
  for (const bad of [
    '256.0.0.1',
    '1.2.3',
    '1.2.3.4.5',
    '01.2.3.4',
    'a.b.c.d',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '',
    '1..2.3',
  ]) {
    t.equal(parseIp(bad), undefined, `"${bad}" is not an address`);
  }
  for (const s of ['0.0.0.0', '10.255.0.1', '172.16.31.254', '255.255.255.255']) {
    t.equal(formatIp(parseIp(s)!), s, `${s} round-trips`);
  }
});

t.test('parseCidr, networkOf, formatCidr, maskOf', async (t) => {
  t.same(
    parseCidr('10.0.0.1/24'),
    { ip: 0x0a000001, prefix: 24 },
    'the host part is kept (an interface address)',
  );
  t.same(parseCidr('0.0.0.0/0'), { ip: 0, prefix: 0 });
  t.same(parseCidr('10.1.2.3/32'), { ip: 0x0a010203, prefix: 32 });
  for (const bad of [
    '10.0.0.0',
    '10.0.0.0/',
    '10.0.0.0/33',
    '10.0.0.0/024',
    '10.0.0.0/-1',
    '10.0.0.256/8',
    '/24',
  ]) {
    t.equal(parseCidr(bad), undefined, `"${bad}" is not a CIDR`);
  }
  t.equal(formatCidr(cidr('10.1.2.3/16')), '10.1.0.0/16', 'networkOf clears the host part');
  t.equal(formatCidr(cidr('255.255.255.255/1')), '128.0.0.0/1', 'unsigned at the top bit');
  t.equal(maskOf(0), 0);
  t.equal(maskOf(24), 0xffffff00);
  t.equal(maskOf(32), 0xffffffff);
});

t.test('contains and overlaps', async (t) => {
  t.ok(contains(cidr('10.0.0.0/8'), parseIp('10.200.3.4')!));
  t.notOk(contains(cidr('10.0.0.0/8'), parseIp('11.0.0.0')!));
  t.ok(contains(cidr('0.0.0.0/0'), parseIp('203.0.113.9')!), '/0 holds everything');
  t.ok(overlaps(cidr('10.0.0.0/16'), cidr('10.0.3.0/24')), 'a subnet overlaps the network holding it');
  t.ok(overlaps(cidr('10.0.3.0/24'), cidr('10.0.0.0/16')), 'in either order');
  t.ok(overlaps(cidr('10.0.3.0/24'), cidr('10.0.3.0/24')), 'equal subnets overlap');
  t.notOk(overlaps(cidr('10.0.0.0/24'), cidr('10.0.1.0/24')), 'adjacent subnets do not');
  t.notOk(overlaps(cidr('10.0.0.0/31'), cidr('10.0.0.2/31')), 'adjacent /31s do not');
});

t.test('hostRange: network and broadcast excluded except on /31 and /32', async (t) => {
  const range = (s: string) => {
    const { first, last } = hostRange(cidr(s));
    return [formatIp(first), formatIp(last)];
  };
  t.same(range('10.0.1.0/24'), ['10.0.1.1', '10.0.1.254']);
  t.same(range('10.0.0.4/30'), ['10.0.0.5', '10.0.0.6']);
  t.same(range('10.0.0.6/31'), ['10.0.0.6', '10.0.0.7'], '/31 uses both addresses (RFC 3021)');
  t.same(range('10.0.0.9/32'), ['10.0.0.9', '10.0.0.9']);
});

t.test('prefixFor: the smallest subnet for n hosts', async (t) => {
  t.equal(prefixFor(1), 30);
  t.equal(prefixFor(2), 30);
  t.equal(prefixFor(3), 29);
  t.equal(prefixFor(254), 24);
  t.equal(prefixFor(255), 23);
  t.equal(prefixFor(501), 23, '500 hosts and a gateway fit a /23');
  t.equal(prefixFor(510), 23);
  t.equal(prefixFor(511), 22);
});

t.test('SubnetPool', async (t) => {
  t.test('hands out aligned subnets in order', async (t) => {
    const pool = new SubnetPool(cidr('10.0.0.0/16'));
    t.equal(formatCidr(pool.allocate(24)!), '10.0.0.0/24');
    t.equal(formatCidr(pool.allocate(24)!), '10.0.1.0/24');
    t.equal(formatCidr(pool.allocate(30)!), '10.0.2.0/30');
    t.equal(formatCidr(pool.allocate(23)!), '10.0.4.0/23', 'a /23 starts on a /23 boundary');
    t.equal(formatCidr(pool.allocate(30)!), '10.0.6.0/30');
  });

  t.test('skips reserved ranges', async (t) => {
    const pool = new SubnetPool(cidr('10.0.0.0/16'));
    pool.reserve(cidr('10.0.0.0/24'));
    pool.reserve(cidr('10.0.2.0/23'));
    t.equal(formatCidr(pool.allocate(24)!), '10.0.1.0/24', 'the gap between reservations');
    t.equal(formatCidr(pool.allocate(24)!), '10.0.4.0/24', 'past the reserved /23');
    pool.reserve(cidr('10.0.5.128/25'));
    t.equal(formatCidr(pool.allocate(24)!), '10.0.6.0/24', 'a /24 that would hold a reserved /25 is skipped');
    const big = new SubnetPool(cidr('10.0.0.0/16'));
    big.reserve(cidr('10.0.0.0/17'));
    t.equal(formatCidr(big.allocate(30)!), '10.0.128.0/30', 'jumps over a large reservation at once');
  });

  t.test('/30 and /31 point-to-point ranges', async (t) => {
    const p2p = new SubnetPool(cidr('10.255.0.0/29'));
    t.equal(formatCidr(p2p.allocate(30)!), '10.255.0.0/30');
    t.equal(formatCidr(p2p.allocate(30)!), '10.255.0.4/30');
    t.equal(p2p.allocate(30), undefined, 'a /29 holds two /30s');
    const p31 = new SubnetPool(cidr('10.254.0.0/30'));
    t.equal(formatCidr(p31.allocate(31)!), '10.254.0.0/31');
    t.equal(formatCidr(p31.allocate(31)!), '10.254.0.2/31');
    t.equal(p31.allocate(31), undefined);
  });

  t.test('exhaustion and subnets larger than the pool', async (t) => {
    const pool = new SubnetPool(cidr('192.168.0.0/24'));
    t.equal(pool.allocate(23), undefined, 'a /23 does not fit a /24 pool');
    t.equal(formatCidr(pool.allocate(24)!), '192.168.0.0/24');
    t.equal(pool.allocate(30), undefined, 'nothing left');
    const top = new SubnetPool(cidr('255.255.255.0/24'));
    t.equal(formatCidr(top.allocate(25)!), '255.255.255.0/25');
    t.equal(formatCidr(top.allocate(25)!), '255.255.255.128/25', 'the last subnet of the address space');
    t.equal(top.allocate(25), undefined);
  });

  t.test('deterministic: the same requests give the same subnets', async (t) => {
    const run = () => {
      const pool = new SubnetPool(cidr('10.0.0.0/9'));
      pool.reserve(cidr('10.0.3.0/24'));
      return [24, 30, 24, 22, 24, 30].map((p) => formatCidr(pool.allocate(p)!));
    };
    t.same(run(), run());
  });
});
