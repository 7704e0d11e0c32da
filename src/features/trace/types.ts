// The shapes of a trace: what the probe met in each node (hops and their explained steps), the
// result as `--json` prints it, and the kernel's JSON answers the explainers read.
import type { PacketInfo, TraceEvent } from './nft.js';

export type StepKind =
  | 'route'
  | 'neighbour'
  | 'bridge'
  | 'nat'
  | 'dnat'
  | 'snat'
  | 'filter'
  | 'policy'
  | 'vxlan'
  | 'decap'
  | 'deliver'
  | 'drop'
  | 'seen'
  | 'ingress'
  | 'note';

export interface Step {
  kind: StepKind;
  text: string;
  data?: Record<string, unknown>;
}

export interface Hop {
  node: string;
  kind: string;
  /** interface the probe came in on (undefined at the source) */
  in?: string;
  out?: string;
  /** the probe was seen here (nft trace, or a switch port's counters); undefined: not watched */
  seen?: boolean;
  steps: Step[];
}

export type Outcome = 'delivered' | 'refused' | 'dropped' | 'unknown';

export interface TraceResult {
  sim: string;
  src: string;
  dst: string;
  /** the probe's address family */
  family: 4 | 6;
  target: { ip: string; port?: number; service?: string; node?: string };
  proto: 'tcp' | 'icmp';
  probe: {
    command: string;
    result: 'answered' | 'refused' | 'unreachable' | 'timeout';
    detail: string;
    ms: number;
    /** source address and port (TCP) or ICMP id */
    from: string;
  };
  hops: Hop[];
  outcome: Outcome;
  summary: string;
  drop?: { node: string; reason: string; rule?: string };
  dnat?: { node: string; from: string; to: string; rule?: string };
  vxlan?: { node: string; device: string; vni: number; outerSrc: string; outerDst: string; port: number }[];
  ms: number;
}

export class TraceError extends Error {}

export interface TraceOptions {
  port?: number;
  /** the probe's address family (default: the destination address's, else IPv4) */
  family?: 4 | 6;
  /** how long the probe waits for an answer (default 2000 ms) */
  timeoutMs?: number;
  /** a service name the kernel's tables cannot name (no endpoints): ask the cluster */
  resolveService?: (
    namespace: string,
    name: string,
    port?: number,
    family?: 4 | 6,
  ) => Promise<{ ip: string; port: number } | undefined>;
}

export interface Pkt {
  saddr: string;
  daddr: string;
  proto: 'tcp' | 'udp' | 'icmp';
  sport?: number;
  dport?: number;
}

/** Where the probe goes next: a node, the interface it arrives on, the MAC it is sent to. */
export interface Next {
  node: string;
  /** arrives on this interface (L2 first: a switch or a bridge port) */
  iface?: string;
  /** stays in the same node, at the IP layer, as if received on this device (after VXLAN decap) */
  l3iif?: string;
  mac?: string;
  /** the next hop's address (to follow a flooded frame) */
  nh?: string;
  layer: 'inner' | 'outer';
  pkt: Pkt;
  /** the inner packet while an outer (VXLAN) one travels */
  inner?: Pkt;
}

export interface RouteGet {
  type?: string;
  dst: string;
  gateway?: string;
  dev?: string;
  prefsrc?: string;
  protocol?: string;
  metric?: number;
  flags?: string[];
}

export interface LinkJson {
  ifname: string;
  address?: string;
  master?: string;
  linkinfo?: {
    info_kind?: string;
    /** a VXLAN device's VNI, local address (local6 over an IPv6 underlay) and UDP port */
    info_data?: { id?: number; local?: string; local6?: string; port?: number };
  };
}

export interface FdbJson {
  mac: string;
  ifname?: string;
  master?: string;
  dst?: string;
  state?: string;
  flags?: string[];
}

/** `ip -j neigh show` (IPv6: `ip -6 -j neigh show`, NDP's entries) */
export interface NeighJson {
  dst: string;
  lladdr?: string;
  state?: string[];
  /** present (null) when the neighbour is a router (NDP's R flag) */
  router?: null;
}

/** rx/tx packet counters of a switch's ports, by interface */
export type PortCounters = Map<string, { rx: number; tx: number }>;

/** One pass of the probe through a namespace: the events from its mark to the next mark. */
export interface Pass {
  packet: PacketInfo;
  events: TraceEvent[];
  layer: 'inner' | 'outer';
}
