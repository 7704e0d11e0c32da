// The live object for one node: what the REPL and scenario scripts use (`await h1.exec('ip a')`).
import { type ChildProcess, spawnIn } from '../kernel/enter.js';
import type { Kernel } from '../kernel/kernel.js';
import type { RunOptions, RunResult } from '../kernel/run.js';
import type { IfaceModel, NodeModel } from '../model/model.js';
import { formatIp } from '../util/ipv4.js';
import { formatIp6 } from '../util/ipv6.js';

/**
 * What a node needs of the simulation it belongs to. The Simulation is one; a kind's node
 * class that needs more says so: `class RouterNode extends SimNode<Simulation>`.
 */
export interface NodeHost {
  readonly name: string;
  readonly dir: string;
  readonly kernel: Kernel;
  /** the addresses the kernel had after the build where the model has none (learned.ts) */
  learnedIps?(node: string): string[];
  /** ... and the global IPv6 ones */
  learnedIps6?(node: string): string[];
}

export class SimNode<S extends NodeHost = NodeHost> {
  constructor(
    readonly sim: S,
    readonly model: NodeModel,
  ) {}

  get name(): string {
    return this.model.name;
  }

  get kind(): string {
    return this.model.kind;
  }

  get ns(): string {
    return this.model.ns;
  }

  /** The node's first address (what `h1 ping h2` puts in place of h2). */
  get ip(): string | undefined {
    return this.ips[0];
  }

  /** The model's addresses, or (none there) those the kernel had once built: a lab's exec lines. */
  get ips(): string[] {
    const own = this.model.ifaces.filter((i) => i.addr).map((i) => formatIp(i.addr!.ip));
    return own.length ? own : (this.sim.learnedIps?.(this.name) ?? []);
  }

  /** The node's first IPv6 address (what `h1 ping -6 h2` puts in place of h2). */
  get ip6(): string | undefined {
    return this.ips6[0];
  }

  /**
   * The model's IPv6 addresses (global ones: link-local addresses are the kernel's), or (none
   * there) the global ones the kernel had once built: a lab's exec lines, a router's frr.conf.
   */
  get ips6(): string[] {
    const own = this.model.ifaces.filter((i) => i.addr6).map((i) => formatIp6(i.addr6!.ip));
    return own.length ? own : (this.sim.learnedIps6?.(this.name) ?? []);
  }

  get intfs(): IfaceModel[] {
    return this.model.ifaces;
  }

  /** A shell line as it runs in this node (kinds may prepend setup, e.g. a router's vtysh on PATH). */
  shellLine(line: string): string {
    return line;
  }

  /** Runs a shell line in the node; resolves with its output and exit code, never throws on failure. */
  exec(line: string, opts: Omit<RunOptions, 'ns'> = {}): Promise<RunResult> {
    return this.sim.kernel.exec(this.ns, this.shellLine(line), opts);
  }

  /** Mininet's node.cmd(): the combined output as a string. */
  async cmd(line: string): Promise<string> {
    const r = await this.exec(line);
    return r.stdout + r.stderr;
  }

  /** A process in the node with its own stdio (the REPL streams it and can interrupt it). */
  spawn(line: string, stdio: 'inherit' | 'pipe' = 'pipe'): ChildProcess {
    return spawnIn(this.ns, ['sh', '-c', this.shellLine(line)], { stdio });
  }

  toString(): string {
    return `<${this.kind} ${this.name}${this.ip ? ` ${this.ip}` : ''}>`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
