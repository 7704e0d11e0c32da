// The REPL's own verbs, as in Mininet: what is there and how it is wired, reachability,
// throughput, links and switches up or down, and the shell/JavaScript escapes. Features add
// theirs through their plugin (src/runtime/plugin.ts).
import { readFileSync } from 'node:fs';
import { linkSet } from '../../features/clab/netem.js';
import { kindOf } from '../../model/kinds/registry.js';
import type { Family, IfaceModel } from '../../model/model.js';
import { formatBps, iperf3 } from '../../runtime/iperf.js';
import type { SimNode } from '../../runtime/node.js';
import { allPlugins, type Verb, type VerbContext } from '../../runtime/plugin.js';
import type { Simulation } from '../../runtime/simulation.js';
import { formatIp } from '../../util/ipv4.js';
import { formatIp6 } from '../../util/ipv6.js';

/** What the core verbs use of the dispatcher (commands.ts) besides what every verb gets. */
export interface ReplContext extends VerbContext {
  readonly verbs: Map<string, Verb>;
  readonly nodeNames: string[];
  evalJs?: (code: string) => Promise<unknown>;
  run(line: string): Promise<number>;
  nodeCommand(node: SimNode, cmd: string): Promise<number>;
  /** work in the foreground that Ctrl-C ends by calling `stop` (several processes at once) */
  foreground(stop: () => void, work: Promise<number>): Promise<number>;
}

