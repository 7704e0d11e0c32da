// The netlink encoder of kube-proxy's transactions without a kernel: every message and nested
// attribute is well formed, the full sync written from fragments is byte for byte the one
// written from the commands, known expressions have nft's encoding, and what the encoder does
// not know is refused as a whole (the agent then uses nft). That the kernel ends up with what
// `nft` makes of the same commands is checked in test/integration/k8s-proxy-netlink.test.ts.
import t from 'tap';
import { counter, l4proto, markForMasquerade } from '../../src/features/k8s/agent/nft-expr.js';
import {
  BatchEncoder,
  encodeBatch,
  encodeFullSync,
  setTypesOf,
} from '../../src/features/k8s/agent/nft-netlink.js';
import { fullSync, skeleton, TABLE } from '../../src/features/k8s/agent/proxy-rules.js';
import { corpus } from '../lib/proxy-corpus.js';

/** Walks a batch: each message's length, and every attribute nested within its bounds. */
function messages(batch: Buffer): { type: number; seq: number; body: Buffer }[] {
  const out = [];
  let o = 0;
  while (o < batch.length) {
    const len = batch.readUInt32LE(o);
    if (len < 20 || o + len > batch.length) throw new Error(`message at ${o}: length ${len}`);
    out.push({
      type: batch.readUInt16LE(o + 4),
      seq: batch.readUInt32LE(o + 8),
      body: batch.subarray(o + 20, o + len),
    });
    o += (len + 3) & ~3;
  }
  return out;
}

function checkAttrs(b: Buffer, depth = 0): number {
  let o = 0;
  let n = 0;
  while (o < b.length) {
    const len = b.readUInt16LE(o);
    const type = b.readUInt16LE(o + 2);
    if (len < 4 || o + len > b.length) throw new Error(`attribute at ${o}: length ${len} of ${b.length}`);
    n++;
    if (type & 0x8000) n += checkAttrs(b.subarray(o + 4, o + len), depth + 1);
    o += (len + 3) & ~3;
  }
  return n;
}

t.test('every message and attribute of a full sync and an update is well formed', async (t) => {
  const c = corpus();
  for (const [what, batch] of [
    ['full', encodeBatch(c.full, new Map())],
    ['update', encodeBatch(c.update, setTypesOf([...skeleton(4), ...skeleton(6)]))],
  ] as const) {
    const ms = messages(batch);
    const commands = what === 'full' ? c.full : c.update;
    t.equal(ms.length, commands.length + 2, `${what}: BEGIN, one message per command, END`);
    t.equal(ms[0].type, 0x10, 'batch begin');
    t.equal(ms.at(-1)!.type, 0x11, 'batch end');
    t.same(
      ms.slice(1, -1).map((m) => m.seq),
      commands.map((_, i) => i + 1),
      'sequence numbers follow the commands',
    );
    for (const m of ms.slice(1, -1)) t.ok(checkAttrs(m.body) > 0);
  }
});

t.test('the full sync from fragments is the full sync from commands, byte for byte', async (t) => {
  const c = corpus();
  const direct = encodeFullSync([
    { family: 'ip', table: TABLE, head: fullSync([], 4), fragments: c.fragments4 },
    { family: 'ip6', table: TABLE, head: fullSync([], 6), fragments: c.fragments6 },
  ]);
  t.ok(direct.equals(encodeBatch(c.full, new Map())));
});

t.test('expressions as nft encodes them', async (t) => {
  const rule = (expr: unknown[], family = 'ip') => {
    const b = encodeBatch([{ add: { rule: { family, table: TABLE, chain: 'c', expr } } }], new Map());
    return messages(b)[1].body;
  };
  const has = (b: Buffer, hex: string) => b.includes(Buffer.from(hex.replaceAll(' ', ''), 'hex'));
  const ipSaddr = { payload: { protocol: 'ip', field: 'saddr' } };
  // ip saddr 10.244.1.2: payload load 4b @ network header + 12, cmp eq 0a f4 01 02
  let b = rule([{ match: { op: '==', left: ipSaddr, right: '10.244.1.2' } }]);
  t.ok(has(b, '0a f4 01 02'), 'the address in network order');
  t.ok(has(b, '0800 0300 0000000c'), 'offset 12');
  // a /20 prefix (as nft 1.0.6 writes it): the 4 bytes loaded, masked by ff ff f0 00, compared with 0a f4 00 00
  b = rule([{ match: { op: '!=', left: ipSaddr, right: { prefix: { addr: '10.244.0.0', len: 20 } } } }]);
  t.ok(has(b, '0800 0400 00000004'), 'four bytes loaded');
  t.ok(has(b, '0800 0100 fffff000'), 'the mask');
  t.ok(b.includes(Buffer.from('bitwise\0')), 'a bitwise expression');
  // a /16: two bytes, no mask
  b = rule([{ match: { op: '!=', left: ipSaddr, right: { prefix: { addr: '10.244.0.0', len: 16 } } } }]);
  t.notOk(b.includes(Buffer.from('bitwise\0')), 'no bitwise for a whole-byte prefix');
  // tcp dport 80 brings its dependency meta l4proto tcp
  b = rule([{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 80 } }]);
  t.ok(b.includes(Buffer.from('meta\0')), 'meta l4proto dependency');
  t.ok(has(b, '0600 0100 0050'), 'port 80 big-endian');
  // goto with its chain name
  b = rule([{ goto: { target: 'endpoint-X' } }]);
  t.ok(has(b, 'fffffffc'), 'NFT_GOTO');
  t.ok(b.includes(Buffer.from('endpoint-X\0')), 'the chain');
});

