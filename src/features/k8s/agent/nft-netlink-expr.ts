// A kube-proxy rule (libnftables JSON, nft-expr.ts) as the nf_tables expressions nft 1.0.6
// compiles it to (checked against `nft --debug=netlink`): loads into register 1 (a concatenation
// into consecutive 32-bit registers), compares, lookups, verdicts. A prefix of whole bytes is
// compared on those bytes, any other on the whole address masked; `tcp dport` brings its
// `meta l4proto tcp` dependency.
import { addrBytes, u16be, u32host, type Wire } from './nft-netlink-wire.js';

/** Something kube-proxy never writes: the caller falls back to the nft tool. */
export class Unsupported extends Error {
  override name = 'Unsupported';
}

/** One expression, written when the rule is. */
export type Op = (w: Wire) => void;
export type Encoded = Op[];
type Family = 'ip' | 'ip6';
type Obj = Record<string, unknown>;

const NFT_REG_VERDICT = 0;
const REG1 = 1;
/** the 32-bit register at word `w` of the register file (NFT_REG32_00 is 8) */
const reg32 = (w: number) => (w === 0 ? REG1 : w % 4 === 0 ? w / 4 + 1 : 8 + w);
const VERDICT = { drop: 0, accept: 1, jump: -3, goto: -4, return: -5 } as const;
const PROTO_NUM: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, sctp: 132, 'ipv6-icmp': 58 };
const CMP = { '==': 0, '!=': 1 } as const;

/** An attribute of an expression: u32 (big-endian), string, or data value. */
type Attr = [number, number | string | Buffer];
const expr =
  (name: string, attrs: Attr[]): Op =>
  (w) => {
    const e = w.begin(1);
    w.str(1, name);
    const d = w.begin(2);
    for (const [type, v] of attrs)
      if (typeof v === 'number') w.u32be(type, v);
      else if (typeof v === 'string') w.str(type, v);
      else {
        const a = w.begin(type);
        w.bytes(1, v);
        w.end(a);
      }
    w.end(d);
    w.end(e);
  };

/** Where a header field lies: base (1 network, 2 transport), offset, length. */
function field(p: { protocol: string; field: string }, fam: Family): [number, number, number] {
  const key = `${p.protocol} ${p.field}`;
  const v4: Record<string, [number, number, number]> = {
    'ip saddr': [1, 12, 4],
    'ip daddr': [1, 16, 4],
    'ip protocol': [1, 9, 1],
  };
  const v6: Record<string, [number, number, number]> = { 'ip6 saddr': [1, 8, 16], 'ip6 daddr': [1, 24, 16] };
  const f =
    (fam === 'ip' ? v4 : v6)[key] ??
    (p.field === 'dport' ? ([2, 2, 2] as [number, number, number]) : undefined);
  if (!f) throw new Unsupported(`payload ${key} in an ${fam} table`);
  return f;
}

const payloadLoad = (base: number, offset: number, len: number, dreg = REG1) =>
  expr('payload', [
    [1, dreg],
    [2, base],
    [3, offset],
    [4, len],
  ]);
const cmp = (op: string, value: Buffer) => {
  const o = CMP[op as keyof typeof CMP];
  if (o === undefined) throw new Unsupported(`comparison ${op}`);
  return expr('cmp', [
    [1, REG1],
    [2, o],
    [3, value],
  ]);
};
const bitwise = (len: number, mask: Buffer, xor: Buffer) =>
  expr('bitwise', [
    [1, REG1],
    [2, REG1],
    [3, len],
    [4, mask],
    [5, xor],
  ]);
const metaLoad = (key: number, dreg = REG1) =>
  expr('meta', [
    [1, dreg],
    [2, key],
  ]);
const META_MARK = 3;
const META_L4PROTO = 16;
const lookup = (set: string, dreg?: number) =>
  expr('lookup', [[1, set], [2, REG1], ...(dreg === undefined ? [] : [[3, dreg] as Attr])]);
/** A verdict (jump, goto, return, drop) into the verdict register. */
const verdict =
  (code: number, chain?: string): Op =>
  (w) => {
    const e = w.begin(1);
    w.str(1, 'immediate');
    const d = w.begin(2);
    w.u32be(1, NFT_REG_VERDICT);
    const data = w.begin(2);
    const v = w.begin(2);
    w.u32be(1, code);
    if (chain !== undefined) w.str(2, chain);
    w.end(v);
    w.end(data);
    w.end(d);
    w.end(e);
  };
const immediate = (reg: number, bytes: Buffer) =>
  expr('immediate', [
    [1, reg],
    [2, bytes],
  ]);

const setName = (ref: unknown) => {
  if (typeof ref !== 'string' || !ref.startsWith('@')) throw new Unsupported(`set reference ${String(ref)}`);
  return ref.slice(1);
};
const protoNum = (p: unknown) => {
  const n = PROTO_NUM[String(p)];
  if (n === undefined) throw new Unsupported(`protocol ${String(p)}`);
  return Buffer.from([n]);
};
const famOf = (fam: Family) => (fam === 'ip' ? 4 : 6);

