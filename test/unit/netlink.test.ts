// The rtnetlink requests netsim sends instead of running `ip` (src/kernel/netlink.ts), byte for
// byte as iproute2 6.1 sends them for the same lines (captured with `strace -e sendmsg -xx ip
// ...`), with the sequence number and the interface indexes (holes the runner fills) apart.
import { endianness } from 'node:os';
import t from 'tap';
import { decodeLinks, encodeBatch, linkDumpRequest } from '../../src/kernel/netlink.js';
import { nsJob } from '../../src/kernel/script.js';
import { YamlSource } from '../../src/model/source.js';
import { builtinTopology } from '../../src/model/topos.js';
import { validate } from '../../src/model/validate.js';
import { buildPlan } from '../../src/plan/plan.js';

const LE = endianness() === 'LE';

/** little-endian fields written as in the capture: u32 and u16 values, bytes as given */
function le(...fields: (number | [number, 'u16'] | [number, 'u8'] | Buffer | string)[]): Buffer {
  const parts = fields.map((f) => {
    if (Buffer.isBuffer(f)) return f;
    if (typeof f === 'string') return Buffer.from(f, 'hex');
    const [v, kind] = typeof f === 'number' ? [f, 'u32'] : f;
    const b = Buffer.alloc(kind === 'u32' ? 4 : kind === 'u16' ? 2 : 1);
    if (kind === 'u32') b.writeUInt32LE(v);
    else if (kind === 'u16') b.writeUInt16LE(v);
    else b.writeUInt8(v);
    return b;
  });
  return Buffer.concat(parts);
}

/** nlmsghdr: length, type, flags, seq, pid 0 */
const hdr = (len: number, type: number, flags: number, seq: number) =>
  le(len, [type, 'u16'], [flags, 'u16'], seq, 0);
const attr = (len: number, type: number) => le([len, 'u16'], [type, 'u16']);

t.test(
  'the requests iproute2 sends for the plan lines',
  { skip: !LE && 'captured on a little-endian machine' },
  async (t) => {
    const reqs = encodeBatch([
      'link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0',
      'link set lo up',
      'link set eth0 master br0 up',
      'addr add 10.0.0.1/24 dev br0',
      'addr add 127.0.0.2/8 dev lo',
      'addr add fd00::1/64 dev br0 nodad',
      'route replace default via 10.0.0.254',
      'route replace 10.1.0.0/16 via 10.0.0.9 dev br0 metric 20',
      'route replace ::/0 via fd00::ff',
      'route replace 10.2.0.0/16 dev br0',
      'link set eth1 down',
    ]);
    if (!reqs) throw new Error('not encoded');
    const ifinfo = (index: number, flags: number, change: number) =>
      le([0, 'u8'], [0, 'u8'], [0, 'u16'], index, flags, change);
    const ifaddr = (family: number, prefix: number, flags: number, scope: number) =>
      le([family, 'u8'], [prefix, 'u8'], [flags, 'u8'], [scope, 'u8'], 0);
    const rtmsg = (family: number, dst: number, scope: number) =>
      le([family, 'u8'], [dst, 'u8'], '0000', [254, 'u8'], [3, 'u8'], [scope, 'u8'], [1, 'u8'], 0);
    const v6 = (hex: string) => Buffer.from(hex.padEnd(32, '0'), 'hex');
    const fd001 = Buffer.from('fd000000000000000000000000000001', 'hex');
    const fdff = Buffer.from('fd0000000000000000000000000000ff', 'hex');
    const expected: [Buffer, [number, string][]][] = [
      [
        Buffer.concat([
          hdr(84, 16, 0x605, 1),
          ifinfo(0, 0, 0),
          attr(8, 3),
          Buffer.from('br0\0'),
          attr(44, 18),
          attr(10, 1),
          Buffer.from('bridge\0\0'),
          attr(28, 2),
          attr(8, 5),
          le(0),
          attr(8, 1),
          le(0),
          attr(5, 23),
          Buffer.from([0, 0, 0, 0]),
        ]),
        [],
      ],
      [Buffer.concat([hdr(32, 16, 0x5, 2), ifinfo(0, 1, 1)]), [[20, 'lo']]],
      [
        Buffer.concat([hdr(40, 16, 0x5, 3), ifinfo(0, 1, 1), attr(8, 10), le(0)]),
        [
          [20, 'eth0'],
          [36, 'br0'],
        ],
      ],
      [
        Buffer.concat([
          hdr(40, 20, 0x605, 4),
          ifaddr(2, 24, 0, 0),
          attr(8, 2),
          le('0a000001'),
          attr(8, 1),
          le('0a000001'),
        ]),
        [[20, 'br0']],
      ],
      [
        Buffer.concat([
          hdr(40, 20, 0x605, 5),
          ifaddr(2, 8, 0, 254),
          attr(8, 2),
          le('7f000002'),
          attr(8, 1),
          le('7f000002'),
        ]),
        [[20, 'lo']],
      ],
      [
        Buffer.concat([hdr(64, 20, 0x605, 6), ifaddr(10, 64, 2, 0), attr(20, 2), fd001, attr(20, 1), fd001]),
        [[20, 'br0']],
      ],
      [Buffer.concat([hdr(36, 24, 0x505, 7), rtmsg(2, 0, 0), attr(8, 5), le('0a0000fe')]), []],
      [
        Buffer.concat([
          hdr(60, 24, 0x505, 8),
          rtmsg(2, 16, 0),
          attr(8, 1),
          le('0a010000'),
          attr(8, 5),
          le('0a000009'),
          attr(8, 6),
          le(20),
          attr(8, 4),
          le(0),
        ]),
        [[56, 'br0']],
      ],
      [Buffer.concat([hdr(68, 24, 0x505, 9), rtmsg(10, 0, 0), attr(20, 1), v6(''), attr(20, 5), fdff]), []],
      [
        Buffer.concat([
          hdr(44, 24, 0x505, 10),
          rtmsg(2, 16, 253),
          attr(8, 1),
          le('0a020000'),
          attr(8, 4),
          le(0),
        ]),
        [[40, 'br0']],
      ],
      [Buffer.concat([hdr(32, 16, 0x5, 11), ifinfo(0, 0, 1)]), [[20, 'eth1']]],
    ];
    t.equal(reqs.length, expected.length);
    reqs.forEach((r, i) => {
      t.equal(r.bytes.toString('hex'), expected[i][0].toString('hex'), r.line);
      t.same(r.holes, expected[i][1], `${r.line}: interface indexes`);
    });
  },
);

