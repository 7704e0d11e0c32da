// Mininet's CLI verbs over a live Simulation. The same dispatcher serves the interactive
// REPL and `netsim up X --script FILE` (one line at a time, exit status per line).
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { frrVerbs, hasFrrRouters, reportConvergence } from '../../features/frr/verbs.js';
import { PodNode } from '../../features/k8s/pod.js';
import { interruptWorkers, k8sVerbs } from '../../features/k8s/verbs.js';
import { WorkerNode } from '../../features/k8s/worker.js';
import { multiclusterVerbs } from '../../features/multicluster/index.js';
import { peeringName, peeringsOf, viewOf } from '../../features/multicluster/liqo/peering.js';
import { traceVerbs } from '../../features/trace/verbs.js';
import { kindOf } from '../../model/kinds/registry.js';
import type { SimNode } from '../../runtime/node.js';
import type { Simulation } from '../../runtime/simulation.js';
import { formatIp } from '../../util/ipv4.js';
import { seeVerbs } from '../web/verbs.js';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export interface Verb {
  usage: string;
  help: string;
  run(args: string[], rest: string): Promise<number>;
}

/** Splits a line into words, honouring simple quotes. */
export function words(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

export class Commands {
  readonly verbs = new Map<string, Verb>();
  /** the child currently running in the foreground (Ctrl-C stops it) */
  private current?: ChildProcess;
  /** evaluates JavaScript for `py`/`px` and for lines that are neither verbs nor nodes */
  evalJs?: (code: string) => Promise<unknown>;

  constructor(
    readonly sim: Simulation,
    readonly io: Io,
  ) {
    this.define();
  }

  get nodeNames(): string[] {
    return [...this.sim.nodes.keys()];
  }

  /** Interrupts the foreground command, if any. */
  interrupt(): boolean {
    const c = this.current;
    if (!c?.pid) return interruptWorkers(this.sim);
    try {
      process.kill(-c.pid, 'SIGINT');
    } catch {
      c.kill('SIGINT');
    }
    return true;
  }

  /** true when the line is handled here (a verb or a node command), false for JavaScript. */
  handles(line: string): boolean {
    const first = words(line.trim())[0];
    return first !== undefined && (this.verbs.has(first) || this.sim.nodes.has(first));
  }

  async run(line: string): Promise<number> {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) return 0;
    const [first, ...args] = words(trimmed);
    const rest = trimmed.slice(trimmed.indexOf(first) + first.length).trim();
    const verb = this.verbs.get(first);
    try {
      if (verb) return await verb.run(args, rest);
      if (this.sim.nodes.has(first)) return await this.nodeCommand(this.sim.node(first), rest);
      if (this.evalJs) {
        const v = await this.evalJs(trimmed);
        if (v !== undefined) this.io.out(`${typeof v === 'string' ? v : JSON.stringify(v, null, 2)}\n`);
        return 0;
      }
      this.io.err(`*** unknown command: ${first} (try help)\n`);
      return 1;
    } catch (err) {
      this.io.err(`*** ${(err as Error).message}\n`);
      return 1;
    }
  }

  /**
   * Words that name nodes become their IPs (Mininet's rule), except the first. Run in a pod or
   * worker of a cluster peered Liqo-style with the named pod's cluster, the name becomes the
   * address this cluster sees that pod at (its remapped IP), as it would in Liqo.
   */
  substitute(cmd: string, from?: SimNode): string {
    const viewer = from && clusterNameOf(from);
    return cmd.replace(/(^|\s)([A-Za-z0-9][A-Za-z0-9_.]*)(?=\s|$)/g, (m, pre: string, word: string) => {
      const n = this.sim.nodes.get(word);
      if (!n?.ip) return m;
      const owner = n instanceof PodNode ? n.cluster : undefined;
      if (viewer && owner && owner !== viewer && peeringsOf(this.sim).has(peeringName(viewer, owner)))
        return `${pre}${viewOf(this.sim, viewer, owner, n.ip)}`;
      return `${pre}${n.ip}`;
    });
  }

  async nodeCommand(node: SimNode, cmd: string): Promise<number> {
    if (!cmd) {
      this.io.err(`*** give a command to run in ${node.name}, e.g. ${node.name} ip addr\n`);
      return 1;
    }
    const line = node.shellLine(this.substitute(cmd, node));
    // `c1 ./server &`: in the background, recorded in the ledger, output to a file
    if (/[^&]&\s*$/.test(cmd)) {
      const logFile = `${this.sim.dir}/bg-${node.name}-${Date.now()}.log`;
      const bg = line.replace(/&\s*$/, '');
      const pid = this.sim.kernel.spawnDaemon({ ns: node.ns, cmd: 'sh', args: ['-c', bg], logFile });
      this.io.out(`[${node.name}] pid ${pid} in the background, output in ${logFile}\n`);
      return 0;
    }
    return this.stream(['nsenter', `--net=/run/netns/${node.ns}`, '--', 'sh', '-c', line]);
  }

  /** Runs a process with its output streamed to the REPL; Ctrl-C interrupts it. */
  stream(argv: string[]): Promise<number> {
    return new Promise((resolve) => {
      const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      this.current = child;
      child.stdout.on('data', (d: Buffer) => this.io.out(d.toString()));
      child.stderr.on('data', (d: Buffer) => this.io.err(d.toString()));
      child.on('error', (e) => {
        this.io.err(`*** ${e.message}\n`);
      });
      child.on('close', (code, signal) => {
        this.current = undefined;
        resolve(code ?? (signal ? 130 : 1));
      });
    });
  }

  private def(names: string[], usage: string, help: string, run: Verb['run']): void {
    for (const n of names) this.verbs.set(n, { usage, help, run });
  }

  private define(): void {
    const { io, sim } = this;
    this.def(['help', '?'], 'help [verb]', 'list the verbs, or explain one', async ([v]) => {
      if (v) {
        const verb = this.verbs.get(v);
        if (!verb) {
          io.err(`*** no verb ${v}\n`);
          return 1;
        }
        io.out(`${verb.usage}\n  ${verb.help}\n`);
        return 0;
      }
      const seen = new Set<Verb>();
      io.out('Verbs:\n');
      for (const verb of this.verbs.values()) {
        if (seen.has(verb)) continue;
        seen.add(verb);
        io.out(`  ${verb.usage.padEnd(28)} ${verb.help}\n`);
      }
      io.out(
        `\n  <node> <command>             run a shell command in a node; other node names become their IPs\n` +
          `                               e.g.  h1 ping -c1 h2\n` +
          `  anything else                JavaScript with the live objects (${this.nodeNames.slice(0, 3).join(', ')}, net), top-level await\n` +
          `                               e.g.  await h1.cmd('ip route')\n`,
      );
      return 0;
    });
    this.def(['nodes'], 'nodes', 'list the nodes', async () => {
      const byKind = new Map<string, string[]>();
      for (const n of sim.nodes.values()) byKind.set(n.kind, [...(byKind.get(n.kind) ?? []), n.name]);
      io.out(`available nodes are:\n${[...byKind].map(([k, ns]) => `  ${k}: ${ns.join(' ')}`).join('\n')}\n`);
      return 0;
    });
    this.def(['net'], 'net', 'each node with its interfaces and what they connect to', async () => {
      for (const n of sim.nodes.values()) {
        io.out(`${n.name} ${n.intfs.map((i) => `${i.name}:${i.peer.node}-${i.peer.name}`).join(' ')}\n`);
      }
      return 0;
    });
    this.def(['links'], 'links', 'every link with the state of both ends', async () => {
      const states = await this.linkStates();
      for (const l of sim.model.links) {
        const [a, b] = l.ends;
        io.out(
          `${a.node}-${a.name}<->${b.node}-${b.name} (${states.get(`${a.node}:${a.name}`) ?? '?'} ${states.get(`${b.node}:${b.name}`) ?? '?'})\n`,
        );
      }
      return 0;
    });
    const intfs = async () => {
      for (const n of sim.nodes.values()) io.out(`${n.name}: ${n.intfs.map((i) => i.name).join(',')}\n`);
      return 0;
    };
    this.def(['intfs'], 'intfs', 'interfaces of each node', intfs);
    this.def(['ports'], 'ports', 'ports of each node (same as intfs)', intfs);
    this.def(['dump'], 'dump', 'every node with its addresses and namespace', async () => {
      for (const n of sim.nodes.values()) {
        const addrs = n.intfs.map(
          (i) => `${i.name}:${i.addr ? `${formatIp(i.addr.ip)}/${i.addr.prefix}` : 'None'}`,
        );
        io.out(`<${kindOf(n.kind).name} ${n.name}: ${addrs.join(',')} ns=${n.ns}>\n`);
      }
      return 0;
    });
    const pingall = (full: boolean) => async (args: string[]) => {
      const timeoutMs = args[0] ? Math.round(Number(args[0]) * 1000) : undefined;
      if (timeoutMs !== undefined && !(timeoutMs > 0)) {
        io.err('*** usage: pingall [timeout-seconds]\n');
        return 1;
      }
      io.out('*** Ping: testing ping reachability\n');
      const res = await sim.pingAll({ timeoutMs });
      const bySrc = new Map<string, string[]>();
      for (const r of res.results) bySrc.set(r.src, [...(bySrc.get(r.src) ?? []), r.ok ? r.dst : 'X']);
      if (full)
        for (const r of res.results)
          io.out(`  ${r.src} -> ${r.dst} (${r.dstIp}): ${r.ok ? 'ok' : 'FAILED'}\n`);
      else for (const [src, dsts] of bySrc) io.out(`${src} -> ${dsts.join(' ')}\n`);
      const pct = res.pairs ? ((res.failed / res.pairs) * 100).toFixed(0) : '0';
      io.out(
        `*** Results: ${pct}% dropped (${res.passed}/${res.pairs} received) in ${(res.ms / 1000).toFixed(2)} s\n`,
      );
      return res.failed ? 1 : 0;
    };
    this.def(['pingall'], 'pingall [timeout]', 'ping between every pair of hosts', pingall(false));
    this.def(['pingallfull'], 'pingallfull [timeout]', 'pingall with a line per pair', pingall(true));
    const pingpair = async (args: string[]) => {
      const [a, b] = args.length >= 2 ? args : this.firstTwoHosts();
      io.out(`*** Ping: ${a} <-> ${b}\n`);
      const ok = await sim.pingPair(a, b);
      io.out(`*** Results: ${ok ? '0% dropped (2/2 received)' : 'FAILED'}\n`);
      return ok ? 0 : 1;
    };
    this.def(['pingpair'], 'pingpair [a b]', 'ping between two hosts (default: the first two)', pingpair);
    this.def(['pingpairfull'], 'pingpairfull [a b]', 'same as pingpair', pingpair);
    const iperf = (udp: boolean) => async (args: string[]) => {
      let bw = '10M';
      if (udp && args.length && !sim.nodes.has(args[0])) bw = args.shift()!;
      const [a, b] = args.length >= 2 ? args : this.firstTwoHosts();
      const client = sim.node(a);
      const server = sim.node(b);
      io.out(`*** Iperf: testing ${udp ? 'UDP' : 'TCP'} bandwidth between ${a} and ${b}\n`);
      const bps = await iperf3(client, server, { udp, bw });
      io.out(`*** Results: ${formatBps(bps)}\n`);
      return 0;
    };
    this.def(['iperf'], 'iperf [a b]', 'TCP throughput between two hosts (iperf3)', iperf(false));
    this.def(['iperfudp'], 'iperfudp [bw] [a b]', 'UDP throughput at a given rate (e.g. 10M)', iperf(true));
    this.def(
      ['link'],
      'link a b up|down',
      'take both ends of the links between a and b up or down',
      async ([a, b, st]) => {
        if (!a || !b || (st !== 'up' && st !== 'down')) {
          io.err('*** usage: link a b up|down\n');
          return 1;
        }
        const t0 = performance.now();
        const n = await sim.setLink(a, b, st);
        io.out(`${n} link${n > 1 ? 's' : ''} ${a}<->${b} ${st}\n`);
        return hasFrrRouters(sim) ? reportConvergence(sim, io, t0) : 0;
      },
    );
    this.def(['switch'], 'switch sw start|stop', "start or stop a switch's bridge", async ([sw, act]) => {
      const node = sim.node(sw ?? '');
      if (!kindOf(node.kind).bridging || (act !== 'start' && act !== 'stop')) {
        io.err('*** usage: switch <switch> start|stop\n');
        return 1;
      }
      await sim.kernel.ip(node.ns, ['link', 'set', 'br0', act === 'start' ? 'up' : 'down']);
      return 0;
    });
    for (const v of frrVerbs(sim, io)) this.def(v.names, v.usage, v.help, (args) => v.run(args));
    const k8s = k8sVerbs(
      sim,
      io,
      (l, from) => this.substitute(l, from),
      (argv) => this.stream(argv),
    );
    for (const v of k8s) this.def(v.names, v.usage, v.help, (args, rest) => v.run(args, rest));
    for (const v of multiclusterVerbs(sim, io))
      this.def(v.names, v.usage, v.help, (args, rest) => v.run(args, rest));
    for (const v of seeVerbs(sim, io)) this.def(v.names, v.usage, v.help, (args, rest) => v.run(args, rest));
    for (const v of traceVerbs(sim, io))
      this.def(v.names, v.usage, v.help, (args, rest) => v.run(args, rest));
    this.def(['sh'], 'sh cmd', 'run a command in the host shell (outside the simulation)', async (_a, rest) =>
      this.stream(['sh', '-c', rest]),
    );
    this.def(
      ['noecho'],
      'noecho node cmd',
      'run a command in a node (Mininet compatibility)',
      async ([n], rest) => this.nodeCommand(sim.node(n), rest.slice(n.length).trim()),
    );
    this.def(['time'], 'time line', 'run a line and print how long it took', async (_a, rest) => {
      const t0 = performance.now();
      const code = await this.run(rest);
      io.out(`*** Elapsed time: ${((performance.now() - t0) / 1000).toFixed(6)} s\n`);
      return code;
    });
    this.def(['source'], 'source file', 'run the lines of a file', async ([file]) => {
      let failed = 0;
      for (const l of readFileSync(file, 'utf8').split('\n')) if ((await this.run(l)) !== 0) failed++;
      return failed ? 1 : 0;
    });
    const js = async (_a: string[], rest: string) => {
      if (!this.evalJs) return 1;
      const v = await this.evalJs(rest);
      if (v !== undefined) io.out(`${typeof v === 'string' ? v : JSON.stringify(v, null, 2)}\n`);
      return 0;
    };
    this.def(['py', 'js'], 'js expr', 'evaluate JavaScript with the live objects (py: Mininet alias)', js);
    this.def(['px'], 'px stmt', 'run a JavaScript statement (Mininet alias)', js);
    this.def(
      ['x', 'xterm'],
      'xterm node',
      'netsim has no X terminals: prints the command for another terminal',
      async ([n]) => {
        io.out(
          `run in another terminal:  netsim exec ${sim.node(n ?? '').name}${sim.name ? ` --sim ${sim.name}` : ''}\n`,
        );
        return 0;
      },
    );
  }

  private firstTwoHosts(): [string, string] {
    const hosts = [...this.sim.nodes.values()]
      .filter((n) => kindOf(n.kind).pingable && n.ip)
      .map((n) => n.name);
    if (hosts.length < 2) throw new Error('need two hosts');
    return [hosts[0], hosts[1]];
  }

  private async linkStates(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    await Promise.all(
      [...this.sim.nodes.values()].map(async (n) => {
        const links = await this.sim.kernel.ipJson<{ ifname: string; flags: string[] }[]>(n.ns, [
          'link',
          'show',
        ]);
        for (const l of links) {
          const ok = l.flags.includes('UP') && l.flags.includes('LOWER_UP');
          out.set(`${n.name}:${l.ifname}`, ok ? 'OK' : 'MISSING');
        }
      }),
    );
    return out;
  }
}

