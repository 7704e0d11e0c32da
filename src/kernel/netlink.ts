// The rtnetlink requests of the `ip` lines that plain builds use, encoded here so the namespace
// runner (runner.ts) sends them over a NETLINK_ROUTE socket of its own instead of starting `ip`
// in every namespace. Each request is what `ip` itself sends for the line (iproute2: ipaddr_modify,
// iproute_modify, iplink_modify), so the kernel ends up the same: `addr add` gives IFA_LOCAL and
// IFA_ADDRESS (no broadcast), scope host for 127/8; routes go to table main, proto boot, scope
// universe with a gateway and link without. A line outside this subset makes encodeBatch return
// undefined, and the namespace keeps `ip -batch`. Interface indexes are not known here: the
// request carries a hole (`holes`) that the runner fills with the named interface's index just
// before sending it (a bridge made by an earlier line of the same batch exists by then).
import { endianness } from 'node:os';
import { ipBytes } from '../util/ip-bytes.js';
import { NlWriter } from '../util/netlink-attr.js';

export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
const NLM_F_REPLACE = 0x100;
const NLM_F_DUMP = 0x300;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_NEWROUTE = 24;
const AF_UNSPEC = 0;
const AF_INET = 2;
const AF_INET6 = 10;
const IFF_UP = 0x1;
const IFLA_IFNAME = 3;
const IFLA_MASTER = 10;
const IFLA_OPERSTATE = 16;
const IFLA_LINKINFO = 18;
const IFLA_EXT_MASK = 29;
const RTEXT_FILTER_SKIP_STATS = 0x8;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_F_NODAD = 0x2;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RT_TABLE_MAIN = 254;
const RTPROT_BOOT = 3;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RT_SCOPE_HOST = 254;
const RTN_UNICAST = 1;
/** `ip link add ... type bridge` options: attribute number and size (IFLA_BR_*) */
const BRIDGE_OPTS: Record<string, [number, 1 | 4]> = {
  forward_delay: [1, 4],
  hello_time: [2, 4],
  max_age: [3, 4],
  ageing_time: [4, 4],
  stp_state: [5, 4],
  priority: [6, 4],
  vlan_filtering: [7, 1],
  mcast_snooping: [23, 1],
};

/** One request: its bytes, and where the runner writes interface indexes (offset, name). */
export interface NlRequest {
  line: string;
  bytes: Buffer;
  holes: [number, string][];
}

const LE = endianness() === 'LE';

/** A message being built on the shared writer: header first, then the family header, then attributes. */
class Msg {
  private readonly w = new NlWriter(256);
  private readonly at: number;
  readonly holes: [number, string][] = [];

  constructor(type: number, flags: number) {
    this.at = this.w.message(type, flags, 0);
  }

  /** a family header (padded) */
  raw(b: Buffer): this {
    this.w.raw(b);
    this.w.pad();
    return this;
  }

  /** an attribute; `payload` a function adds nested attributes (sent without NLA_F_NESTED, as `ip` does) */
  attr(type: number, payload: Buffer | (() => void)): this {
    if (typeof payload !== 'function') {
      this.w.bytes(type, payload);
      return this;
    }
    const a = this.w.open(type);
    payload();
    this.w.end(a);
    return this;
  }

  /** a u32 attribute holding the index of interface `name` (filled in by the runner) */
  index(type: number, name: string): this {
    this.holes.push([this.w.pos - this.at + 4, name]);
    this.w.u32(type, 0);
    return this;
  }

  /** a hole for `name`'s index in the family header (ifi_index, ifa_index: its bytes 4-7) */
  headerIndex(name: string): this {
    this.holes.push([20, name]);
    return this;
  }

  build(seq: number): Buffer {
    this.w.put32(this.at + 8, seq);
    this.w.endMessage(this.at);
    return Buffer.from(this.w.done());
  }
}

function u32(b: Buffer, off: number, v: number): void {
  if (LE) b.writeUInt32LE(v >>> 0, off);
  else b.writeUInt32BE(v >>> 0, off);
}

function u32Buf(v: number): Buffer {
  const b = Buffer.alloc(4);
  u32(b, 0, v);
  return b;
}

/** ifinfomsg: family, type, index, flags, change (the index a hole when `dev` is given) */
function ifinfo(msg: Msg, flags: number, change: number, dev?: string): Msg {
  const b = Buffer.alloc(16);
  u32(b, 8, flags);
  u32(b, 12, change);
  msg.raw(b);
  if (dev) msg.headerIndex(dev);
  return msg;
}

