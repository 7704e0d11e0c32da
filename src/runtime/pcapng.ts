// pcapng, as much as a capture across several nodes needs: each node's dumpcap names its
// interfaces `eth1`, `eth2` ... (the if_name option of its Interface Description Blocks); before
// the files are merged into one, each name becomes `node:eth1`, so a reader of the merged file
// sees which node every packet was captured on.

const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const BOM = 0x1a2b3c4d;
const OPT_END = 0;
const OPT_IF_NAME = 2;

/** `prefix` + each interface's name (`h1:` + `eth1`), in every IDB of a pcapng file. */
export function prefixInterfaceNames(file: Buffer, prefix: string): Buffer {
  const out: Buffer[] = [];
  let le = true;
  let at = 0;
  while (at + 12 <= file.length) {
    // the section header's type reads the same either way; its byte-order magic says which
    if (file.readUInt32LE(at) === SHB) le = file.readUInt32LE(at + 8) === BOM;
    const u32 = (o: number) => (le ? file.readUInt32LE(o) : file.readUInt32BE(o));
    const type = u32(at);
    const len = u32(at + 4);
    if (len < 12 || at + len > file.length) break; // a torn last block (the capture was killed)
    const block = file.subarray(at, at + len);
    out.push(type === IDB ? renamedIdb(block, prefix, le) : block);
    at += len;
  }
  return Buffer.concat(out);
}

/** An IDB with its if_name option prefixed (or added when it has none). */
function renamedIdb(block: Buffer, prefix: string, le: boolean): Buffer {
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const body = block.subarray(8, block.length - 4);
  const fixed = body.subarray(0, 8); // link type, reserved, snap length
  const opts: { code: number; value: Buffer }[] = [];
  let name = '';
  for (let o = 8; o + 4 <= body.length; ) {
    const code = u16(body, o);
    const len = u16(body, o + 2);
    if (code === OPT_END) break;
    const value = body.subarray(o + 4, o + 4 + len);
    if (code === OPT_IF_NAME) name = value.toString('utf8');
    else opts.push({ code, value });
    o += 4 + len + ((4 - (len % 4)) % 4);
  }
  opts.unshift({ code: OPT_IF_NAME, value: Buffer.from(prefix + name, 'utf8') });
  const parts: Buffer[] = [fixed];
  for (const { code, value } of opts) parts.push(option(code, value, le));
  parts.push(option(OPT_END, Buffer.alloc(0), le));
  const newBody = Buffer.concat(parts);
  const total = newBody.length + 12;
  const head = Buffer.alloc(8);
  const tail = Buffer.alloc(4);
  if (le) {
    head.writeUInt32LE(IDB, 0);
    head.writeUInt32LE(total, 4);
    tail.writeUInt32LE(total, 0);
  } else {
    head.writeUInt32BE(IDB, 0);
    head.writeUInt32BE(total, 4);
    tail.writeUInt32BE(total, 0);
  }
  return Buffer.concat([head, newBody, tail]);
}

function option(code: number, value: Buffer, le: boolean): Buffer {
  const pad = (4 - (value.length % 4)) % 4;
  const b = Buffer.alloc(4 + value.length + pad);
  if (le) {
    b.writeUInt16LE(code, 0);
    b.writeUInt16LE(value.length, 2);
  } else {
    b.writeUInt16BE(code, 0);
    b.writeUInt16BE(value.length, 2);
  }
  value.copy(b, 4);
  return b;
}
