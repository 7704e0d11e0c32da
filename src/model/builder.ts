// The TypeScript way into a topology: scenarios call these methods, which produce the same
// spec a YAML file does (validated the same way) and remember each call site for errors.
import { type Issue, TopologyError } from './errors.js';
import { CallSiteSource, callerSite, LazySite } from './source.js';
import type { LinkSpec, RouteSpec, TopologySpec } from './spec.js';

export interface CommonOpts {
  labels?: Record<string, string>;
  sysctls?: Record<string, string | number>;
  exec?: string[];
}
export interface HostOpts extends CommonOpts {
  ip?: string;
  gateway?: string;
  routes?: RouteSpec[];
}
export interface SwitchOpts extends CommonOpts {
  subnet?: string;
  stp?: boolean;
}
export interface RouterOpts extends CommonOpts {
  ip?: string;
  routes?: RouteSpec[];
  [field: string]: unknown;
}
export type LinkOpts = Omit<LinkSpec, 'endpoints'>;
export interface PodOpts {
  /** "w1" (within the cluster) or the full worker name "C0w1" */
  worker: string;
  labels?: Record<string, string>;
  /** a long-running command in the pod, e.g. a small HTTP server */
  command?: string;
  /** container ports; a hostPort is published on the worker's address by portmap (not with cni: false) */
  ports?: { containerPort: number; hostPort?: number; protocol?: 'TCP' | 'UDP' }[];
  /** kubernetes.io/ingress-bandwidth / egress-bandwidth: "5M" (bit/s) shapes the pod (bandwidth plugin) */
  annotations?: Record<string, string>;
}
export interface ClusterOpts extends CommonOpts {
  /** the switch(es) or router(s) workers and etcd members attach to, round robin */
  underlay: string | string[];
  workers?: number;
  etcd?: number;
  podCidr?: string;
  subnetLen?: number;
  /** the IPv6 pod network: a dual-stack cluster (flannel-v6.<VNI>), e.g. fd00:10:244::/56 */
  podCidr6?: string;
  /** each worker's IPv6 subnet length (flannel's IPv6SubnetLen, default 64) */
  subnetLen6?: number;
  vni?: number;
  /** flannel's etcd prefix (default /coreos.com/network) */
  prefix?: string;
  /** subnet lease TTL and renewal margin, seconds (flannel: 86400, 3600) */
  leaseTtl?: number;
  leaseRenewMargin?: number;
  pods?: Record<string, PodOpts>;
  /** where ClusterIPs come from (default 10.96.0.0/12) */
  serviceCidr?: string;
  /** services made with the cluster: `{web: {selector: {app: 'web'}, ports: [{port: 80, targetPort: 8000}]}}` */
  services?: Record<string, Record<string, unknown>>;
  /** cluster DNS (default true) */
  dns?: boolean;
  /** the nginx ingress controller: true with the cluster, false never; absent: with the first Ingress */
  ingress?: boolean;
  /** workers announce their pod subnets over BGP from this AS (routers list the cluster as a neighbour) */
  bgp?: { asn: number };
  /**
   * pods wired by the reference CNI plugins (flannel's conflist: bridge + host-local, portmap,
   * bandwidth; the default); false: netsim's faster direct path
   */
  cni?: boolean;
  /**
   * Kubernetes manifest files or directories applied once every worker has its subnet; relative
   * paths are resolved from the scenario file's directory (checked with the topology, errors
   * located in the files)
   */
  manifests?: string[];
}

export class Topology {
  private readonly nodes: Record<string, Record<string, unknown>> = {};
  private readonly links: LinkSpec[] = [];
  private readonly early: Issue[] = [];
  private readonly expectations: string[] = [];
  addressing?: TopologySpec['addressing'];
  readonly source: CallSiteSource;

  constructor(
    public name: string,
    file = 'scenario',
  ) {
    this.source = new CallSiteSource(file);
    this.source.topSite = callerSite();
  }

  /** Any kind, with its own fields (the kinds registry validates them). */
  node(name: string, kind: string, fields: Record<string, unknown> = {}): string {
    const site = new LazySite();
    if (Object.hasOwn(this.nodes, name)) {
      this.early.push({ path: ['nodes', name], message: `duplicate node name "${name}"`, pos: site.site() });
      return name;
    }
    this.source.nodeSites.set(name, site);
    this.nodes[name] = { ...fields, kind };
    return name;
  }

  host(name: string, opts: HostOpts = {}): string {
    return this.node(name, 'host', { ...opts });
  }

  switch(name: string, opts: SwitchOpts = {}): string {
    return this.node(name, 'switch', { ...opts });
  }

  router(name: string, opts: RouterOpts = {}): string {
    return this.node(name, 'router', { ...opts });
  }

  /** A Kubernetes-style cluster: etcd members <name>e1.., workers <name>w1.. on the underlay. */
  cluster(name: string, opts: ClusterOpts): string {
    return this.node(name, 'cluster', { ...opts });
  }

  /** `a` and `b` are node names, optionally with an interface: "r1:eth2". */
  link(a: string, b: string, opts: LinkOpts = {}): this {
    this.source.linkSites[this.links.length] = new LazySite();
    this.links.push({ endpoints: [a, b], ...opts });
    return this;
  }

  expect(...lines: string[]): this {
    const site = callerSite();
    // only a call in the scenario file itself locates its entries (else the file is named)
    if (site && site.file === this.source.file)
      for (let i = 0; i < lines.length; i++) this.source.expectSites[this.expectations.length + i] = site;
    this.expectations.push(...lines);
    return this;
  }

  toSpec(): TopologySpec {
    if (this.early.length) throw new TopologyError(this.early);
    const spec: TopologySpec = { name: this.name, nodes: this.nodes, links: this.links };
    if (this.addressing) spec.addressing = this.addressing;
    if (this.expectations.length) spec.expect = this.expectations;
    return spec;
  }
}
