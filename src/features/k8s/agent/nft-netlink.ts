// kube-proxy's libnftables JSON commands encoded as one nf_tables netlink batch, the bytes the
// `nft` tool would send for them. The agent hands the batch to a long-lived netlink writer
// (kernel.ts), so a transaction costs what the kernel does with it: `nft` 1.0.6 first dumps
// every chain of the namespace into its cache (30,000 chains at 10,000 services: ~80 ms)
// before each invocation. Only what kube-proxy writes is known here; anything else throws
// `Unsupported` and the caller sends that transaction through `nft` instead.
import { encodeRule, type StatementCache, statementCache, Unsupported } from './nft-netlink-expr.js';
import { writeElement, writeSet } from './nft-netlink-set.js';
import { Wire } from './nft-netlink-wire.js';

export { Unsupported } from './nft-netlink-expr.js';

const NFNL_SUBSYS_NFTABLES = 10;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;
const MSG = {
  NEWTABLE: 0,
  DELTABLE: 2,
  NEWCHAIN: 3,
  DELCHAIN: 5,
  NEWRULE: 6,
  DELRULE: 8,
  NEWSET: 9,
  DELSET: 11,
  NEWSETELEM: 12,
  DELSETELEM: 14,
} as const;
const NLM_F_REQUEST = 0x1;
const NLM_F_APPEND = 0x800;
const NLM_F_CREATE = 0x400;
const NFPROTO = { ip: 2, ip6: 10 } as const;

const HOOKS: Record<string, number> = { prerouting: 0, input: 1, forward: 2, output: 3, postrouting: 4 };

type Family = 'ip' | 'ip6';
type Obj = Record<string, unknown>;
export type Command = Record<string, Record<string, unknown>>;

/** A service's fragment (proxy-rules.ts), the parts the encoder reads. */
export interface FragmentParts {
  /** the table of its chains and sets (none: the table it is encoded for) */
  table?: string;
  chains: Map<string, Obj[][]>;
  sets: Map<string, number>;
  /** `table`: the map's table (none: the fragment's) */
  elements: Map<string, { map: string; key: unknown; value?: unknown; table?: string }>;
}

/** What a table's sets look like, by `<family> <table> <name>`: the element encoder needs each key's field types. */
export type SetTypes = Map<string, string[]>;

/** Encodes commands one by one into one batch, tracking the set types that elements need. */
export class BatchEncoder {
  private readonly w: Wire;
  /** encoded statements, per family */
  private cache: Record<Family, StatementCache> = { ip: statementCache(), ip6: statementCache() };
  private seq = 0;
  /** NFTA_SET_ID: the kernel requires one on every new set, unique within the batch */
  private setId = 0;
  /** message starts by family, table, then type and flags (open) */
  private readonly templates: Record<Family, Map<string, Map<number, Buffer>>> = {
    ip: new Map(),
    ip6: new Map(),
  };
  private tpl = new Map<number, Buffer>();
  private tplFam?: Family;
  private tplTable?: string;

  /** `sets`: the types of sets that exist already, by `<family> <table> <name>` (updated as sets come and go) */
  constructor(
    private readonly sets: SetTypes = new Map(),
    sizeHint = 1 << 16,
  ) {
    this.w = new Wire(sizeHint);
    const at = this.w.nfMessage(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 0, 0, NFNL_SUBSYS_NFTABLES);
    this.w.endMessage(at);
  }

  /** Adds the next command (sequence number = its 1-based position); on an error nothing of it stays. */
  add(command: Command): void {
    const [start, seq] = [this.w.pos, this.seq];
    try {
      this.encode(command);
    } catch (e) {
      this.w.rewind(start);
      this.seq = seq;
      // the cached statements may lie in what was dropped
      this.cache = { ip: statementCache(), ip6: statementCache() };
      throw e;
    }
  }

