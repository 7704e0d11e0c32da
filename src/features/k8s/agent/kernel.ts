// Every kernel call of the pod network agent (flannel, kube-proxy, policy), in one place.
// The agent runs inside a worker's namespace (it was started there), so it calls the tools
// directly: `ip` and `bridge` in batches, `ip -j` to read what a restart finds, `nft -j`.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

function tool(cmd: string, args: string[], input?: string): Promise<Out> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', (e) => resolve({ code: 127, stdout, stderr: String(e) }));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function must(cmd: string, args: string[], input?: string): Promise<string> {
  const r = await tool(cmd, args, input);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`);
  return r.stdout;
}

async function json<T>(cmd: string, args: string[]): Promise<T> {
  const out = await must(cmd, ['-j', ...args]);
  return JSON.parse(out.trim() || '[]') as T;
}

export interface LinkInfo {
  ifname: string;
  mtu: number;
  address?: string;
  operstate?: string;
  linkinfo?: {
    info_kind?: string;
    info_data?: { id?: number; local?: string; local6?: string; port?: number; learning?: boolean };
  };
}

export async function link(name: string): Promise<LinkInfo | undefined> {
  const r = await tool('ip', ['-j', '-d', 'link', 'show', 'dev', name]);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as LinkInfo[])[0];
}

export interface VxlanSpec {
  name: string;
  vni: number;
  local: string;
  dev: string;
  port: number;
  mtu: number;
}

/**
 * flannel's VTEP: learning off (the agent fills the FDB and neighbours itself), local = the
 * public IP. An existing device with the same parameters is kept, with its MAC, as flanneld
 * does on restart; a different one is replaced.
 */
export async function ensureVxlan(v: VxlanSpec): Promise<string> {
  const cur = await link(v.name);
  const d = cur?.linkinfo?.info_data;
  const same =
    cur?.linkinfo?.info_kind === 'vxlan' &&
    d?.id === v.vni &&
    (d?.local ?? d?.local6) === v.local &&
    d?.port === v.port;
  if (cur && !same) await must('ip', ['link', 'del', v.name]);
  if (!cur || !same)
    await must('ip', [
      'link',
      'add',
      v.name,
      'type',
      'vxlan',
      'id',
      String(v.vni),
      'local',
      v.local,
      'dev',
      v.dev,
      'dstport',
      String(v.port),
      'nolearning',
    ]);
  await must('ip', ['link', 'set', v.name, 'mtu', String(v.mtu)]);
  const now = await link(v.name);
  if (!now?.address) throw new Error(`${v.name} has no MAC address`);
  return now.address;
}

/**
 * The device holds `<subnet>.0/32` (flannel-v6: `<subnet>::/128`, usable at once: nodad) and
 * no other global address, and is up.
 */
export async function setVtepAddress(dev: string, addr: string): Promise<void> {
  const v6 = addr.includes(':');
  const len = v6 ? 128 : 32;
  const addrs = await json<{ addr_info: { local: string; prefixlen: number; scope?: string }[] }[]>('ip', [
    'addr',
    'show',
    'dev',
    dev,
  ]);
  const lines: string[] = [];
  for (const a of addrs[0]?.addr_info ?? [])
    if (a.scope !== 'link' && `${a.local}/${a.prefixlen}` !== `${addr}/${len}`)
      lines.push(`addr del ${a.local}/${a.prefixlen} dev ${dev}`);
  if (!addrs[0]?.addr_info.some((a) => a.local === addr && a.prefixlen === len))
    lines.push(`addr add ${addr}/${len} dev ${dev}${v6 ? ' nodad' : ''}`);
  lines.push(`link set ${dev} up`);
  await must('ip', ['-batch', '-'], `${lines.join('\n')}\n`);
}

export async function mtuOf(dev: string): Promise<number> {
  const l = await link(dev);
  if (!l) throw new Error(`no interface ${dev}`);
  return l.mtu;
}

/** What flannel installs for one remote lease. */
export interface RemoteVtep {
  /** 10.244.2.0/24 */
  subnet: string;
  /** 10.244.2.0: the remote VTEP's address, the route's next hop */
  gateway: string;
  mac: string;
  publicIp: string;
}

export interface VtepState {
  routes: { dst: string; gateway?: string }[];
  neighbours: { dst: string; lladdr?: string }[];
  fdb: { mac: string; dst?: string }[];
}

/** Routes, permanent neighbours and FDB entries on the VTEP now (flannel.<VNI>: IPv4, flannel-v6: IPv6). */
export async function readVtepState(dev: string, family: 4 | 6 = 4): Promise<VtepState> {
  const f = `-${family}`;
  const [routes, neighbours, fdb] = await Promise.all([
    json<{ dst: string; gateway?: string; protocol?: string }[]>('ip', [f, 'route', 'show', 'dev', dev]),
    json<{ dst: string; lladdr?: string; state?: string[] }[]>('ip', [f, 'neigh', 'show', 'dev', dev]),
    json<{ mac: string; dst?: string }[]>('bridge', ['fdb', 'show', 'dev', dev]),
  ]);
  return {
    // only the agent's own routes (proto boot, which JSON leaves out): others on the VTEP, such
    // as a Liqo-style gateway route (proto static), are not leases' to remove
    routes: routes.filter((r) => r.gateway && (!r.protocol || r.protocol === 'boot')),
    neighbours: neighbours.filter((n) => n.state?.includes('PERMANENT')),
    fdb: fdb.filter((f) => f.dst),
  };
}

/**
 * Applies adds and removals in two batches (`ip` and `bridge`), -force so that one stale
 * entry cannot stop the rest. Neighbour and FDB entries go in before the route that needs them.
 */
export async function applyVtep(dev: string, add: RemoteVtep[], remove: VtepState): Promise<void> {
  const ip: string[] = [];
  const bridge: string[] = [];
  for (const r of remove.routes) ip.push(`route del ${r.dst} dev ${dev}`);
  for (const n of remove.neighbours) ip.push(`neigh del ${n.dst} dev ${dev}`);
  for (const f of remove.fdb) bridge.push(`fdb del ${f.mac} dev ${dev} dst ${f.dst} self`);
  for (const a of add) {
    ip.push(`neigh replace ${a.gateway} lladdr ${a.mac} dev ${dev} nud permanent`);
    bridge.push(`fdb replace ${a.mac} dev ${dev} dst ${a.publicIp} self permanent`);
  }
  if (bridge.length) await tool('bridge', ['-force', '-batch', '-'], `${bridge.join('\n')}\n`);
  for (const a of add) ip.push(`route replace ${a.subnet} via ${a.gateway} dev ${dev} onlink`);
  if (ip.length) {
    const r = await tool('ip', ['-force', '-batch', '-'], `${ip.join('\n')}\n`);
    if (r.code !== 0 && add.length) throw new Error(`ip -batch: ${r.stderr.trim()}`);
  }
}

let scratchDir = tmpdir();
let scratchSeq = 0;

/** Where transactions are written for nft to read (the agent's own directory of the simulation). */
export function setNftScratchDir(dir: string): void {
  scratchDir = dir;
}

/**
 * Runs one nft transaction given as libnftables JSON. nft reads `-f -` by opening /dev/stdin,
 * which fails on the socket Node gives a child as stdin, so the batch goes through a file.
 */
export async function nftJson(commands: unknown[]): Promise<void> {
  const file = join(scratchDir, `nft-${process.pid}-${scratchSeq++}.json`);
  await writeFile(file, JSON.stringify({ nftables: commands }));
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('nft', ['-j', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`nft: ${err.trim().split('\n').slice(0, 6).join('\n')}`)),
      );
    });
  } finally {
    await rm(file, { force: true });
  }
}

// The netlink writer: a small Python process holding one NETLINK_NETFILTER socket. It reads
// length-prefixed batches on stdin, sends each in one sendmsg (the kernel runs the whole batch
// during that call, so every error is queued when it returns), and answers one JSON line: the
// [sequence number, errno] of each message the kernel refused. It dies with the agent (stdin
// closes; PR_SET_PDEATHSIG as well).
const NETLINK_WRITER = `
import ctypes, json, socket, struct, sys
try:
    ctypes.CDLL(None).prctl(1, 9)
