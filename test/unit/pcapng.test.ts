// Interfaces of a pcapng file renamed node:iface before a capture across nodes is merged.
import t from 'tap';
import { prefixInterfaceNames } from '../../src/runtime/pcapng.js';

/** a pcapng block: type, total length, body padded to 4, total length again */
function block(type: number, body: Buffer, le: boolean): Buffer {
  const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
  const b = Buffer.alloc(padded.length + 12);
  const w = (v: number, o: number) => (le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
  w(type, 0);
  w(b.length, 4);
  padded.copy(b, 8);
  w(b.length, b.length - 4);
  return b;
}

function opt(code: number, value: string, le: boolean): Buffer {
  const v = Buffer.from(value);
  const b = Buffer.alloc(4 + v.length + ((4 - (v.length % 4)) % 4));
  if (le) {
    b.writeUInt16LE(code, 0);
    b.writeUInt16LE(v.length, 2);
  } else {
    b.writeUInt16BE(code, 0);
    b.writeUInt16BE(v.length, 2);
  }
  v.copy(b, 4);
  return b;
}

function file(le: boolean): Buffer {
  const shb = Buffer.alloc(16);
  if (le) shb.writeUInt32LE(0x1a2b3c4d, 0);
  else shb.writeUInt32BE(0x1a2b3c4d, 0);
  shb.writeBigInt64LE(-1n, 8);
  const fixed = Buffer.alloc(8);
  if (le) fixed.writeUInt16LE(1, 0);
  else fixed.writeUInt16BE(1, 0);
  const idb = Buffer.concat([fixed, opt(2, 'eth1', le), opt(3, 'veth', le), Buffer.alloc(4)]);
  const epb = Buffer.alloc(20);
  return Buffer.concat([block(0x0a0d0d0a, shb, le), block(1, idb, le), block(6, epb, le)]);
}

/** The interface names and option codes in a file (a tiny reader, independent of the writer). */
function names(f: Buffer, le: boolean): { name: string; codes: number[]; blocks: number } {
  const u32 = (o: number) => (le ? f.readUInt32LE(o) : f.readUInt32BE(o));
  const u16 = (o: number) => (le ? f.readUInt16LE(o) : f.readUInt16BE(o));
  let name = '';
  const codes: number[] = [];
  let blocks = 0;
  for (let at = 0; at < f.length; at += u32(at + 4)) {
    blocks++;
    t.equal(u32(at + 4), u32(at + u32(at + 4) - 4), 'both lengths agree');
    if (u32(at) !== 1) continue;
    for (let o = at + 16; u16(o) !== 0; o += 4 + u16(o + 2) + ((4 - (u16(o + 2) % 4)) % 4)) {
      codes.push(u16(o));
      if (u16(o) === 2) name = f.subarray(o + 4, o + 4 + u16(o + 2)).toString();
    }
  }
  return { name, codes, blocks };
}

for (const le of [true, false])
  t.test(le ? 'little-endian' : 'big-endian', async (t) => {
    const out = prefixInterfaceNames(file(le), 'C0w1/a1:');
    t.same(names(out, le), { name: 'C0w1/a1:eth1', codes: [2, 3], blocks: 3 }, 'renamed, other options kept');
    t.equal(out.length % 4, 0, 'blocks padded to 4');
  });

t.test('a torn last block is dropped', async (t) => {
  const f = file(true);
  t.equal(prefixInterfaceNames(f.subarray(0, f.length - 6), 'h1:').length % 4, 0);
  t.same(names(prefixInterfaceNames(f.subarray(0, f.length - 6), 'h1:'), true).blocks, 2);
});