  private encode(command: Command): void {
    let op = '';
    let kind = '';
    for (const k in command) op = k;
    for (const k in command[op] ?? {}) kind = k;
    const o = command[op]?.[kind] as Obj | undefined;
    const fam = o?.family;
    if (!o || (fam !== 'ip' && fam !== 'ip6')) throw new Unsupported(`command ${JSON.stringify(command)}`);
    const table = String(kind === 'table' ? o.name : o.table);
    switch (`${op} ${kind}`) {
      case 'add table':
        this.msg(MSG.NEWTABLE, NLM_F_CREATE, fam, table);
        return;
      case 'delete table':
        for (const k of [...this.sets.keys()]) if (k.startsWith(`${fam} ${table} `)) this.sets.delete(k);
        this.msg(MSG.DELTABLE, 0, fam, table);
        return;
      case 'add chain':
        this.chain(fam, table, String(o.name), o);
        return;
      case 'delete chain':
        this.msg(MSG.DELCHAIN, 0, fam, table, () => this.w.str(3, String(o.name)));
        return;
      case 'flush chain':
        this.msg(MSG.DELRULE, 0, fam, table, () => this.w.str(2, String(o.name)));
        return;
      case 'add rule':
        this.rule(fam, table, String(o.chain), o.expr as Obj[]);
        return;
      case 'add set':
      case 'add map':
        this.msg(MSG.NEWSET, NLM_F_CREATE, fam, table, () => {
          this.w.str(2, String(o.name));
          this.set(fam, table, o, kind === 'map');
        });
        return;
      case 'delete set':
        this.sets.delete(`${fam} ${table} ${o.name}`);
        this.msg(MSG.DELSET, 0, fam, table, () => this.w.str(2, String(o.name)));
        return;
      case 'add element':
      case 'delete element': {
        const add = op === 'add';
        this.msg(add ? MSG.NEWSETELEM : MSG.DELSETELEM, add ? NLM_F_CREATE : 0, fam, table, () => {
          this.w.str(2, String(o.name));
          const set = String(o.name);
          this.elements(this.typesOf(fam, table, set), set, o.elem as unknown[], add);
        });
        return;
      }
      default:
        throw new Unsupported(`${op} ${kind}`);
    }
  }

  /** One message: header, the table's name, then `body`. */
  private msg(type: number, flags: number, fam: Family, table: string, body?: () => void): void {
    const at = this.open(type, flags, fam, table);
    body?.();
    this.w.endMessage(at);
  }

  /**
   * A message's start: its header and the table's name, copied from a template made once per
   * message type, flags, family and table (the hot paths write their body inline: no closure
   * per message).
   */
  private open(type: number, flags: number, fam: Family, table: string): number {
    if (fam !== this.tplFam || table !== this.tplTable) {
      // sharded, a service's elements alternate between its shard and the main table
      const byTable = this.templates[fam];
      let m = byTable.get(table);
      if (!m) {
        m = new Map();
        byTable.set(table, m);
      }
      [this.tplFam, this.tplTable, this.tpl] = [fam, table, m];
    }
    const k = (type << 16) | flags;
    let t = this.tpl.get(k);
    if (!t) {
      const w = new Wire(64);
      w.nfMessage((NFNL_SUBSYS_NFTABLES << 8) | type, NLM_F_REQUEST | flags, 0, NFPROTO[fam]);
      w.str(1, table);
      t = Buffer.from(w.done());
      this.tpl.set(k, t);
    }
    const at = this.w.pos;
    this.w.raw(t);
    this.w.put32(at + 8, ++this.seq);
    return at;
  }

  private chain(fam: Family, table: string, name: string, o?: Obj): void {
    const at = this.open(MSG.NEWCHAIN, NLM_F_CREATE, fam, table);
    this.w.str(3, name);
    if (o) this.hook(o);
    this.w.endMessage(at);
  }

  /**
   * A rule appended to `chain`; `name`: where the chain's name attribute was written before (it
   * is copied). Returns where this rule's name attribute is.
   */
  private rule(
    fam: Family,
    table: string,
    chain: string,
    expr: Obj[],
    name?: [number, number],
  ): [number, number] {
    const w = this.w;
    const at = this.open(MSG.NEWRULE, NLM_F_CREATE | NLM_F_APPEND, fam, table);
    const from = w.pos;
    if (name) w.again(name[0], name[1]);
    else w.str(2, chain);
    const to = w.pos;
    const e = w.begin(4);
    encodeRule(w, expr, fam, this.cache[fam]);
    w.end(e);
    w.endMessage(at);
    return name ?? [from, to];
  }