/** Runs iperf3 server in `server` (one test) and client in `client`; returns bits per second. */
export async function iperf3(
  client: SimNode,
  server: SimNode,
  opts: { udp?: boolean; bw?: string; seconds?: number } = {},
): Promise<number> {
  if (!server.ip) throw new Error(`${server.name} has no address`);
  const port = 5201;
  const srv = server.spawn(`exec iperf3 -s -1 -p ${port}`);
  try {
    // wait for the server socket
    for (let i = 0; i < 50; i++) {
      const r = await server.exec(`ss -ltn 'sport = :${port}' | grep -q LISTEN`);
      if (r.exitCode === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const args = ['-c', server.ip, '-p', String(port), '-t', String(opts.seconds ?? 2), '-J'];
    if (opts.udp) args.push('-u', '-b', opts.bw ?? '10M');
    const res = await client.exec(`iperf3 ${args.join(' ')}`);
    const json = JSON.parse(res.stdout) as {
      end?: { sum_received?: { bits_per_second: number }; sum?: { bits_per_second: number } };
      error?: string;
    };
    if (json.error) throw new Error(`iperf3: ${json.error}`);
    return json.end?.sum_received?.bits_per_second ?? json.end?.sum?.bits_per_second ?? 0;
  } finally {
    srv.kill('SIGTERM');
  }
}

export function formatBps(bps: number): string {
  if (bps >= 1e9) return `${(bps / 1e9).toFixed(2)} Gbits/sec`;
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(2)} Mbits/sec`;
  return `${(bps / 1e3).toFixed(2)} Kbits/sec`;
}

/** The cluster a pod or worker belongs to. */
function clusterNameOf(node: SimNode): string | undefined {
  if (node instanceof PodNode) return node.cluster;
  if (node instanceof WorkerNode) return node.config.name;
  return undefined;
}