t.test('lines outside the subset keep ip', async (t) => {
  for (const line of [
    'link add vx0 type vxlan id 5',
    'addr add 10.0.0.1/24 brd + dev eth0',
    'route add 10.0.0.0/8 via 10.0.0.1 table 5',
    'route replace 10.0.0.0/8 via fd00::1',
    'link set eth0 address 02:00:00:00:00:01',
    'link set eth0',
    'neigh add 10.0.0.1 lladdr 02:00:00:00:00:01 dev eth0',
    'addr add 10.0.0.300/24 dev eth0',
    'addr add 10.0.0.1/33 dev eth0',
    'link add br0 type bridge vlan_default_pvid 1',
  ])
    t.equal(encodeBatch(['link set lo up', line]), undefined, line);
  t.same(encodeBatch([]), [], 'an empty batch is no request');
});

t.test('a link dump decoded as ip -j link show names it', async (t) => {
  const req = linkDumpRequest(7);
  t.equal(
    req.toString('hex'),
    Buffer.concat([hdr(40, 18, 0x301, 7), Buffer.alloc(16), attr(8, 29), le(8)]).toString('hex'),
  );
  const msg = (flags: number, name: string, oper: number) => {
    const nameAttr = Buffer.concat([Buffer.from(`${name}\0`)]);
    const padded = Buffer.concat([nameAttr, Buffer.alloc((4 - (nameAttr.length % 4)) % 4)]);
    const body = Buffer.concat([
      le([0, 'u8'], [0, 'u8'], [1, 'u16'], 2, flags, 0),
      attr(4 + nameAttr.length, 3),
      padded,
      attr(5, 16),
      Buffer.from([oper, 0, 0, 0]),
    ]);
    return Buffer.concat([hdr(16 + body.length, 16, 2, 7), body]);
  };
  t.same(decodeLinks([msg(0x11043, 'eth0', 6), msg(0x1003, 'eth1', 2), msg(0x1002, 'br0', 2)]), [
    { ifname: 'eth0', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], operstate: 'UP' },
    { ifname: 'eth1', flags: ['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP'], operstate: 'DOWN' },
    { ifname: 'br0', flags: ['BROADCAST', 'MULTICAST'], operstate: 'DOWN' },
  ]);
});

t.test(
  'the common builds need no ip: every namespace of single, linear, tree and a dual-stack lab',
  async (t) => {
    const plans = ['single,4', 'linear,3', 'tree,2,2'].map((spec) => {
      const topo = builtinTopology(spec)!;
      return buildPlan(validate(topo.toSpec(), topo.source, { simName: 'p' }));
    });
    const dual = YamlSource.parse(
      'd.yml',
      'name: d\naddressing: {family: dual}\nnodes:\n  s1: {kind: switch}\n  r1: {kind: router, routes: [{dst: 10.8.0.0/16, via: 10.0.0.9}]}\n  h1: {kind: host}\nlinks:\n  - endpoints: [r1, s1]\n  - endpoints: [h1, s1]\n',
    );
    plans.push(buildPlan(validate(dual.value, dual.source, { simName: 'd' })));
    for (const plan of plans)
      for (const [ns, s] of plan.scripts) {
        const job = nsJob(ns, s, true);
        t.ok(job?.requests?.length, `${ns}: requests`);
        t.same(job?.commands, [], `${ns}: no ip to run`);
        t.equal(Boolean(job?.report), Boolean(s.report), `${ns}: a link dump where the script reports`);
      }
  },
);
