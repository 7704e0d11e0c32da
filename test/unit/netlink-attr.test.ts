// The one netlink attribute writer both encoders use (src/util/netlink-attr.ts): header and
// attribute layout in host byte order, padding, nested attributes, network-order integers, and a
// buffer that grows (its integer view follows it) without losing or misplacing what was written.
import { endianness } from 'node:os';
import t from 'tap';
import { NLA_F_NESTED, NlWriter } from '../../src/util/netlink-attr.js';

const LE = endianness() === 'LE';
const u16 = (b: Buffer, o: number) => (LE ? b.readUInt16LE(o) : b.readUInt16BE(o));
const u32 = (b: Buffer, o: number) => (LE ? b.readUInt32LE(o) : b.readUInt32BE(o));

t.test('a message with string, integer, byte and nested attributes', async (t) => {
  const w = new NlWriter(8);
  const at = w.message(0x0a06, 0x0c01, 7);
  w.str(1, 'kube-proxy');
  w.u32be(2, 0xfffffffc);
  w.u32(3, 0x01020304);
  w.u64be(4, 10800 * 1000);
  const n = w.begin(5);
  w.bytes(1, Buffer.from([1, 2, 3]));
  w.end(n);
  const o = w.open(6);
  w.u32(1, 9);
  w.end(o);
  w.endMessage(at);
  const b = Buffer.from(w.done());
  t.equal(u32(b, 0), b.length, 'nlmsg_len: the whole message');
  t.equal(u16(b, 4), 0x0a06, 'type');
  t.equal(u16(b, 6), 0x0c01, 'flags');
  t.equal(u32(b, 8), 7, 'sequence number');
  t.equal(u32(b, 12), 0, 'port id');
  let p = 16;
  t.same([u16(b, p), u16(b, p + 2)], [15, 1], 'string: 4 + 10 characters + NUL');
  t.equal(b.toString('latin1', p + 4, p + 15), 'kube-proxy\0');
  t.same([...b.subarray(p + 15, p + 16)], [0], 'padded with a zero');
  p += 16;
  t.equal(b.readUInt32BE(p + 4), 0xfffffffc, 'u32be: network order, negative verdicts as two’s complement');
  p += 8;
  t.equal(u32(b, p + 4), 0x01020304, 'u32: host order');
  p += 8;
  t.equal(b.readBigUInt64BE(p + 4), 10800000n, 'u64be');
  p += 12;
  t.same([u16(b, p), u16(b, p + 2)], [12, 5 | NLA_F_NESTED], 'nested: its length, NLA_F_NESTED');
  t.same([u16(b, p + 4), u16(b, p + 6)], [7, 1], 'the inner attribute: unpadded length');
  t.same([...b.subarray(p + 8, p + 12)], [1, 2, 3, 0], 'its bytes, padded');
  p += 12;
  t.same([u16(b, p), u16(b, p + 2)], [12, 6], 'open: the type as given (rtnetlink sends IFLA_LINKINFO so)');
  t.equal(p + 12, b.length);
});

t.test('growing: what was written stays, integers land in the new buffer, again() copies', async (t) => {
  const w = new NlWriter(16);
  const at = w.message(1, 1, 1);
  const from = w.pos;
  w.str(2, 'endpoint-ABCDEFGH-default/web/tcp/__10.244.1.2/8000');
  const to = w.pos;
  for (let i = 0; i < 1000; i++) {
    w.u32be(1, i);
    w.again(from, to);
  }
  w.endMessage(at);
  const b = w.done();
  t.equal(u32(b, 0), b.length, 'the length written after growing');
  const name = b.subarray(from, to);
  const step = 8 + (to - from);
  let ok = true;
  for (let i = 0; i < 1000; i++) {
    const p = to + i * step;
    if (b.readUInt32BE(p + 4) !== i || !b.subarray(p + 8, p + step).equals(name)) ok = false;
  }
  t.ok(ok, 'every value and every copy in place');
});

t.test('rewind drops what was written after a point', async (t) => {
  const w = new NlWriter();
  w.u32(1, 1);
  const mark = w.pos;
  w.str(2, 'gone');
  w.rewind(mark);
  w.u32(3, 3);
  t.equal(w.done().length, 16);
  t.equal(u16(w.done(), 10), 3);
});
