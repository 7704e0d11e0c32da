// The floor: the same network built by one long-lived process (bench/floor.py, pyroute2) that
// performs the kernel operations netsim performs, over netlink, with setns(2) between
// namespaces: no process per namespace, no shell, no ip(8). Only hosts and switches (the
// engine topologies). The description is written here, from the same validated Model netsim
// builds, mirroring src/plan/plan.ts and the host/switch kinds; bench/floor-check.ts compares
// what both leave in the kernel before anything is timed.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { NETNS_DIR, nodeNsDir } from '../src/kernel/enter.js';
import { autoGateway } from '../src/model/kinds/l3.js';
import { BRIDGE_NAME } from '../src/model/kinds/switch.js';
import type { Model } from '../src/model/model.js';
import { configurationWaves } from '../src/plan/plan.js';
import { formatIp } from '../src/util/ipv4.js';
import { runProc } from './measure.js';

interface End {
  ns: string;
  ifname: string;
  index: number;
}

export interface FloorNode {
  ns: string;
  wave: number;
  sysctls: Record<string, string>;
  /** ifindexes brought up before the bridge is made (ports not created up) */
  earlyUp: number[];
  bridge?: {
    name: string;
    stp: number;
    forwardDelay: number;
    mcastSnooping: number;
    ports: { index: number; up: boolean }[];
  };
  /** an L3 node's interfaces in order: its address, then up */
  ifaces: { index: number; ip?: string; prefix?: number; up: boolean }[];
  routes: { via: string }[];
}

export interface FloorSpec {
  netnsDir: string;
  /** UTS namespace files (kernel/nodens.ts), or null without UTS namespaces */
  utsDir: string | null;
  namespaces: { ns: string; hostname: string }[];
  veths: { a: End; b: End; mtu?: number; aUp: boolean }[];
  nodes: FloorNode[];
}

/** The kernel operations netsim's plan makes of `model`, as data for floor.py. */
export function floorSpec(model: Model, opts: { uts?: boolean; brNetfilter?: boolean } = {}): FloorSpec {
  if (!model.families.every((f) => f === 4)) throw new Error('the floor builds IPv4 topologies only');
  const nodes = [...model.nodes.values()];
  for (const n of nodes)
    if (n.kind !== 'host' && n.kind !== 'switch')
      throw new Error(`the floor knows hosts and switches, not ${n.kind} (${n.name})`);
  const waves = configurationWaves(model);
  // ifindexes as kernel.ts vethIndexes chooses them in fresh namespaces (only lo: 1)
  const next = new Map(nodes.map((n) => [n.ns, 2]));
  const indexOf = new Map<string, number>(); // "ns/ifname" -> ifindex
  const veths: FloorSpec['veths'] = [];
  for (const link of model.links) {
    let [a, b] = link.ends;
    const [wa, wb] = [waves.get(a.node)!, waves.get(b.node)!];
    if (wb > wa) [a, b] = [b, a];
    const [nsA, nsB] = [model.nodes.get(a.node)!.ns, model.nodes.get(b.node)!.ns];
    const ia = next.get(nsA)!;
    let ib = nsB === nsA ? ia + 1 : next.get(nsB)!;
    if (ib === ia) ib++;
    next.set(nsA, ia + 1);
    next.set(nsB, Math.max(next.get(nsB)!, ib + 1));
    indexOf.set(`${nsA}/${a.name}`, ia);
    indexOf.set(`${nsB}/${b.name}`, ib);
    veths.push({
      a: { ns: nsA, ifname: a.name, index: ia },
      b: { ns: nsB, ifname: b.name, index: ib },
      mtu: link.spec.mtu,
      aUp: wa !== wb && link.spec.state !== 'down',
    });
  }
  const createdUp = new Set(veths.filter((v) => v.aUp).map((v) => `${v.a.ns}/${v.a.ifname}`));
  const brNetfilter = opts.brNetfilter ?? existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables');
  const floorNodes = nodes.map((node): FloorNode => {
    const index = (ifname: string) => indexOf.get(`${node.ns}/${ifname}`)!;
    const isUp = (link: number) => model.links[link].spec.state !== 'down';
    const sysctls: Record<string, string> = {};
    const out: FloorNode = {
      ns: node.ns,
      wave: waves.get(node.name)!,
      sysctls,
      earlyUp: [],
      ifaces: [],
      routes: [],
    };
    if (node.kind === 'switch') {
      const stp = node.spec.stp === true ? 1 : 0;
      out.earlyUp = node.ifaces
        .filter((i) => isUp(i.link) && !createdUp.has(`${node.ns}/${i.name}`))
        .map((i) => index(i.name));
      out.bridge = {
        name: BRIDGE_NAME,
        stp,
        forwardDelay: stp ? 400 : 0,
        mcastSnooping: 0,
        ports: node.ifaces.map((i) => ({ index: index(i.name), up: isUp(i.link) })),
      };
      if (brNetfilter)
        for (const f of ['iptables', 'ip6tables', 'arptables'])
          sysctls[`net.bridge.bridge-nf-call-${f}`] = '0';
    } else {
      const spec = node.spec as { gateway?: string; routes?: unknown[] };
      if (spec.gateway || spec.routes?.length)
        throw new Error(`the floor adds no explicit routes (${node.name})`);
      for (const i of node.ifaces)
        out.ifaces.push({
          index: index(i.name),
          ...(i.addr && { ip: formatIp(i.addr.ip), prefix: i.addr.prefix }),
          up: isUp(i.link),
        });
      const gw = model.automatic !== false ? autoGateway(model, node) : undefined;
      if (gw !== undefined) out.routes.push({ via: formatIp(gw) });
    }
    for (const [k, v] of Object.entries((node.spec.sysctls as Record<string, string>) ?? {}))
      sysctls[k] = String(v);
    return out;
  });
  return {
    netnsDir: NETNS_DIR,
    // the simulation's own tmpfs of namespace files, as netsim's (kernel/enter.ts nodeNsDir)
    utsDir: opts.uts === false ? null : nodeNsDir(model.name),
    namespaces: nodes.map((n) => ({
      ns: n.ns,
      hostname: Buffer.from(n.name.replace(/\s/g, '-')).subarray(0, 64).toString(),
    })),
    veths,
    nodes: floorNodes,
  };
}

