// Mininet's CLI verbs over a live Simulation. The same dispatcher serves the interactive
// REPL and `netsim up X --script FILE` (one line at a time, exit status per line). The verbs
// come from the REPL's own list (verbs.ts) and from every registered feature.
import { type ChildProcess, spawnIn } from '../../kernel/enter.js';
import type { SimNode } from '../../runtime/node.js';
import { nodeAddress } from '../../runtime/ping.js';
import { allPlugins, type Io, type Verb } from '../../runtime/plugin.js';
import type { Simulation } from '../../runtime/simulation.js';
import { seeVerbs } from '../web/verbs.js';
import { captureVerb } from './capture.js';
import { coreVerbs, type ReplContext } from './verbs.js';

export type { Io, Verb };

/** Splits a line into words, honouring simple quotes. */
export function words(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/** IPv6 tools that take no -6 */
const TOOLS6 = new Set(['ping6', 'traceroute6', 'tracepath6', 'fping6']);

/**
 * The family a node command's node names stand for: 6 with a `-6` word or an IPv6 tool
 * (`ping6`), 4 with a `-4` word, else undefined (the node's first address).
 */
export function commandFamily(cmd: string): 4 | 6 | undefined {
  const ws = words(cmd);
  if (ws.includes('-6') || TOOLS6.has(ws[0]?.split('/').pop() ?? '')) return 6;
  return ws.includes('-4') ? 4 : undefined;
}

export class Commands implements ReplContext {
  readonly verbs = new Map<string, Verb>();
  /** the child currently running in the foreground (Ctrl-C stops it) */
  private current?: ChildProcess;
  /** ... or what ends the foreground work that is not one child (a capture on several nodes) */
  private stopCurrent?: () => void;
  /** evaluates JavaScript for `py`/`px` and for lines that are neither verbs nor nodes */
  evalJs?: (code: string) => Promise<unknown>;

  constructor(
    readonly sim: Simulation,
    readonly io: Io,
  ) {
    const verbs = [
      ...coreVerbs(this),
      captureVerb(this),
      ...allPlugins().flatMap((p) => p.verbs?.(this) ?? []),
      ...seeVerbs(sim, io),
    ];
    for (const v of verbs) for (const n of v.names) this.verbs.set(n, v);
  }

  get nodeNames(): string[] {
    return [...this.sim.nodes.keys()];
  }

  /** Interrupts the foreground command, if any (else what a feature runs in the foreground). */
  interrupt(): boolean {
    if (this.stopCurrent) {
      this.stopCurrent();
      return true;
    }
    const c = this.current;
    if (!c?.pid) return allPlugins().some((p) => p.interrupt?.(this.sim) === true);
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
    return first !== undefined && (this.verbs.has(first) || this.nodeRef(first) !== undefined);
  }

  /** A node by name, or a nested one (a pod) as `parent/name`, as `netsim exec` takes it. */
  private nodeRef(ref: string): SimNode | undefined {
    const slash = ref.indexOf('/');
    if (slash < 0) return this.sim.nodes.get(ref);
    const name = ref.slice(slash + 1);
    return this.sim.parentOf(name) === ref.slice(0, slash) ? this.sim.nodes.get(name) : undefined;
  }

  async run(line: string): Promise<number> {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) return 0;
    const [first, ...args] = words(trimmed);
    const rest = trimmed.slice(trimmed.indexOf(first) + first.length).trim();
    const verb = this.verbs.get(first);
    try {
      if (verb) return await verb.run(args, rest);
      const node = this.nodeRef(first);
      if (node) return await this.nodeCommand(node, rest);
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
   * Words that name nodes become their IPs (Mininet's rule), except the first: their IPv6
   * address in an IPv6 command (`ping -6 h2`, `ping6 h2`, `ip -6 route get h2`), else their
   * IPv4 one (IPv6 in an IPv6-only topology). A feature may say a node is seen at another
   * (IPv4) address from `from` (a Liqo-style remap).
   */
  substitute(cmd: string, from?: SimNode): string {
    const family = commandFamily(cmd);
    return cmd.replace(/(^|\s)([A-Za-z0-9][A-Za-z0-9_.]*)(?=\s|$)/g, (m, pre: string, word: string) => {
      const n = this.sim.nodes.get(word);
      const ip = n && nodeAddress(n, family);
      if (!n || !ip) return m;
      if (from && ip === n.ip)
        for (const p of allPlugins()) {
          const seen = p.addressFor?.(this.sim, from, n);
          if (seen) return `${pre}${seen}`;
        }
      return `${pre}${ip}`;
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
    return this.stream(node.ns, ['sh', '-c', line]);
  }

  async foreground(stop: () => void, work: Promise<number>): Promise<number> {
    this.stopCurrent = stop;
    try {
      return await work;
    } finally {
      this.stopCurrent = undefined;
    }
  }

  /** Runs a process (in `ns`, or on the host) with its output streamed to the REPL; Ctrl-C interrupts it. */
  stream(ns: string | undefined, argv: string[]): Promise<number> {
    return new Promise((resolve) => {
      const child = spawnIn(ns, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      this.current = child;
      child.stdout!.on('data', (d: Buffer) => this.io.out(d.toString()));
      child.stderr!.on('data', (d: Buffer) => this.io.err(d.toString()));
      child.on('error', (e) => {
        this.io.err(`*** ${e.message}\n`);
      });
      child.on('close', (code, signal) => {
        this.current = undefined;
        resolve(code ?? (signal ? 130 : 1));
      });
    });
  }
}
