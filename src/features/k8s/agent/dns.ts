// Cluster DNS (CoreDNS's kubernetes plugin, in small): a process in one worker's namespace,
// reading Services and Pods from etcd over the simulated network and answering over UDP and
// TCP (RFC 1035 4.2.2: each message after a 2-byte length; an answer too long for 512 bytes of
// UDP is cut at a record boundary with the TC bit set, and resolvers such as dig retry on TCP):
//   <svc>.<ns>.svc.<domain>      A  the ClusterIP; for a headless service (clusterIP: None)
//                                   one A record per ready endpoint address
//                             AAAA  the same for IPv6: a dual-stack service answers both
//   <a-b-c-d>.<ns>.pod.<domain>  A  a.b.c.d, when a pod of <ns> has that address
//   <fd00-10--5>.<ns>.pod.<domain>  AAAA  fd00:10::5 (colons written as -), likewise
//   <pod>.<ns>.pod.<domain>  A, AAAA  the pod's IPs (netsim's own, for teaching)
// Other names under <domain> are NXDOMAIN; names outside it are REFUSED (no upstream here).
// A name with records of the other family only answers NOERROR with no records (NODATA).
//
//   node agent/dns.js --etcd-endpoints http://... --listen 10.244.3.1 [--domain cluster.local]
import { createSocket, type RemoteInfo } from 'node:dgram';
import { createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { parseIp6 } from '../../../util/ipv6.js';
import { sleep } from '../../../util/wait.js';
import {
  ENDPOINTS_PREFIX,
  type EndpointsObject,
  familyOf,
  HEADLESS,
  podIpsOf,
  SERVICES_PREFIX,
  type ServiceObject,
  SPECS_PREFIX,
} from '../services/objects.js';
import { EtcdHttp } from './etcd-http.js';
import { listPrefix, watchAfter } from './etcd-prefix.js';

const { values: opt } = parseArgs({
  options: {
    'etcd-endpoints': { type: 'string', default: 'http://127.0.0.1:2379' },
    listen: { type: 'string' },
    /** an IPv6 address to serve on too (dual-stack clusters) */
    listen6: { type: 'string' },
    port: { type: 'string', default: '53' },
    domain: { type: 'string', default: 'cluster.local' },
    name: { type: 'string', default: 'dns' },
  },
});
const POD_ROOT = '/registry/pods/';
const domain = opt.domain!.toLowerCase();
const TTL = 5;

function log(msg: string): void {
  process.stdout.write(`${new Date().toISOString()} ${opt.name}: ${msg}\n`);
}

/** name (lower case, no trailing dot) -> its addresses (IPv4 and IPv6) */
const records = new Map<string, string[]>();
const byKey = new Map<string, string[]>();
/** headless services' endpoints, by `<ns>/<name>` (a headless name answers with them) */
const endpoints = new Map<string, EndpointsObject>();
const headless = new Map<string, ServiceObject>();

function setRecords(key: string, names: [string, string[]][]): void {
  for (const n of byKey.get(key) ?? []) records.delete(n);
  const kept = names.filter(([, ips]) => ips.length > 0);
  byKey.set(
    key,
    kept.map(([n]) => n),
  );
  for (const [n, ips] of kept) records.set(n, ips);
}

/** A headless service's name: every ready address of its endpoints. */
function headlessRecords(id: string): [string, string[]][] {
  const s = headless.get(id);
  if (!s) return [];
  const ips = (endpoints.get(id)?.subsets ?? []).flatMap((ss) => ss.addresses.map((a) => a.ip));
  return [[`${s.metadata.name}.${s.metadata.namespace}.svc.${domain}`, [...new Set(ips)]]];
}

function recordsOf(key: string, value: string | undefined): [string, string[]][] {
  if (key.startsWith(ENDPOINTS_PREFIX)) {
    const id = key.slice(ENDPOINTS_PREFIX.length);
    if (value === undefined) endpoints.delete(id);
    else endpoints.set(id, JSON.parse(value) as EndpointsObject);
    // only a headless service's name is made of its endpoints (others keep their ClusterIP)
    if (headless.has(id)) setRecords(`${SPECS_PREFIX}${id}`, headlessRecords(id));
    return [];
  }
  if (value === undefined) {
    if (key.startsWith(SPECS_PREFIX)) headless.delete(key.slice(SPECS_PREFIX.length));
    return [];
  }
  const obj = JSON.parse(value);
  if (key.startsWith(SPECS_PREFIX)) {
    const s = obj as ServiceObject;
    const id = key.slice(SPECS_PREFIX.length);
    if (s.spec.clusterIP !== HEADLESS) {
      headless.delete(id);
      return [
        [`${s.metadata.name}.${s.metadata.namespace}.svc.${domain}`, s.spec.clusterIPs ?? [s.spec.clusterIP]],
      ];
    }
    headless.set(id, s);
    return headlessRecords(id);
  }
  const ips = obj?.status ? podIpsOf(obj) : [];
  const ns = obj?.metadata?.namespace as string;
  if (ips.length === 0 || obj?.metadata?.deletionTimestamp) return [];
  return [
    ...ips.map((ip): [string, string[]] => [`${ip.replaceAll(/[.:]/g, '-')}.${ns}.pod.${domain}`, [ip]]),
    [`${obj.metadata.name}.${ns}.pod.${domain}`, ips],
  ];
}

async function follow(etcd: EtcdHttp, prefix: string): Promise<void> {
  const res = await listPrefix(etcd, prefix);
  // endpoints before services (a headless service's name is made from both)
  const kvs = [...res.kvs].sort(
    (a, b) =>
      Number(!a.key.toString().startsWith(ENDPOINTS_PREFIX)) -
      Number(!b.key.toString().startsWith(ENDPOINTS_PREFIX)),
  );
  for (const kv of kvs) setRecords(kv.key.toString(), recordsOf(kv.key.toString(), kv.value.toString()));
  await watchAfter(etcd, prefix, res.revision, {
    put: (kv) => {
      try {
        setRecords(kv.key.toString(), recordsOf(kv.key.toString(), kv.value.toString()));
      } catch {
        /* not JSON: ignore */
      }
    },
    delete: (kv) => setRecords(kv.key.toString(), recordsOf(kv.key.toString(), undefined)),
    error: (e) => log(`watch ${prefix}: ${e.message}`),
  });
}

/** The question of a query: name, type, and where the question section ends. */
function question(msg: Buffer): { name: string; type: number; end: number } | undefined {
  if (msg.length < 12 || msg.readUInt16BE(4) < 1) return undefined;
  const labels: string[] = [];
  let i = 12;
  while (i < msg.length) {
    const len = msg[i];
    if (len === 0) break;
    if (len > 63 || i + 1 + len > msg.length) return undefined;
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('latin1'));
    i += 1 + len;
  }
  if (i + 5 > msg.length) return undefined;
  return { name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(i + 1), end: i + 5 };
}