/** `counter packets 0 bytes 0` (the kernel's NFTA_COUNTER_BYTES, _PACKETS: u64) */
const COUNTER: Op = (w) => {
  const e = w.begin(1);
  w.str(1, 'counter');
  const d = w.begin(2);
  w.u64be(1, 0);
  w.u64be(2, 0);
  w.end(d);
  w.end(e);
};
/** `reject` with an ICMP code (NFTA_REJECT_ICMP_CODE is one byte) */
const rejectOp =
  (code: number): Op =>
  (w) => {
    const e = w.begin(1);
    w.str(1, 'reject');
    const d = w.begin(2);
    w.u32be(1, 0);
    w.bytes(2, Buffer.from([code]));
    w.end(d);
    w.end(e);
  };

/** `left op right` of a `match`. */
function matchExprs(m: { op: string; left: Obj; right: unknown }, fam: Family): Encoded {
  const { op, left, right } = m;
  if (left.payload) {
    const p = left.payload as { protocol: string; field: string };
    const [base, offset, len] = field(p, fam);
    if (p.field === 'dport') {
      // `tcp dport 80`: nft adds its dependency `meta l4proto tcp`
      return [
        metaLoad(META_L4PROTO),
        cmp('==', protoNum(p.protocol)),
        payloadLoad(base, offset, len),
        cmp(op, u16be(Number(right))),
      ];
    }
    if (p.field === 'protocol') return [payloadLoad(base, offset, len), cmp(op, protoNum(right))];
    if (typeof right === 'string' && right.startsWith('@')) {
      if (op !== '==') throw new Unsupported(`${op} @set`);
      return [payloadLoad(base, offset, len), lookup(setName(right))];
    }
    const pre = (right as { prefix?: { addr: string; len: number } })?.prefix;
    if (pre) {
      const full = addrBytes(pre.addr, famOf(fam));
      if (pre.len === full.length * 8) return [payloadLoad(base, offset, len), cmp(op, full)];
      if (!(pre.len > 0 && pre.len < full.length * 8)) throw new Unsupported(`prefix /${pre.len}`);
      // whole bytes: only those are loaded and compared; otherwise the whole address, masked
      const whole = pre.len % 8 === 0;
      const n = whole ? pre.len / 8 : full.length;
      const mask = Buffer.alloc(n);
      for (let i = 0; i < n; i++) mask[i] = (0xff << (8 - Math.min(8, Math.max(0, pre.len - 8 * i)))) & 0xff;
      const value = Buffer.from(full.subarray(0, n).map((b, i) => b & mask[i]));
      const load = payloadLoad(base, offset, n);
      if (whole) return [load, cmp(op, value)];
      return [load, bitwise(n, mask, Buffer.alloc(n)), cmp(op, value)];
    }
    if (typeof right !== 'string') throw new Unsupported(`payload match ${JSON.stringify(right)}`);
    return [payloadLoad(base, offset, len), cmp(op, addrBytes(right, famOf(fam)))];
  }
  const meta = left.meta as { key: string } | undefined;
  if (meta?.key === 'l4proto') return [metaLoad(META_L4PROTO), cmp(op, protoNum(right))];
  const ct = left.ct as { key: string } | undefined;
  if (ct?.key === 'state' && right === 'new' && op === 'in')
    return [
      expr('ct', [
        [1, REG1],
        [2, 0],
      ]),
      bitwise(4, u32host(8), u32host(0)),
      cmp('!=', u32host(0)),
    ];
  const and = left['&'] as [Obj, number] | undefined;
  if (and && (and[0].meta as { key: string })?.key === 'mark')
    return [metaLoad(META_MARK), bitwise(4, u32host(and[1]), u32host(0)), cmp(op, u32host(Number(right)))];
  const fib = left.fib as { result: string; flags: string[] } | undefined;
  if (fib?.result === 'type' && right === 'local' && fib.flags.length === 1) {
    const flag = { saddr: 1, daddr: 2 }[fib.flags[0]];
    if (!flag) throw new Unsupported(`fib ${fib.flags[0]}`);
    return [
      expr('fib', [
        [1, REG1],
        [2, 3],
        [3, flag],
      ]),
      cmp(op, u32host(2)),
    ];
  }
  const ng = left.numgen as { mode: string; mod: number; offset: number } | undefined;
  if (ng?.mode === 'random')
    return [
      expr('numgen', [
        [1, REG1],
        [2, ng.mod],
        [3, 1],
        [4, ng.offset],
      ]),
      cmp(op, u32host(Number(right))),
    ];
  throw new Unsupported(`match ${JSON.stringify(left)}`);
}

/** Loads a vmap key (one field or a concatenation) into consecutive registers. */
function keyLoads(key: Obj, fam: Family): Encoded {
  const fields = (key.concat as Obj[] | undefined) ?? [key];
  const out: Encoded = [];
  let word = 0;
  for (const f of fields) {
    if (f.payload) {
      const [base, offset, len] = field(f.payload as { protocol: string; field: string }, fam);
      out.push(payloadLoad(base, offset, len, reg32(word)));
      word += Math.ceil(len / 4);
    } else if ((f.meta as { key: string })?.key === 'l4proto') {
      out.push(metaLoad(META_L4PROTO, reg32(word)));
      word += 1;
    } else throw new Unsupported(`key ${JSON.stringify(f)}`);
  }
  return out;
}

