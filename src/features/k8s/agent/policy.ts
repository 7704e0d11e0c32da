// NetworkPolicy for the pods of one worker (what a policy-capable CNI agent does; flannel
// itself has none), in the pod network agent's process. It watches policies, pods and
// namespaces (their labels are what a namespaceSelector matches) in etcd
// and keeps table `ip netsim-policy`: in the forward hook, replies of allowed flows pass;
// a pod selected by an Ingress policy only takes new flows its rules allow, a pod selected by
// an Egress policy only opens those its rules allow; pods no policy selects are not touched.
// On a dual-stack cluster table `ip6 netsim-policy` does the same for the pods' IPv6 addresses
// (an ipBlock applies in the table of its CIDR's family, pod selectors in both).
// Policies are few: every change rebuilds the tables in one transaction.

import { NAMESPACES_PREFIX, type NamespaceObject, namespaceLabels } from '../namespaces.js';
import type { PodObject } from '../registry.js';
import { type Family, familyOf, podIpsOf } from '../services/objects.js';
import type { EtcdHttp } from './etcd-http.js';
import { listPrefix, watchAfter } from './etcd-prefix.js';
import type { KeyValue } from './etcd-wire.js';
import { nftJson } from './kernel.js';
import type { Command } from './proxy-rules.js';

export const POLICY_PREFIX = '/registry/networkpolicies/';
const POD_ROOT = '/registry/pods/';
const TABLE = 'netsim-policy';

export interface LabelSelector {
  matchLabels?: Record<string, string>;
}

export interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface PolicyPort {
  protocol?: 'TCP' | 'UDP';
  port?: number;
}

export interface NetworkPolicyObject {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  metadata: { name: string; namespace: string; creationTimestamp?: string };
  spec: {
    podSelector: LabelSelector;
    policyTypes?: ('Ingress' | 'Egress')[];
    ingress?: { from?: PolicyPeer[]; ports?: PolicyPort[] }[];
    egress?: { to?: PolicyPeer[]; ports?: PolicyPort[] }[];
  };
}

/** An empty selector selects everything (Kubernetes' rule for podSelector: {}). */
const matches = (sel: LabelSelector | undefined, labels: Record<string, string>) =>
  Object.entries(sel?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);

/** Namespace name -> its labels (kubernetes.io/metadata.name included). */
export type NamespaceLabels = ReadonlyMap<string, Record<string, string>>;

/** A namespace's labels; one etcd does not have (yet) still carries its name label. */
const nsLabels = (namespaces: NamespaceLabels, ns: string) => namespaces.get(ns) ?? namespaceLabels(ns);

/** Namespace labels by name, from Namespace objects. */
export function labelsByNamespace(objects: Iterable<NamespaceObject>): NamespaceLabels {
  return new Map(
    [...objects].map((n) => [n.metadata.name, namespaceLabels(n.metadata.name, n.metadata.labels)]),
  );
}

export function policyTypes(p: NetworkPolicyObject): ('Ingress' | 'Egress')[] {
  return p.spec.policyTypes ?? (p.spec.egress ? ['Ingress', 'Egress'] : ['Ingress']);
}

type Expr = Record<string, unknown>;
const nftFamily = (family: Family) => (family === 6 ? 'ip6' : 'ip');
/** a pod's address of one family, if it has one */
const podIpOf = (p: PodObject, family: Family) => podIpsOf(p).find((ip) => familyOf(ip) === family);
const prefixOf = (cidr: string) => {
  const [a, l] = cidr.split('/');
  return l ? { prefix: { addr: a, len: Number(l) } } : a;
};

/** The addresses a peer stands for: pod IPs, or a CIDR with exceptions. */
function peerMatches(
  peer: PolicyPeer,
  policyNs: string,
  pods: PodObject[],
  field: 'saddr' | 'daddr',
  namespaces: NamespaceLabels,
  family: Family,
): Expr[][] {
  const addr = (f: 'saddr' | 'daddr') => ({ payload: { protocol: nftFamily(family), field: f } });
  if (peer.ipBlock) {
    // a CIDR of the other family matches nothing in this table
    if (familyOf(peer.ipBlock.cidr) !== family) return [];
    const m: Expr[] = [{ match: { op: '==', left: addr(field), right: prefixOf(peer.ipBlock.cidr) } }];
    for (const e of peer.ipBlock.except ?? [])
      m.push({ match: { op: '!=', left: addr(field), right: prefixOf(e) } });
    return [m];
  }
  const ips = pods
    .filter((p) => {
      const ns = p.metadata.namespace;
      const nsOk = peer.namespaceSelector
        ? matches(peer.namespaceSelector, nsLabels(namespaces, ns))
        : ns === policyNs;
      const podOk = peer.podSelector ? matches(peer.podSelector, p.metadata.labels) : true;
      return nsOk && podOk;
    })
    .map((p) => podIpOf(p, family))
    .filter((ip) => ip !== undefined);
  if (ips.length === 0) return []; // selects nobody: allows nothing
  return [[{ match: { op: '==', left: addr(field), right: { set: ips } } }]];
}

function portMatches(ports: PolicyPort[] | undefined): Expr[][] {
  if (!ports?.length) return [[]];
  return ports.map((p) => {
    const proto = (p.protocol ?? 'TCP').toLowerCase();
    const m: Expr[] = [{ match: { op: '==', left: { meta: { key: 'l4proto' } }, right: proto } }];
    if (p.port)
      m.push({ match: { op: '==', left: { payload: { protocol: 'th', field: 'dport' } }, right: p.port } });
    return m;
  });
}