// Debian's interpreter, where python3-pyroute2 is installed (not a python3 earlier on the PATH)
const PYTHON = '/usr/bin/python3';
const FLOOR_PY = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'floor.py');

/** The floor process: started once, then asked to build and tear down, one request at a time. */
export class FloorProcess {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterator<string>,
    private readonly rl: Interface,
    /** seconds from spawn to ready (Python and pyroute2 loaded) */
    readonly startup: number,
  ) {}

  static async start(): Promise<FloorProcess> {
    const t0 = performance.now();
    const child = spawn(PYTHON, [FLOOR_PY], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const rl = createInterface({ input: child.stdout });
    const lines = rl[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done || !JSON.parse(first.value).ready)
      throw new Error(`bench/floor.py did not start: ${stderr.trim() || first.value}`);
    return new FloorProcess(child, lines, rl, (performance.now() - t0) / 1000);
  }

  /** Seconds as the caller sees them (request written to reply read) and as floor.py timed it. */
  async request(op: 'build' | 'teardown', spec: FloorSpec): Promise<{ seconds: number; inner: number }> {
    const msg = `${JSON.stringify({ op, spec })}\n`;
    const t0 = performance.now();
    this.child.stdin.write(msg);
    const line = await this.lines.next();
    const seconds = (performance.now() - t0) / 1000;
    if (line.done) throw new Error('bench/floor.py ended');
    const reply = JSON.parse(line.value) as { ok: boolean; ms?: number; error?: string };
    if (!reply.ok) throw new Error(`floor ${op}: ${reply.error}`);
    return { seconds, inner: (reply.ms ?? 0) / 1000 };
  }

  /** Build + teardown of `model`; the description is written before the clock starts. */
  async run(model: Model): Promise<{ seconds: number; build: number; teardown: number }> {
    const spec = floorSpec(model);
    let built = false;
    try {
      const build = (await this.request('build', spec)).seconds;
      built = true;
      const teardown = (await this.request('teardown', spec)).seconds;
      return { seconds: build + teardown, build, teardown };
    } finally {
      if (!built) await this.request('teardown', spec).catch(() => undefined);
      // after a failure half-way: whatever is left
      const left = spec.namespaces.map((n) => n.ns).filter((ns) => existsSync(`${NETNS_DIR}/${ns}`));
      if (left.length)
        await runProc(['ip', '-force', '-batch', '-'], left.map((ns) => `netns del ${ns}\n`).join(''));
    }
  }

  async stop(): Promise<void> {
    this.child.stdin.end();
    this.rl.close();
    await new Promise<void>((r) =>
      this.child.exitCode !== null ? r() : this.child.once('close', () => r()),
    );
  }
}