function statement(s: Obj, fam: Family): Encoded {
  const [kind, v] = Object.entries(s)[0] as [string, Obj];
  switch (kind) {
    case 'match':
      return matchExprs(v as { op: string; left: Obj; right: unknown }, fam);
    case 'jump':
    case 'goto':
      return [verdict(VERDICT[kind], String(v.target))];
    case 'return':
    case 'drop':
    case 'accept':
      return [verdict(VERDICT[kind])];
    case 'counter':
      return [COUNTER];
    case 'dnat': {
      const nfproto = fam === 'ip' ? 2 : 10;
      const out = [immediate(1, addrBytes(String(v.addr), famOf(fam)))];
      const nat: Attr[] = [
        [1, 1],
        [2, nfproto],
        [3, 1],
      ];
      if (v.port !== undefined) {
        out.push(immediate(2, u16be(Number(v.port))));
        nat.push([5, 2], [7, 2]);
      }
      return [...out, expr('nat', nat)];
    }
    case 'mangle': {
      const key = (v.key as Obj).meta as { key: string };
      const val = v.value as Obj;
      const [op, args] = Object.entries(val)[0] as [string, [Obj, number]];
      if (key?.key !== 'mark' || (args[0].meta as { key: string })?.key !== 'mark')
        throw new Unsupported(`mangle ${JSON.stringify(v)}`);
      const mask = op === '|' ? ~args[1] : op === '^' ? 0xffffffff : undefined;
      if (mask === undefined) throw new Unsupported(`mangle op ${op}`);
      return [
        metaLoad(META_MARK),
        bitwise(4, u32host(mask), u32host(args[1])),
        expr('meta', [
          [2, META_MARK],
          [3, REG1],
        ]),
      ];
    }
    case 'masquerade':
      if (v.flags !== 'fully-random') throw new Unsupported(`masquerade ${JSON.stringify(v)}`);
      return [expr('masq', [[1, 0x10]])];
    case 'reject': {
      if (v.expr !== 'port-unreachable') throw new Unsupported(`reject ${JSON.stringify(v)}`);
      const code =
        v.type === 'icmp' && fam === 'ip' ? 3 : v.type === 'icmpv6' && fam === 'ip6' ? 4 : undefined;
      if (code === undefined) throw new Unsupported(`reject ${JSON.stringify(v)}`);
      return [rejectOp(code)];
    }
    case 'vmap':
      return [...keyLoads(v.key as Obj, fam), lookup(setName(v.data), NFT_REG_VERDICT)];
    case 'set': {
      if (v.op !== 'update') throw new Unsupported(`set ${String(v.op)}`);
      const [base, offset, len] = field((v.elem as Obj).payload as { protocol: string; field: string }, fam);
      return [
        payloadLoad(base, offset, len),
        expr('dynset', [
          [1, setName(v.set)],
          [3, 1],
          [4, REG1],
        ]),
      ];
    }
    default:
      throw new Unsupported(`statement ${kind}`);
  }
}

/**
 * Encoded statements of one family, as where their bytes are in the batch already (`start *
 * 2^16 + length`: copied from there, nothing allocated per statement): by their JSON (a table
 * repeats most of them, a port, an endpoint's address, thousands of times), and the frozen ones
 * shared by every rule that has them (nft-expr.ts `shared`: a jump to mark-for-masquerade, a
 * counter) by identity, without writing their JSON. Valid for one batch until it is rewound.
 */
export interface StatementCache {
  json: Map<string, number>;
  shared: WeakMap<object, number>;
}
export const statementCache = (): StatementCache => ({ json: new Map(), shared: new WeakMap() });
const CACHE_MAX = 100_000;
const SPAN = 0x10000;

/**
 * A rule's expressions: the content of NFTA_RULE_EXPRESSIONS. Throws `Unsupported` (the caller
 * rewinds the message) for what kube-proxy never writes.
 */
export function encodeRule(w: Wire, rule: Obj[], fam: Family, cache?: StatementCache): void {
  for (const s of rule) {
    if (!cache || s.goto) {
      for (const op of statement(s, fam)) op(w);
      continue;
    }
    const frozen = Object.isFrozen(s);
    if (frozen) {
      const at = cache.shared.get(s);
      if (at !== undefined) {
        w.again(Math.floor(at / SPAN), Math.floor(at / SPAN) + (at % SPAN));
        continue;
      }
    }
    const key = JSON.stringify(s);
    const at = cache.json.get(key);
    if (at !== undefined) {
      w.again(Math.floor(at / SPAN), Math.floor(at / SPAN) + (at % SPAN));
      if (frozen) cache.shared.set(s, at);
      continue;
    }
    const start = w.pos;
    for (const op of statement(s, fam)) op(w);
    const len = w.pos - start;
    if (len >= SPAN) continue;
    if (cache.json.size < CACHE_MAX) cache.json.set(key, start * SPAN + len);
    if (frozen) cache.shared.set(s, start * SPAN + len);
  }
}