export function coreVerbs(cmds: ReplContext): Verb[] {
  const { io, sim } = cmds;
  const verbs: Verb[] = [];
  const def = (names: string[], usage: string, help: string, run: Verb['run']) =>
    verbs.push({ names, usage, help, run });
  def(['help', '?'], 'help [verb]', 'list the verbs, or explain one', async ([v]) => {
    if (v) {
      const verb = cmds.verbs.get(v);
      if (!verb) {
        io.err(`*** no verb ${v}\n`);
        return 1;
      }
      io.out(`${verb.usage}\n  ${verb.help}\n`);
      return 0;
    }
    const seen = new Set<Verb>();
    io.out('Verbs:\n');
    for (const verb of cmds.verbs.values()) {
      if (seen.has(verb)) continue;
      seen.add(verb);
      io.out(`  ${verb.usage.padEnd(28)} ${verb.help}\n`);
    }
    io.out(
      `\n  <node> <command>             run a shell command in a node; other node names become their IPs\n` +
        `                               e.g.  h1 ping -c1 h2\n` +
        `  anything else                JavaScript with the live objects (${cmds.nodeNames.slice(0, 3).join(', ')}, net), top-level await\n` +
        `                               e.g.  await h1.cmd('ip route')\n`,
    );
    return 0;
  });
  def(['nodes'], 'nodes', 'list the nodes', async () => {
    const byKind = new Map<string, string[]>();
    for (const n of sim.nodes.values()) byKind.set(n.kind, [...(byKind.get(n.kind) ?? []), n.name]);
    io.out(`available nodes are:\n${[...byKind].map(([k, ns]) => `  ${k}: ${ns.join(' ')}`).join('\n')}\n`);
    return 0;
  });
  def(['net'], 'net', 'each node with its interfaces and what they connect to', async () => {
    for (const n of sim.nodes.values()) {
      io.out(`${n.name} ${n.intfs.map((i) => `${i.name}:${i.peer.node}-${i.peer.name}`).join(' ')}\n`);
    }
    return 0;
  });
  def(['links'], 'links', 'every link with the state of both ends', async () => {
    const states = await linkStates(sim);
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
  def(['intfs'], 'intfs', 'interfaces of each node', intfs);
  def(['ports'], 'ports', 'ports of each node (same as intfs)', intfs);
  def(['dump'], 'dump', 'every node with its addresses (IPv4, IPv6) and namespace', async () => {
    for (const n of sim.nodes.values()) {
      const addrs = n.intfs.map((i) => `${i.name}:${ifaceAddrs(i).join('+') || 'None'}`);
      io.out(`<${kindOf(n.kind).name} ${n.name}: ${addrs.join(',')} ns=${n.ns}>\n`);
    }
    return 0;
  });
  const pingall = (full: boolean) => async (all: string[]) => {
    const { family, args } = familyArgs(all);
    const timeoutMs = args[0] ? Math.round(Number(args[0]) * 1000) : undefined;
    if (args.length > 1 || (timeoutMs !== undefined && !(timeoutMs > 0))) {
      io.err(`*** usage: ${full ? 'pingallfull' : 'pingall'} [-4|-6] [timeout-seconds]\n`);
      return 1;
    }
    io.out(`*** Ping: testing ping reachability${family === 6 ? ' (IPv6)' : ''}\n`);
    const res = await sim.pingAll({ timeoutMs, family });
    const bySrc = new Map<string, string[]>();
    for (const r of res.results) bySrc.set(r.src, [...(bySrc.get(r.src) ?? []), r.ok ? r.dst : 'X']);
    if (full)
      for (const r of res.results) io.out(`  ${r.src} -> ${r.dst} (${r.dstIp}): ${r.ok ? 'ok' : 'FAILED'}\n`);
    else for (const [src, dsts] of bySrc) io.out(`${src} -> ${dsts.join(' ')}\n`);
    const pct = res.pairs ? ((res.failed / res.pairs) * 100).toFixed(0) : '0';
    io.out(
      `*** Results: ${pct}% dropped (${res.passed}/${res.pairs} received) in ${(res.ms / 1000).toFixed(2)} s\n`,
    );
    return res.failed ? 1 : 0;
  };
  def(
    ['pingall'],
    'pingall [-4|-6] [timeout]',
    'ping between every pair of hosts (-6: their IPv6 addresses)',
    pingall(false),
  );
  def(['pingallfull'], 'pingallfull [-4|-6] [timeout]', 'pingall with a line per pair', pingall(true));
  const pingpair = async (all: string[]) => {
    const { family, args } = familyArgs(all);
    const [a, b] = args.length >= 2 ? args : firstTwoHosts(sim, family);
    io.out(`*** Ping: ${a} <-> ${b}${family === 6 ? ' (IPv6)' : ''}\n`);
    const ok = await sim.pingPair(a, b, family);
    io.out(`*** Results: ${ok ? '0% dropped (2/2 received)' : 'FAILED'}\n`);
    return ok ? 0 : 1;
  };
  def(['pingpair'], 'pingpair [-6] [a b]', 'ping between two hosts (default: the first two)', pingpair);
  def(['pingpairfull'], 'pingpairfull [-6] [a b]', 'same as pingpair', pingpair);
  const iperf = (udp: boolean) => async (args: string[]) => {
    let bw = '10M';
    if (udp && args.length && !sim.nodes.has(args[0])) bw = args.shift()!;
    const [a, b] = args.length >= 2 ? args : firstTwoHosts(sim);
    const client = sim.node(a);
    const server = sim.node(b);
    io.out(`*** Iperf: testing ${udp ? 'UDP' : 'TCP'} bandwidth between ${a} and ${b}\n`);
    const bps = await iperf3(client, server, { udp, bw });
    io.out(`*** Results: ${formatBps(bps)}\n`);
    return 0;
  };
  def(['iperf'], 'iperf [a b]', 'TCP throughput between two hosts (iperf3)', iperf(false));
  def(['iperfudp'], 'iperfudp [bw] [a b]', 'UDP throughput at a given rate (e.g. 10M)', iperf(true));
  def(
    ['link'],
    'link a b up|down|set [--rate R] [--loss P] [--delay D] [--jitter J]',
    'take both ends of the links between a and b up or down, or set their impairments (tools netem)',
    async ([a, b, st, ...rest]) => {
      if (a && b && st === 'set') {
        io.out(await linkSet(sim, a, b, rest));
        return 0;
      }
      if (!a || !b || (st !== 'up' && st !== 'down')) {
        io.err('*** usage: link a b up|down|set [--rate R] [--loss P] [--delay D] [--jitter J]\n');
        return 1;
      }
      const t0 = performance.now();
      const n = await sim.setLink(a, b, st);
      io.out(`${n} link${n > 1 ? 's' : ''} ${a}<->${b} ${st}\n`);
      // every feature reacts (routing re-converges ...); the first failure is the status
      let status = 0;
      for (const p of allPlugins()) {
        const s = await p.afterLinkChange?.(sim, io, t0);
        if (s && !status) status = s;
      }
      return status;
    },
  );
  def(['switch'], 'switch sw start|stop', "start or stop a switch's bridge", async ([sw, act]) => {
    const node = sim.node(sw ?? '');
    if (!kindOf(node.kind).bridging || (act !== 'start' && act !== 'stop')) {
      io.err('*** usage: switch <switch> start|stop\n');
      return 1;
    }
    await sim.kernel.ip(node.ns, ['link', 'set', 'br0', act === 'start' ? 'up' : 'down']);
    return 0;
  });
  def(['sh'], 'sh cmd', 'run a command in the host shell (outside the simulation)', async (_a, rest) =>
    cmds.stream(undefined, ['sh', '-c', rest]),
  );
  def(['noecho'], 'noecho node cmd', 'run a command in a node (Mininet compatibility)', async ([n], rest) =>
    cmds.nodeCommand(sim.node(n), rest.slice(n.length).trim()),
  );
  def(['time'], 'time line', 'run a line and print how long it took', async (_a, rest) => {
    const t0 = performance.now();
    const code = await cmds.run(rest);
    io.out(`*** Elapsed time: ${((performance.now() - t0) / 1000).toFixed(6)} s\n`);
    return code;
  });
  def(['source'], 'source file', 'run the lines of a file', async ([file]) => {
    let failed = 0;
    for (const l of readFileSync(file, 'utf8').split('\n')) if ((await cmds.run(l)) !== 0) failed++;
    return failed ? 1 : 0;
  });
  const js = async (_a: string[], rest: string) => {
    if (!cmds.evalJs) return 1;
    const v = await cmds.evalJs(rest);
    if (v !== undefined) io.out(`${typeof v === 'string' ? v : JSON.stringify(v, null, 2)}\n`);
    return 0;
  };
  def(['py', 'js'], 'js expr', 'evaluate JavaScript with the live objects (py: Mininet alias)', js);
  def(['px'], 'px stmt', 'run a JavaScript statement (Mininet alias)', js);
  def(
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
  return verbs;
}

/** `-4`/`-6` among a verb's words: the family asked for (undefined: the default) and the other words. */
export function familyArgs(words: string[]): { family?: Family; args: string[] } {
  const family = words.includes('-6') ? 6 : words.includes('-4') ? 4 : undefined;
  return { family, args: words.filter((w) => w !== '-4' && w !== '-6') };
}

function firstTwoHosts(sim: Simulation, family?: Family): [string, string] {
  const hosts = sim.pingTargets(family).map((t) => t.name);
  if (hosts.length < 2) throw new Error('need two hosts');
  return [hosts[0], hosts[1]];
}

/** An interface's addresses as address/prefix: its IPv4 one, then its IPv6 one. */
export function ifaceAddrs(i: IfaceModel): string[] {
  return [
    ...(i.addr ? [`${formatIp(i.addr.ip)}/${i.addr.prefix}`] : []),
    ...(i.addr6 ? [`${formatIp6(i.addr6.ip)}/${i.addr6.prefix}`] : []),
  ];
}

async function linkStates(sim: Simulation): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  await Promise.all(
    [...sim.nodes.values()].map(async (n) => {
      const links = await sim.kernel.ipJson<{ ifname: string; flags: string[] }[]>(n.ns, ['link', 'show']);
      for (const l of links) {
        const ok = l.flags.includes('UP') && l.flags.includes('LOWER_UP');
        out.set(`${n.name}:${l.ifname}`, ok ? 'OK' : 'MISSING');
      }
    }),
  );
  return out;
}