t.test('what the encoder does not know is refused, and leaves nothing behind', async (t) => {
  const e = new BatchEncoder();
  e.add({ add: { table: { family: 'ip', name: TABLE } } });
  t.throws(() => e.add({ add: { rule: { family: 'ip', table: TABLE, chain: 'c', expr: [{ log: {} }] } } }), {
    name: 'Unsupported',
  });
  t.throws(() => e.add({ add: { table: { family: 'inet', name: 'x' } } }), { name: 'Unsupported' });
  t.throws(
    () => e.add({ add: { element: { family: 'ip', table: TABLE, name: 'nope', elem: ['1.2.3.4'] } } }),
    { name: 'Unsupported' },
  );
  t.equal(e.size, 1, 'only the table is in the batch');
  t.equal(messages(e.batch()).length, 3);
});

t.test('shared statements (by identity) encode as their copies do (by JSON)', async (t) => {
  const rule = (expr: unknown[]) =>
    messages(encodeBatch([{ add: { rule: { family: 'ip', table: TABLE, chain: 'c', expr } } }], new Map()))[1]
      .body;
  const copy = (x: unknown) => JSON.parse(JSON.stringify(x));
  const shared = [counter, l4proto('tcp'), markForMasquerade];
  t.ok(
    shared.every((s) => Object.isFrozen(s)),
    'frozen',
  );
  // twice in one batch: the second time from the identity cache
  const both = (expr: unknown[]) =>
    encodeBatch(
      [0, 1].map(() => ({ add: { rule: { family: 'ip', table: TABLE, chain: 'c', expr } } })),
      new Map(),
    );
  t.ok(both(shared).equals(both(copy(shared))), 'the same bytes, the first time and from the cache');
  t.ok(rule(shared).equals(rule(copy(shared))));
  t.same(l4proto('dccp'), { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 'dccp' } });
});

t.test('element keys written in place: address, protocol and port, each padded to 4 bytes', async (t) => {
  const sets = setTypesOf([...skeleton(4), ...skeleton(6)]);
  const elem = (family: string, name: string, key: unknown) =>
    messages(
      encodeBatch(
        [{ add: { element: { family, table: TABLE, name, elem: [[key, { goto: { target: 'svc' } }]] } } }],
        new Map(sets),
      ),
    )[1].body;
  const hex = (s: string) => Buffer.from(s.replaceAll(' ', ''), 'hex');
  // NFTA_DATA_VALUE of 12 bytes + 4: 10.96.1.0 . tcp . 80
  const v4 = elem('ip', 'service-ips', { concat: ['10.96.1.0', 'tcp', 80] });
  t.ok(v4.includes(hex('1000 0100 0a600100 06000000 00500000')), 'ipv4 . tcp . 80');
  const v6 = elem('ip6', 'service-ips', { concat: ['fd00:96::1', 'udp', 53] });
  t.ok(v6.includes(hex('1c00 0100 fd000096000000000000000000000001 11000000 00350000')), 'ipv6 . udp . 53');
  const np = elem('ip', 'service-nodeports', { concat: ['sctp', 30080] });
  t.ok(np.includes(hex('0c00 0100 84000000 75800000')), 'sctp . 30080');
  t.throws(() => elem('ip', 'service-ips', { concat: ['10.96.1.0', 'dccp', 80] }), { name: 'Unsupported' });
  t.throws(() => elem('ip', 'service-ips', { concat: ['10.96.1.0', 'tcp'] }), { name: 'Unsupported' });
});

t.test('a full sync from fragments rendered as they are read (a generator) is the same batch', async (t) => {
  const c = corpus();
  const lazy = function* <T>(xs: T[]) {
    for (const x of xs) yield x;
  };
  const direct = encodeFullSync([
    { family: 'ip', table: TABLE, head: fullSync([], 4), fragments: lazy([...c.fragments4]) },
    { family: 'ip6', table: TABLE, head: fullSync([], 6), fragments: lazy([...c.fragments6]) },
  ]);
  t.ok(direct.equals(encodeBatch(c.full, new Map())));
});

t.test('a statement cached inside a refused command is not copied from the dropped bytes', async (t) => {
  const saddr = {
    match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '10.0.0.7' },
  };
  const rule = (expr: unknown[]) => ({ add: { rule: { family: 'ip', table: TABLE, chain: 'c', expr } } });
  const e = new BatchEncoder();
  e.add({ add: { table: { family: 'ip', name: TABLE } } });
  t.throws(() => e.add(rule([saddr, { log: {} }])), { name: 'Unsupported' });
  // the next message is written where the refused one was: then the cached bytes would be its own
  e.add(rule([{ counter: { packets: 0, bytes: 0 } }, counter, counter, counter]));
  e.add(rule([saddr]));
  const fresh = new BatchEncoder();
  fresh.add({ add: { table: { family: 'ip', name: TABLE } } });
  fresh.add(rule([{ counter: { packets: 0, bytes: 0 } }, counter, counter, counter]));
  fresh.add(rule([saddr]));
  t.ok(e.batch().equals(fresh.batch()));
});