/**
 * The whole table of `family` (ip or ip6 netsim-policy) for the pods of `node`, given every
 * pod, policy and namespace of the cluster.
 */
export function renderPolicies(
  node: string,
  pods: PodObject[],
  policies: NetworkPolicyObject[],
  namespaces: NamespaceLabels = new Map(),
  family: Family = 4,
): Command[] {
  const tbl = { family: nftFamily(family), table: TABLE };
  const table = { family: nftFamily(family), name: TABLE };
  const addr = (field: 'saddr' | 'daddr') => ({ payload: { protocol: nftFamily(family), field } });
  const cmds: Command[] = [
    { add: { table } },
    { delete: { table } },
    { add: { table } },
    {
      add: { chain: { ...tbl, name: 'forward', type: 'filter', hook: 'forward', prio: 0, policy: 'accept' } },
    },
  ];
  const rule = (chain: string, expr: Expr[]) => cmds.push({ add: { rule: { ...tbl, chain, expr } } });
  rule('forward', [
    { match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } },
    { accept: null },
  ]);
  const live = pods.filter(
    (p) => p.status.podIP && !(p.metadata as { deletionTimestamp?: string }).deletionTimestamp,
  );
  const local = live.filter((p) => p.spec.nodeName === node && p.status.phase === 'Running');
  const dispatch: Expr[][] = [];
  for (const pod of local) {
    const podIp = podIpOf(pod, family);
    if (!podIp) continue; // no address of this family: nothing to guard in this table
    for (const dir of ['Egress', 'Ingress'] as const) {
      const selecting = policies.filter(
        (pol) =>
          pol.metadata.namespace === pod.metadata.namespace &&
          policyTypes(pol).includes(dir) &&
          matches(pol.spec.podSelector, pod.metadata.labels),
      );
      if (selecting.length === 0) continue;
      const chain = `${dir.toLowerCase()}-${pod.metadata.namespace}/${pod.metadata.name}`;
      cmds.push({ add: { chain: { ...tbl, name: chain } } });
      const peerField = dir === 'Ingress' ? 'saddr' : 'daddr';
      for (const pol of selecting) {
        const rules = dir === 'Ingress' ? (pol.spec.ingress ?? []) : (pol.spec.egress ?? []);
        for (const r of rules) {
          const peers =
            (dir === 'Ingress' ? (r as { from?: PolicyPeer[] }).from : (r as { to?: PolicyPeer[] }).to) ?? [];
          const peerSets = peers.length
            ? peers.flatMap((p) =>
                peerMatches(p, pol.metadata.namespace, live, peerField, namespaces, family),
              )
            : [[]];
          for (const pm of peerSets)
            for (const portm of portMatches(r.ports)) rule(chain, [...pm, ...portm, { return: null }]);
        }
      }
      rule(chain, [{ counter: { packets: 0, bytes: 0 } }, { drop: null }]);
      const own = dir === 'Ingress' ? 'daddr' : 'saddr';
      dispatch.push([{ match: { op: '==', left: addr(own), right: podIp } }, { jump: { target: chain } }]);
    }
  }
  // egress checks first (they come before the traffic reaches its destination's rules)
  for (const d of dispatch) rule('forward', d);
  return cmds;
}

export class PolicyAgent {
  private readonly pods = new Map<string, PodObject>();
  private readonly policies = new Map<string, NetworkPolicyObject>();
  private readonly namespaces = new Map<string, NamespaceObject>();
  private pending?: Promise<void>;
  private last = '';

  constructor(
    private readonly etcd: EtcdHttp,
    private readonly node: string,
    private readonly log: (m: string) => void,
    /** the tables kept: ip, and ip6 on a dual-stack cluster */
    private readonly families: Family[] = [4],
  ) {}

  private take(into: Map<string, unknown>, kv: KeyValue): void {
    try {
      into.set(kv.key.toString(), JSON.parse(kv.value.toString()));
    } catch {
      /* not JSON */
    }
  }

  async start(): Promise<void> {
    for (const [prefix, into] of [
      [POD_ROOT, this.pods],
      [POLICY_PREFIX, this.policies],
      [NAMESPACES_PREFIX, this.namespaces],
    ] as const) {
      const res = await listPrefix(this.etcd, prefix);
      for (const kv of res.kvs) this.take(into as Map<string, unknown>, kv);
      await watchAfter(this.etcd, prefix, res.revision, {
        put: (kv) => {
          this.take(into as Map<string, unknown>, kv);
          this.schedule();
        },
        delete: (kv) => {
          into.delete(kv.key.toString());
          this.schedule();
        },
        error: (e) => this.log(`policy watch: ${e.message}`),
      });
    }
    this.schedule();
  }

  private schedule(): void {
    this.pending ??= new Promise<void>((r) => setTimeout(r, 5)).then(() => this.apply());
  }

  private async apply(): Promise<void> {
    this.pending = undefined;
    const cmds = this.families.flatMap((family) =>
      renderPolicies(
        this.node,
        [...this.pods.values()],
        [...this.policies.values()],
        labelsByNamespace(this.namespaces.values()),
        family,
      ),
    );
    const text = JSON.stringify(cmds);
    if (text === this.last) return;
    try {
      await nftJson(cmds);
      this.last = text;
      this.log(
        `network policy: ${this.policies.size} policies, table${this.families.length > 1 ? 's ip and ip6' : ''} ${TABLE} rebuilt`,
      );
    } catch (err) {
      this.log(`network policy: ${(err as Error).message}`);
    }
  }
}