/** An address in network order and its family, or undefined. */
function address(text: string): { family: number; bytes: Buffer } | undefined {
  const bytes = ipBytes(text);
  return bytes && { family: bytes.length === 4 ? AF_INET : AF_INET6, bytes };
}

function prefixed(text: string): { family: number; bytes: Buffer; prefix: number } | undefined {
  const [ip, len, extra] = text.split('/');
  const a = address(ip);
  if (!a || extra !== undefined) return undefined;
  const max = a.bytes.length * 8;
  const prefix = len === undefined ? max : /^\d+$/.test(len) ? Number(len) : -1;
  return prefix >= 0 && prefix <= max ? { ...a, prefix } : undefined;
}

function small(text: string | undefined): number | undefined {
  return text !== undefined && /^\d{1,9}$/.test(text) ? Number(text) : undefined;
}

function link(w: string[]): Msg | undefined {
  if (w[1] === 'set' && w[2] !== undefined) {
    let up: boolean | undefined;
    let master: string | undefined;
    for (let i = 3; i < w.length; i++) {
      if (w[i] === 'up' || w[i] === 'down') up = w[i] === 'up';
      else if (w[i] === 'master' && w[i + 1] !== undefined) master = w[++i];
      else return undefined;
    }
    if (up === undefined && master === undefined) return undefined;
    const msg = ifinfo(
      new Msg(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK),
      up ? IFF_UP : 0,
      up === undefined ? 0 : IFF_UP,
      w[2],
    );
    if (master !== undefined) msg.index(IFLA_MASTER, master);
    return msg;
  }
  if (w[1] === 'add' && w[3] === 'type' && w[4] === 'bridge' && w[2] !== undefined) {
    const opts: [number, Buffer][] = [];
    for (let i = 5; i < w.length; i += 2) {
      const opt = BRIDGE_OPTS[w[i]];
      const v = small(w[i + 1]);
      if (!opt || v === undefined || (opt[1] === 1 && v > 255)) return undefined;
      opts.push([opt[0], opt[1] === 1 ? Buffer.from([v]) : u32Buf(v)]);
    }
    const msg = ifinfo(new Msg(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL), 0, 0);
    msg.attr(IFLA_IFNAME, Buffer.from(`${w[2]}\0`));
    return msg.attr(IFLA_LINKINFO, () => {
      msg.attr(IFLA_INFO_KIND, Buffer.from('bridge'));
      if (opts.length)
        msg.attr(IFLA_INFO_DATA, () => {
          for (const [t, b] of opts) msg.attr(t, b);
        });
    });
  }
  return undefined;
}

