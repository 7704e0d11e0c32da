// What a trace knows of the simulation besides the kernel: the nodes, their namespaces and
// addresses, and which interface's other end is where (a veth's peer). It comes from the
// state a running simulation publishes (state.json), so `netsim trace` in another shell and
// the REPL see the same thing. Everything about forwarding is asked of the kernel.

import { Kernel } from '../../kernel/kernel.js';
import { Ledger } from '../../kernel/ledger.js';
import { kindOf } from '../../model/kinds/registry.js';
import { BRIDGE_NAME } from '../../model/kinds/switch.js';
import type { NodeState, SimState } from '../../runtime/state.js';
import { type Family, isLinkLocal6 } from './family.js';

export class TraceNet {
  readonly nodes = new Map<string, NodeState>();
  private readonly peers = new Map<string, { node: string; iface: string }>();
  private readonly addrs = new Map<string, { node: string; iface: string }>();

  constructor(readonly state: SimState) {
    for (const n of state.nodes) {
      this.nodes.set(n.name, n);
      for (const i of n.ifaces) {
        if (i.addr) this.addrs.set(i.addr.split('/')[0], { node: n.name, iface: i.name });
        if (i.addr6) this.addrs.set(i.addr6.split('/')[0], { node: n.name, iface: i.name });
        const [pn, pi] = i.peer.split(':');
        if (!pn || !pi) continue;
        this.peers.set(`${n.name}:${i.name}`, { node: pn, iface: pi });
        // pods' host ends are listed on the pod only
        this.peers.set(`${pn}:${pi}`, { node: n.name, iface: i.name });
      }
    }
  }

  get name(): string {
    return this.state.name;
  }

  node(name: string): NodeState | undefined {
    return this.nodes.get(name);
  }

  /** The other end of a node's veth, if it is one netsim made. */
  peer(node: string, iface: string): { node: string; iface: string } | undefined {
    return this.peers.get(`${node}:${iface}`);
  }

  /** The node with this address on one of its interfaces (as netsim assigned it). */
  owner(ip: string): { node: string; iface: string } | undefined {
    return this.addrs.get(ip);
  }

  /**
   * The node a gateway address belongs to: from netsim's records, or for an IPv6 link-local
   * next hop (FRR's OSPFv3 and BGP routes use them; netsim records only global addresses) the
   * node at the other end of the interface, when that is a point-to-point link.
   */
  gatewayNode(node: string, dev: string, gateway: string): string | undefined {
    const owner = this.owner(gateway)?.node;
    if (owner || !isLinkLocal6(gateway)) return owner;
    const peer = this.peer(node, dev);
    const n = peer ? this.node(peer.node) : undefined;
    return n && !this.isSwitch(n) ? n.name : undefined;
  }

  /** The node's first address of the family (IPv6: a global one, as netsim assigned it). */
  firstIp(node: NodeState, family: Family = 4): string | undefined {
    const key = family === 6 ? 'addr6' : 'addr';
    return node.ifaces.find((i) => i[key])?.[key]?.split('/')[0];
  }

  /** A switch: nothing but a bridge (its own name, br0) and ports. */
  isSwitch(node: NodeState): boolean {
    return kindOf(node.kind, false)?.bridging === true;
  }

  switchBridge(): string {
    return BRIDGE_NAME;
  }

  workers(): NodeState[] {
    return [...this.nodes.values()].filter((n) => n.kind === 'worker');
  }
}

export interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

/** What the tracer needs of the kernel layer to read a namespace's state. */
export type ToolRunner = Pick<Kernel, 'tool'>;

/** Read-only tools when no simulation's kernel is at hand (nothing is recorded for them). */
function toolsOnly(): ToolRunner {
  return new Kernel(new Ledger('/dev/null'));
}

/** A tool inside a namespace; never throws on a non-zero exit. */
export async function inNs(
  ns: string,
  cmd: string,
  args: string[],
  timeoutMs = 10000,
  kernel: ToolRunner = toolsOnly(),
): Promise<Out> {
  const r = await kernel.tool(ns, cmd, args, { check: false, timeoutMs });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

/** `ip -j ...` (or `bridge -j ...`) in a namespace: the parsed list, [] on failure. */
export async function jsonIn<T>(
  ns: string,
  cmd: 'ip' | 'bridge',
  args: string[],
  kernel: ToolRunner = toolsOnly(),
): Promise<T[]> {
  const r = await inNs(ns, cmd, ['-j', ...args], 10000, kernel);
  if (r.code !== 0) return [];
  return parseJsonList<T>(r.stdout);
}

/** The list in `ip -j`/`bridge -j` output; [] when it is empty or not JSON. */
export function parseJsonList<T>(stdout: string): T[] {
  try {
    return (JSON.parse(stdout.trim() || '[]') as T[]) ?? [];
  } catch {
    return [];
  }
}