const RCODE = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, REFUSED: 5 };

/** The answer to a query; `limit`: the most bytes it may have (512 over UDP, 65535 over TCP). */
function answer(msg: Buffer, limit = 512): Buffer | undefined {
  if (msg.length < 12) return undefined;
  const q = question(msg);
  const head = Buffer.alloc(12);
  msg.copy(head, 0, 0, 2); // id
  const rd = msg[2] & 0x01;
  if (!q) {
    head.writeUInt16BE(0x8000 | (rd << 8) | RCODE.FORMERR, 2);
    return head;
  }
  const qsection = msg.subarray(12, q.end);
  const ips = records.get(q.name);
  const inDomain = q.name === domain || q.name.endsWith(`.${domain}`);
  const rcode = ips ? RCODE.NOERROR : inDomain ? RCODE.NXDOMAIN : RCODE.REFUSED;
  const aa = inDomain ? 0x0400 : 0;
  // A (1) takes the IPv4 addresses, AAAA (28) the IPv6 ones, ANY (255) both
  const all = (ips ?? []).filter((ip) =>
    q.type === 255 ? true : q.type === 1 ? familyOf(ip) === 4 : q.type === 28 && familyOf(ip) === 6,
  );
  // at most what fits the limit (16 bytes per A record, 28 per AAAA); fewer than all: truncated (TC)
  const answers: Buffer[] = [];
  let room = limit - 12 - qsection.length;
  for (const ip of all) {
    const rr = resourceRecord(ip);
    if (rr.length > room) break;
    room -= rr.length;
    answers.push(rr);
  }
  const tc = answers.length < all.length ? 0x0200 : 0;
  head.writeUInt16BE(0x8000 | aa | tc | (rd << 8) | rcode, 2);
  head.writeUInt16BE(1, 4); // one question
  head.writeUInt16BE(answers.length, 6);
  return Buffer.concat([head, qsection, ...answers]);
}