function addr(w: string[]): Msg | undefined {
  if (w[1] !== 'add' || w[3] !== 'dev' || w[4] === undefined) return undefined;
  const a = prefixed(w[2]);
  const rest = w.slice(5);
  if (!a || rest.some((x) => x !== 'nodad') || rest.length > 1) return undefined;
  const msg = new Msg(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  const scope = a.family === AF_INET && a.bytes[0] === 127 ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
  msg.raw(Buffer.from([a.family, a.prefix, rest.length ? IFA_F_NODAD : 0, scope, 0, 0, 0, 0]));
  msg.headerIndex(w[4]);
  return msg.attr(IFA_LOCAL, a.bytes).attr(IFA_ADDRESS, a.bytes);
}

function route(w: string[]): Msg | undefined {
  if ((w[1] !== 'replace' && w[1] !== 'add') || w[2] === undefined) return undefined;
  const any = w[2] === 'default' || w[2] === 'all' || w[2] === 'any';
  const dst = any ? undefined : prefixed(w[2]);
  if (!any && !dst) return undefined;
  let family = dst?.family ?? AF_UNSPEC;
  let gw: Buffer | undefined;
  let dev: string | undefined;
  let metric: number | undefined;
  for (let i = 3; i < w.length; i += 2) {
    const v = w[i + 1];
    if (v === undefined) return undefined;
    if (w[i] === 'via' && !gw) {
      const a = address(v);
      if (!a || (family !== AF_UNSPEC && a.family !== family)) return undefined;
      family = a.family;
      gw = a.bytes;
    } else if (w[i] === 'dev' && !dev) dev = v;
    else if (w[i] === 'metric' && metric === undefined && small(v) !== undefined) metric = small(v);
    else return undefined;
  }
  // ip takes a bare `default` without a gateway as IPv4
  if (family === AF_UNSPEC) family = AF_INET;
  const flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | (w[1] === 'replace' ? NLM_F_REPLACE : NLM_F_EXCL);
  const msg = new Msg(RTM_NEWROUTE, flags);
  const scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  msg.raw(
    Buffer.from([family, dst?.prefix ?? 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, scope, RTN_UNICAST, 0, 0, 0, 0]),
  );
  if (dst) msg.attr(RTA_DST, dst.bytes);
  if (gw) msg.attr(RTA_GATEWAY, gw);
  if (metric !== undefined) msg.attr(RTA_PRIORITY, u32Buf(metric));
  if (dev) msg.index(RTA_OIF, dev);
  return msg;
}

/**
 * The requests for an `ip -batch` script, sequence numbers 1, 2, ...; undefined when a line is
 * outside the subset encoded here (the namespace then runs `ip` as before).
 */
export function encodeBatch(lines: string[]): NlRequest[] | undefined {
  const out: NlRequest[] = [];
  for (const line of lines) {
    const w = line.trim().split(/\s+/);
    const msg =
      w[0] === 'link' ? link(w) : w[0] === 'addr' ? addr(w) : w[0] === 'route' ? route(w) : undefined;
    if (!msg) return undefined;
    out.push({ line, bytes: msg.build(out.length + 1), holes: msg.holes });
  }
  return out;
}

/** RTM_GETLINK dump of every interface of the namespace (the report of a bridge's ports). */
export function linkDumpRequest(seq: number): Buffer {
  // without statistics (RTEXT_FILTER_SKIP_STATS): a third of the size, and unused
  return ifinfo(new Msg(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP), 0, 0)
    .attr(IFLA_EXT_MASK, u32Buf(RTEXT_FILTER_SKIP_STATS))
    .build(seq);
}

/** Flag names in the order `ip link` prints them (NO-CARRIER first when up without carrier). */
const FLAG_NAMES: [number, string][] = [
  [0x8, 'LOOPBACK'],
  [0x2, 'BROADCAST'],
  [0x10, 'POINTOPOINT'],
  [0x1000, 'MULTICAST'],
  [0x80, 'NOARP'],
  [0x200, 'ALLMULTI'],
  [0x100, 'PROMISC'],
  [0x400, 'MASTER'],
  [0x800, 'SLAVE'],
  [0x4, 'DEBUG'],
  [0x8000, 'DYNAMIC'],
  [0x4000, 'AUTOMEDIA'],
  [0x2000, 'PORTSEL'],
  [0x20, 'NOTRAILERS'],
  [0x1, 'UP'],
  [0x10000, 'LOWER_UP'],
  [0x20000, 'DORMANT'],
  [0x40000, 'ECHO'],
];
const OPERSTATES = ['UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP'];

/** RTM_NEWLINK messages (a dump's) as `ip -j link show` names them: ifname, flags, operstate. */
export function decodeLinks(messages: Buffer[]): { ifname: string; flags: string[]; operstate: string }[] {
  const out = [];
  for (const m of messages) {
    const r32 = (o: number) => (LE ? m.readUInt32LE(o) : m.readUInt32BE(o));
    const r16 = (o: number) => (LE ? m.readUInt16LE(o) : m.readUInt16BE(o));
    if (m.length < 32 || r16(4) !== RTM_NEWLINK) continue;
    const bits = r32(24);
    let ifname = '';
    let operstate = 'UNKNOWN';
    for (let o = 32; o + 4 <= Math.min(m.length, r32(0)); ) {
      const len = r16(o);
      if (len < 4) break;
      const type = r16(o + 2) & 0x3fff;
      if (type === IFLA_IFNAME) ifname = m.toString('utf8', o + 4, o + len).replace(/\0.*$/s, '');
      if (type === IFLA_OPERSTATE) operstate = OPERSTATES[m[o + 4]] ?? 'UNKNOWN';
      o += (len + 3) & ~3;
    }
    const flags = bits & IFF_UP && !(bits & 0x40) ? ['NO-CARRIER'] : [];
    for (const [bit, name] of FLAG_NAMES) if (bits & bit) flags.push(name);
    out.push({ ifname, flags, operstate });
  }
  return out;
}
