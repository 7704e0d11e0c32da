// The sets and maps of kube-proxy's table as nf_tables messages carry them: a set's key type
// and flags (NFTA_SET_*), and one element's key and verdict (NFTA_SET_ELEM_*), written in place
// into the batch (nft-netlink.ts).
import { parseIp } from '../../../util/ipv4.js';
import { Unsupported } from './nft-netlink-expr.js';
import { addrBytes, type Wire } from './nft-netlink-wire.js';

type Obj = Record<string, unknown>;

/** nftables' datatype numbers (the set key types nft lists) and their sizes in bytes. */
const DATATYPES: Record<string, { id: number; len: number }> = {
  ipv4_addr: { id: 7, len: 4 },
  ipv6_addr: { id: 8, len: 16 },
  inet_proto: { id: 12, len: 1 },
  inet_service: { id: 13, len: 2 },
};
const TYPE_BITS = 6;
const NFT_DATA_VERDICT = 0xffffff00;
const SET_F = { MAP: 0x8, TIMEOUT: 0x10, EVAL: 0x20 };
/** the size nft gives a set that rules update (`size 65535` in its listing) */
const DYNAMIC_SET_SIZE = 65535;
const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17, sctp: 132 };
const padded = (n: number) => (n + 3) & ~3;

/**
 * A set element's key (NFTA_DATA_VALUE): the fields' bytes, each padded to 4 bytes, written in
 * place (no buffer per field).
 */
function writeKey(w: Wire, types: string[], key: unknown, where: string): void {
  const fields = types.length === 1 ? undefined : (key as { concat?: unknown[] })?.concat;
  if (types.length > 1 && (!Array.isArray(fields) || fields.length !== types.length))
    throw new Unsupported(`element key of ${where}`);
  const at = w.open(1);
  for (let i = 0; i < types.length; i++) {
    const t = types[i];
    const v = fields ? fields[i] : key;
    w.room(16);
    const b = w.buf;
    const p = w.pos;
    if (t === 'ipv4_addr' || t === 'ipv6_addr') {
      const six = t === 'ipv6_addr';
      const n = six ? undefined : parseIp(String(v));
      if (n !== undefined) {
        b[p] = n >>> 24;
        b[p + 1] = (n >>> 16) & 0xff;
        b[p + 2] = (n >>> 8) & 0xff;
        b[p + 3] = n & 0xff;
        w.pos += 4;
      } else w.raw(addrBytes(String(v), six ? 6 : 4));
    } else if (t === 'inet_proto' && typeof v === 'string' && Object.hasOwn(PROTOCOLS, v)) {
      b[p] = PROTOCOLS[v];
      b[p + 1] = b[p + 2] = b[p + 3] = 0;
      w.pos += 4;
    } else if (t === 'inet_service' && typeof v === 'number') {
      b[p] = (v >>> 8) & 0xff;
      b[p + 1] = v & 0xff;
      b[p + 2] = b[p + 3] = 0;
      w.pos += 4;
    } else throw new Unsupported(`element field ${t} = ${JSON.stringify(v)}`);
  }
  w.end(at);
}

/** `goto X` / `jump X` as a set element's data. */
function verdictOf(value: unknown): [number, string] {
  const v = value as { goto?: { target: string }; jump?: { target: string } };
  const target = v?.goto?.target ?? v?.jump?.target;
  if (!target) throw new Unsupported(`element value ${JSON.stringify(value)}`);
  return [v.goto ? -4 : -3, target];
}

/** A new set's attributes after its name; returns its key's field types. */
export function writeSet(w: Wire, o: Obj, isMap: boolean, setId: number): string[] {
  const types = (Array.isArray(o.type) ? o.type : [o.type]).map(String);
  if (!types.every((x) => DATATYPES[x])) throw new Unsupported(`set type ${types.join(' . ')}`);
  if (isMap && o.map !== 'verdict') throw new Unsupported(`map data ${String(o.map)}`);
  const flags = (o.flags as string[] | undefined) ?? [];
  if (flags.some((f) => f !== 'timeout')) throw new Unsupported(`set flags ${flags.join(',')}`);
  const timeout = flags.includes('timeout');
  w.u32be(3, (isMap ? SET_F.MAP : 0) | (timeout ? SET_F.TIMEOUT | SET_F.EVAL : 0));
  w.u32be(
    4,
    types.reduce((acc, x) => (acc << TYPE_BITS) | DATATYPES[x].id, 0),
  );
  w.u32be(
    5,
    types.reduce((n, x) => n + padded(DATATYPES[x].len), 0),
  );
  if (isMap) w.u32be(6, NFT_DATA_VERDICT);
  if (timeout) {
    const d = w.begin(9);
    w.u32be(1, DYNAMIC_SET_SIZE);
    w.end(d);
  }
  w.u32be(10, setId);
  if (timeout) w.u64be(11, Number(o.timeout ?? 0) * 1000);
  return types;
}

/** One element of NFTA_SET_ELEM_LIST_ELEMENTS: its key and, for a map, its verdict (`value`). */
export function writeElement(w: Wire, types: string[], set: string, key: unknown, value: unknown): void {
  const el = w.begin(1);
  const k = w.begin(1);
  writeKey(w, types, key, set);
  w.end(k);
  if (value !== undefined) {
    const [code, chain] = verdictOf(value);
    const d = w.begin(2);
    const v = w.begin(2);
    w.u32be(1, code);
    w.str(2, chain);
    w.end(v);
    w.end(d);
  }
  w.end(el);
}