/** An A or AAAA record for the question's name (a pointer to it). */
function resourceRecord(ip: string): Buffer {
  const v6 = familyOf(ip) === 6;
  const rr = Buffer.alloc(v6 ? 28 : 16);
  rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question
  rr.writeUInt16BE(v6 ? 28 : 1, 2); // AAAA or A
  rr.writeUInt16BE(1, 4); // IN
  rr.writeUInt32BE(TTL, 6);
  rr.writeUInt16BE(v6 ? 16 : 4, 10);
  if (v6) {
    const n = parseIp6(ip) ?? 0n;
    for (let k = 0; k < 16; k++) rr[12 + k] = Number((n >> BigInt(8 * (15 - k))) & 0xffn);
  } else
    ip.split('.').forEach((o, k) => {
      rr[12 + k] = Number(o);
    });
  return rr;
}

async function main(): Promise<void> {
  if (!opt.listen) {
    log('--listen is required');
    process.exit(2);
  }
  const etcd = new EtcdHttp(opt['etcd-endpoints']!.split(','));
  for (;;) {
    try {
      await follow(etcd, SERVICES_PREFIX);
      await follow(etcd, POD_ROOT);
      break;
    } catch (err) {
      log(`etcd: ${(err as Error).message} (retrying)`);
      await sleep(500);
    }
  }
  // bound to each address so replies leave from it (the ClusterIP's DNAT is undone on that flow)
  for (const address of [opt.listen, ...(opt.listen6 ? [opt.listen6] : [])]) await serve(address);
  log(
    `ready: serving ${domain} on ${opt.listen}${opt.listen6 ? ` and [${opt.listen6}]` : ''}:${opt.port}/udp+tcp, ${records.size} names`,
  );
}

/** Answers on one address over UDP and TCP. */
async function serve(address: string): Promise<void> {
  const sock = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  sock.on('message', (msg: Buffer, from: RemoteInfo) => {
    const out = answer(msg);
    if (out) sock.send(out, from.port, from.address);
  });
  sock.on('error', (e) => {
    log(`socket: ${e.message}`);
    process.exit(1);
  });
  await new Promise<void>((resolve) => sock.bind(Number(opt.port), address, resolve));
  const tcp = createServer(serveTcp);
  tcp.on('error', (e) => {
    log(`tcp: ${e.message}`);
    process.exit(1);
  });
  await new Promise<void>((resolve) => tcp.listen(Number(opt.port), address, resolve));
}

/** DNS over TCP: messages framed by a 2-byte length, several per connection, idle 10 s. */
function serveTcp(conn: Socket): void {
  let buf = Buffer.alloc(0);
  conn.setTimeout(10000, () => conn.destroy());
  conn.on('error', () => conn.destroy());
  conn.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const len = buf.readUInt16BE(0);
      const out = answer(buf.subarray(2, 2 + len), 65535);
      buf = buf.subarray(2 + len);
      if (!out) {
        conn.destroy();
        return;
      }
      const frame = Buffer.alloc(2);
      frame.writeUInt16BE(out.length);
      conn.write(Buffer.concat([frame, out]));
    }
  });
}

for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));

main().catch((err) => {
  log(`fatal: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