except Exception:
    pass
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)
s.bind((0, 0))
inp, out = sys.stdin.buffer, sys.stdout.buffer
def read(n):
    b = b''
    while len(b) < n:
        c = inp.read(n - len(b))
        if not c:
            sys.exit(0)
        b += c
    return b
sndbuf = 0
while True:
    n = struct.unpack('<I', read(4))[0]
    batch = read(n)
    errors = []
    try:
        if n + 65536 > sndbuf:
            sndbuf = n + 65536
            s.setsockopt(socket.SOL_SOCKET, 32, sndbuf)
        s.sendto(batch, (0, 0))
        while True:
            try:
                d = s.recv(1 << 20, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            o = 0
            while o + 20 <= len(d):
                ln, typ, _, seq, _ = struct.unpack_from('=IHHII', d, o)
                if typ == 2:
                    e = struct.unpack_from('=i', d, o + 16)[0]
                    if e:
                        errors.append([seq, -e])
                if ln < 16:
                    break
                o += (ln + 3) & ~3
    except OSError as e:
        errors.append([0, e.errno or 0])
    out.write((json.dumps(errors) + '\\n').encode())
    out.flush()
`;

const errnoName = (n: number) =>
  Object.entries(constants.errno).find(([, v]) => v === n)?.[0] ?? `errno ${n}`;

/** A long-lived writer of nf_tables netlink batches (built by nft-netlink.ts) in this namespace. */
export class NetlinkWriter {
  private readonly child: ChildProcess;
  private pending: ((line: string | Error) => void)[] = [];
  private out = '';
  private dead?: Error;
  private queue: Promise<unknown> = Promise.resolve();

  constructor() {
    const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
    this.child = spawn(python, ['-c', NETLINK_WRITER], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    this.child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.out += d.toString();
      for (let i = this.out.indexOf('\n'); i >= 0; i = this.out.indexOf('\n')) {
        const line = this.out.slice(0, i);
        this.out = this.out.slice(i + 1);
        this.pending.shift()?.(line);
      }
    });
    const die = (e: Error) => {
      this.dead ??= e;
      for (const p of this.pending.splice(0)) p(this.dead);
    };
    this.child.on('error', die);
    this.child.on('close', (code) =>
      die(new Error(`netlink writer exited (${code}): ${err.trim().slice(-300)}`)),
    );
    this.child.stdin!.on('error', die);
  }

  /** Sends one batch; resolves to the messages the kernel refused (sequence number, errno name). */
  send(batch: Buffer): Promise<{ seq: number; error: string }[]> {
    const run = async () => {
      if (this.dead) throw this.dead;
      const line = await new Promise<string | Error>((resolve) => {
        this.pending.push(resolve);
        const len = Buffer.alloc(4);
        len.writeUInt32LE(batch.length, 0);
        // two writes: a full sync's batch is tens of MB, not copied once more
        this.child.stdin!.write(len);
        this.child.stdin!.write(batch);
      });
      if (line instanceof Error) throw line;
      return (JSON.parse(line) as [number, number][]).map(([seq, e]) => ({ seq, error: errnoName(e) }));
    };
    const r = this.queue.then(run, run);
    this.queue = r.catch(() => undefined);
    return r;
  }

  close(): void {
    this.child.stdin?.end();
  }
}

/** LoadBalancer addresses the speaker put on `dev` (they carry the label `<dev>:lb`). */
export async function lbAddresses(dev: string): Promise<string[]> {
  const r = await json<{ addr_info?: { local: string; label?: string }[] }[]>('ip', [
    'addr',
    'show',
    'dev',
    dev,
  ]);
  return (r[0]?.addr_info ?? []).filter((a) => a.label === `${dev}:lb`).map((a) => a.local);
}

export async function setLbAddress(dev: string, ip: string, present: boolean): Promise<void> {
  const args = ['addr', present ? 'replace' : 'del', `${ip}/32`, 'dev', dev];
  await must('ip', present ? [...args, 'label', `${dev}:lb`] : args);
}

/** Gratuitous ARP (iputils arping -U): neighbours that know `ip` learn this interface's MAC. */
export async function gratuitousArp(dev: string, ip: string): Promise<void> {
  await must('arping', ['-q', '-U', '-c', '2', '-w', '2', '-I', dev, '-s', ip, ip]).catch(async (e) => {
    // arping exits 1 when no reply came, which -U never expects
    if (!/exit 1$/.test((e as Error).message)) throw e;
  });
}
