// The typed `expect:` entries of a topology (parsed by expect.ts): what `netsim verify`
// checks against a running simulation.

export type Reachability = 'reachable' | 'blocked' | 'unreachable';

interface Base {
  /** the entry as written */
  text: string;
  /** its index in `expect` */
  index: number;
}

export interface ReachExpectation extends Base {
  kind: 'reach';
  src: string;
  dst: string;
  port?: number;
  want: Reachability;
}

export interface OspfExpectation extends Base {
  /** ospf: OSPFv2 (ospfd); ospf6: OSPFv3 (ospf6d) */
  kind: 'ospf' | 'ospf6';
  router: string;
  /** OSPF neighbours in state Full (2-Way between DROthers counts too) */
  neighbors: number;
}

export interface BgpExpectation extends Base {
  kind: 'bgp';
  router: string;
  /** sessions Established: exactly this many, or (undefined) all configured and at least one */
  established?: number;
}

export type Expectation = ReachExpectation | OspfExpectation | BgpExpectation;
