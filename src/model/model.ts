// The validated model: what the planner turns into kernel operations. Every name is
// resolved, every interface named and every address allocated.

import type { Cidr } from '../util/ipv4.js';
import type { Cidr6 } from '../util/ipv6.js';
import type { SourceLocator } from './errors.js';
import type { Expectation } from './expectation.js';
import type { LinkSpec } from './spec.js';

export interface Addr {
  ip: number;
  prefix: number;
}

/** An IP family: a topology has IPv4, IPv6 or both (addressing.family). */
export type Family = 4 | 6;

export interface Addr6 {
  ip: bigint;
  prefix: number;
}

export interface IfaceModel {
  node: string;
  name: string;
  link: number;
  peer: { node: string; name: string };
  segment: number;
  addr?: Addr;
  addr6?: Addr6;
  mtu?: number;
}

export interface NodeModel<S = Record<string, unknown>> {
  name: string;
  kind: string;
  /** network namespace: netsim-<sim>-<node> */
  ns: string;
  spec: S;
  ifaces: IfaceModel[];
}

export interface LinkModel {
  index: number;
  ends: [{ node: string; name: string }, { node: string; name: string }];
  spec: LinkSpec;
}

/** An L2 domain: switches joined by links plus the interfaces attached to them, or one p2p link. */
export interface SegmentModel {
  id: number;
  /** {net: 0, prefix: 32} when the topology has no IPv4 */
  subnet: Cidr;
  /** when the topology has IPv6 */
  subnet6?: Cidr6;
  switches: string[];
  ifaces: IfaceModel[];
}

export interface Model {
  name: string;
  source: SourceLocator;
  nodes: Map<string, NodeModel>;
  links: LinkModel[];
  segments: SegmentModel[];
  expect: string[];
  /** the families it carries: [4], [6] or [4, 6] (addressing.family) */
  families: Family[];
  /** the `expect` entries parsed (src/model/expect.ts), checked against the model */
  expectations?: Expectation[];
  /**
   * false: nothing is added that the topology does not give, no address and no default
   * gateway (addressing.automatic: false, as every containerlab import is)
   */
  automatic?: boolean;
  /** each node gets its own /etc/hosts listing the nodes (spec `hosts`; runtime/etc-hosts.ts) */
  hosts?: { prefix?: string };
}

export function namespaceName(sim: string, node: string): string {
  return `netsim-${sim}-${node}`;
}

export function primaryAddr(node: NodeModel): Addr | undefined {
  return node.ifaces.find((i) => i.addr)?.addr;
}

export function primaryAddr6(node: NodeModel): Addr6 | undefined {
  return node.ifaces.find((i) => i.addr6)?.addr6;
}

export function hasFamily(model: Pick<Model, 'families'>, family: Family): boolean {
  return model.families.includes(family);
}
