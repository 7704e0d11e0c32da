// Cluster DNS (CoreDNS's kubernetes plugin, in small): a process in one worker's namespace,
// reading Services and Pods from etcd over the simulated network and answering over UDP:
//   <svc>.<ns>.svc.<domain>      A  the ClusterIP
//   <a-b-c-d>.<ns>.pod.<domain>  A  a.b.c.d, when a pod of <ns> has that address
//   <pod>.<ns>.pod.<domain>      A  the pod's IP (netsim's own, for teaching)
// Other names under <domain> are NXDOMAIN; names outside it are REFUSED (no upstream here).
//
//   node agent/dns.js --etcd-endpoints http://... --listen 10.244.3.1 [--domain cluster.local]
import { createSocket, type RemoteInfo } from 'node:dgram';
import { parseArgs } from 'node:util';
import { Etcd3 } from 'etcd3';
import { sleep } from '../../../util/wait.js';
import { listPrefix, watchAfter } from '../etcd-list.js';
import { type ServiceObject, SPECS_PREFIX } from '../services/objects.js';

const { values: opt } = parseArgs({
  options: {
    'etcd-endpoints': { type: 'string', default: 'http://127.0.0.1:2379' },
    listen: { type: 'string' },
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

/** name (lower case, no trailing dot) -> IPv4 */
const records = new Map<string, string>();
const byKey = new Map<string, string[]>();

function setRecords(key: string, names: [string, string][]): void {
  for (const n of byKey.get(key) ?? []) records.delete(n);
  byKey.set(
    key,
    names.map(([n]) => n),
  );
  for (const [n, ip] of names) records.set(n, ip);
}

function recordsOf(key: string, value: string): [string, string][] {
  const obj = JSON.parse(value);
  if (key.startsWith(SPECS_PREFIX)) {
    const s = obj as ServiceObject;
    return [[`${s.metadata.name}.${s.metadata.namespace}.svc.${domain}`, s.spec.clusterIP]];
  }
  const ip = obj?.status?.podIP as string | undefined;
  const ns = obj?.metadata?.namespace as string;
  if (!ip || obj?.metadata?.deletionTimestamp) return [];
  return [
    [`${ip.replaceAll('.', '-')}.${ns}.pod.${domain}`, ip],
    [`${obj.metadata.name}.${ns}.pod.${domain}`, ip],
  ];
}

async function follow(etcd: Etcd3, prefix: string): Promise<void> {
  const res = await listPrefix(etcd, prefix);
  for (const kv of res.kvs) setRecords(kv.key.toString(), recordsOf(kv.key.toString(), kv.value.toString()));
  await watchAfter(etcd, prefix, res.revision, {
    put: (kv) => {
      try {
        setRecords(kv.key.toString(), recordsOf(kv.key.toString(), kv.value.toString()));
      } catch {
        /* not JSON: ignore */
      }
    },
    delete: (kv) => setRecords(kv.key.toString(), []),
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

function answer(msg: Buffer): Buffer | undefined {
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
  const ip = records.get(q.name);
  const inDomain = q.name === domain || q.name.endsWith(`.${domain}`);
  const rcode = ip ? RCODE.NOERROR : inDomain ? RCODE.NXDOMAIN : RCODE.REFUSED;
  const aa = inDomain ? 0x0400 : 0;
  head.writeUInt16BE(0x8000 | aa | (rd << 8) | rcode, 2);
  head.writeUInt16BE(1, 4); // one question
  const answers: Buffer[] = [];
  if (ip && (q.type === 1 || q.type === 255)) {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question
    rr.writeUInt16BE(1, 2); // A
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(TTL, 6);
    rr.writeUInt16BE(4, 10);
    ip.split('.').forEach((o, k) => {
      rr[12 + k] = Number(o);
    });
    answers.push(rr);
  }
  head.writeUInt16BE(answers.length, 6);
  return Buffer.concat([head, qsection, ...answers]);
}

async function main(): Promise<void> {
  if (!opt.listen) {
    log('--listen is required');
    process.exit(2);
  }
  const etcd = new Etcd3({ hosts: opt['etcd-endpoints']!.split(','), dialTimeout: 2000 });
  for (;;) {
    try {
      await follow(etcd, SPECS_PREFIX);
      await follow(etcd, POD_ROOT);
      break;
    } catch (err) {
      log(`etcd: ${(err as Error).message} (retrying)`);
      await sleep(500);
    }
  }
  const sock = createSocket('udp4');
  sock.on('message', (msg: Buffer, from: RemoteInfo) => {
    const out = answer(msg);
    if (out) sock.send(out, from.port, from.address);
  });
  sock.on('error', (e) => {
    log(`socket: ${e.message}`);
    process.exit(1);
  });
  // bound to one address so replies leave from it (the ClusterIP's DNAT is undone on that flow)
  sock.bind(Number(opt.port), opt.listen, () =>
    log(`ready: serving ${domain} on ${opt.listen}:${opt.port}/udp, ${records.size} names`),
  );
}

for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));

main().catch((err) => {
  log(`fatal: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