  /**
   * Everything of one service's fragment, as `add` commands would write it (proxy-rules.ts
   * diffFragments from nothing): its sets, its chains, their rules, its map elements.
   */
  fragment(f: FragmentParts, fam: Family, defaultTable: string): void {
    const addrType = fam === 'ip' ? 'ipv4_addr' : 'ipv6_addr';
    const table = f.table ?? defaultTable;
    for (const [name, timeout] of f.sets)
      this.msg(MSG.NEWSET, NLM_F_CREATE, fam, table, () => {
        this.w.str(2, name);
        this.set(fam, table, { name, type: addrType, flags: ['timeout'], timeout }, false);
      });
    for (const c of f.chains.keys()) this.chain(fam, table, c);
    const w = this.w;
    for (const [c, rules] of f.chains) {
      // the chain's name attribute is written once and copied into its other rules
      let name: [number, number] | undefined;
      for (const r of rules) name = this.rule(fam, table, c, r, name);
    }
    for (const e of f.elements.values()) {
      const et = e.table ?? table;
      const at = this.open(MSG.NEWSETELEM, NLM_F_CREATE, fam, et);
      w.str(2, e.map);
      const list = w.begin(3);
      writeElement(w, this.typesOf(fam, et, e.map), e.map, e.key, e.value);
      w.end(list);
      w.endMessage(at);
    }
  }

  private hook(o: Obj): void {
    if (o.hook === undefined) return;
    const num = HOOKS[String(o.hook)];
    if (num === undefined || (o.type !== 'filter' && o.type !== 'nat') || o.policy !== 'accept')
      throw new Unsupported(`base chain ${JSON.stringify(o)}`);
    const w = this.w;
    const h = w.begin(4);
    w.u32be(1, num);
    w.u32be(2, Number(o.prio));
    w.end(h);
    w.u32be(5, 1);
    w.str(7, String(o.type));
  }

  private set(fam: Family, table: string, o: Obj, isMap: boolean): void {
    this.sets.set(`${fam} ${table} ${o.name}`, writeSet(this.w, o, isMap, ++this.setId));
  }

  /** The field types of a set's key. */
  private typesOf(fam: Family, table: string, set: string): string[] {
    const types = this.sets.get(`${fam} ${table} ${set}`);
    if (!types) throw new Unsupported(`elements of unknown set ${table} ${set}`);
    return types;
  }

  private elements(types: string[], set: string, elems: unknown[], withData: boolean): void {
    const list = this.w.begin(3);
    for (const e of elems) {
      const [key, value] = Array.isArray(e) ? e : [e, undefined];
      writeElement(this.w, types, set, key, withData ? value : undefined);
    }
    this.w.end(list);
  }

  get size(): number {
    return this.seq;
  }

  /** The batch: BEGIN, the messages with sequence numbers 1..n (command i has seq i + 1), END. */
  batch(): Buffer {
    const at = this.w.nfMessage(NFNL_MSG_BATCH_END, NLM_F_REQUEST, this.seq + 1, 0, NFNL_SUBSYS_NFTABLES);
    this.w.endMessage(at);
    return this.w.done();
  }
}

/** The whole transaction as one batch (throws `Unsupported` for anything kube-proxy does not write). */
export function encodeBatch(commands: Command[], sets: SetTypes): Buffer {
  const e = new BatchEncoder(sets);
  for (const c of commands) e.add(c);
  return e.batch();
}

/** The key types of the sets and maps a transaction adds (the skeleton's), by `<family> <table> <name>`. */
export function setTypesOf(commands: Command[]): SetTypes {
  const out: SetTypes = new Map();
  for (const c of commands) {
    const o = (c.add?.set ?? c.add?.map) as Obj | undefined;
    if (o)
      out.set(`${o.family} ${o.table} ${o.name}`, (Array.isArray(o.type) ? o.type : [o.type]).map(String));
  }
  return out;
}

/** A short description of command i (1-based sequence number) for an error message. */
export function describeCommand(commands: Command[], seq: number): string {
  const c = commands[seq - 1];
  if (!c) return 'the batch';
  const [op, inner] = Object.entries(c)[0];
  const [kind, o] = Object.entries(inner)[0] as [string, Obj];
  return `${op} ${kind} ${String(o.chain ?? o.name ?? '')}`.trim();
}

/** One table of a full sync: the commands that replace it and set up its skeleton, then every fragment. */
export interface FullSyncTable {
  family: Family;
  table: string;
  head: Command[];
  fragments: Iterable<FragmentParts>;
}

/**
 * A full sync as one batch, written from the fragments directly (no command objects: at 10,000
 * services there would be 120,000). What it adds is what the commands of proxy-rules.ts
 * fullSync add, in the same order.
 */
export function encodeFullSync(tables: FullSyncTable[], sizeHint = 1 << 20): Buffer {
  const e = new BatchEncoder(new Map(), sizeHint);
  for (const t of tables) {
    for (const c of t.head) e.add(c);
    for (const f of t.fragments) e.fragment(f, t.family, t.table);
  }
  return e.batch();
}
