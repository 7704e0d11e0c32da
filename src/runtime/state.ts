// state.json: what other shells (`netsim exec|check|ls|down`) need to know about a running
// simulation. Written by the process that owns the simulation.
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '../kernel/proc.js';
import type { IfaceModel } from '../model/model.js';
import { formatIp } from '../util/ipv4.js';
import { formatIp6 } from '../util/ipv6.js';
import { simDir, simsDir } from './paths.js';

export interface NodeState {
  name: string;
  kind: string;
  ns: string;
  pingable: boolean;
  /** the topology's labels of the node (containerlab `labels:` of imported nodes) */
  labels?: Record<string, string>;
  /** where the node lives when it is nested (a pod: its worker) */
  parent?: string;
  /** the cluster it belongs to (a worker or etcd member; a pod: its worker's) */
  cluster?: string;
  /** addr: the model's, else what the kernel had once built (a lab's exec lines: learned.ts) */
  ifaces: IfaceState[];
}

export interface IfaceState {
  name: string;
  /** its IPv4 address/prefix */
  addr?: string;
  /** its (global) IPv6 address/prefix */
  addr6?: string;
  peer: string;
}

/** An interface as state.json lists it; `learned`, `learned6`: its addresses read back from the kernel. */
export function ifaceState(i: IfaceModel, learned?: string, learned6?: string): IfaceState {
  const addr6 = i.addr6 ? `${formatIp6(i.addr6.ip)}/${i.addr6.prefix}` : learned6;
  return {
    name: i.name,
    addr: i.addr ? `${formatIp(i.addr.ip)}/${i.addr.prefix}` : learned,
    ...(addr6 ? { addr6 } : {}),
    peer: `${i.peer.node}:${i.peer.name}`,
  };
}

export interface SimState {
  name: string;
  pid: number;
  pidStart: string;
  startedAt: string;
  source: string;
  status: 'building' | 'ready' | 'stopping';
  nodes: NodeState[];
  links: { index: number; a: string; b: string }[];
}

/** The cluster a node's spec names (workers and etcd members have one). */
export function clusterOf(spec: unknown): string | undefined {
  const c = (spec as { cluster?: unknown } | undefined)?.cluster;
  return typeof c === 'string' ? c : undefined;
}

export function writeState(state: SimState): void {
  const file = join(simDir(state.name), 'state.json');
  writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 1));
  renameSync(`${file}.tmp`, file);
}

export function readState(sim: string): SimState | undefined {
  const file = join(simDir(sim), 'state.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SimState;
  } catch {
    return undefined;
  }
}

/** Names of every simulation with a state directory (running or crashed). */
export function listSimDirs(): string[] {
  try {
    return readdirSync(simsDir());
  } catch {
    return [];
  }
}

export function isRunning(state: SimState | undefined): boolean {
  return state !== undefined && isAlive(state.pid, state.pidStart);
}

/** The running simulation named, or the only one running; a clear error otherwise. */
export function pickRunning(name?: string): SimState {
  if (name) {
    const s = readState(name);
    if (!s || !isRunning(s)) throw new Error(`no running simulation named "${name}" (see netsim ls)`);
    return s;
  }
  const running = listSimDirs()
    .map(readState)
    .filter((s): s is SimState => isRunning(s));
  if (running.length === 0) throw new Error('no simulation is running (start one with netsim up)');
  if (running.length > 1) {
    throw new Error(
      `several simulations are running (${running.map((s) => s.name).join(', ')}): pick one with --sim`,
    );
  }
  return running[0];
}
