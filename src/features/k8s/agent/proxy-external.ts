// Traffic that enters a worker from outside for a service (its NodePort, its LoadBalancer
// address) and the traffic policies, in kube-proxy's nftables shape:
// - `external-<hash>-<spn>`: where NodePort and LoadBalancer traffic goes. Policy Cluster:
//   masquerade, then the service chain (any endpoint). Policy Local: pods' and this node's own
//   traffic still go cluster-wide (the node's masqueraded); everything else goes to
//   `local-<hash>-<spn>`, unmasqueraded, so the endpoint sees the client's address.
// - `local-<hash>-<spn>`: the endpoints on this worker only (internalTrafficPolicy: Local uses it
//   for the ClusterIP too); none here: dropped, as kube-proxy drops ("has no local endpoints").
// - LoadBalancer addresses are elements of `service-ips` pointing at the external chain.
import type { ServiceObject } from '../services/objects.js';
import { externalChain, localChain } from './chain-names.js';
import { counter, fibLocal, goto, markForMasquerade, match, payload, type Rule, spread } from './nft-expr.js';

export interface PortChains {
  spn: string;
  proto: string;
  port: number;
  nodePort?: number;
  /** the service chain (every endpoint) */
  service: string;
  /** the ClusterIP and LoadBalancer addresses of the table's family */
  vip: string;
  lbIps: string[];
  /** the payload protocol of addresses: ip or ip6 */
  ip: 'ip' | 'ip6';
  /** endpoint chains by endpoint IP, and the affinity rule of each (ClientIP) */
  endpoints: Map<string, { chain: string; affinity?: Rule }>;
  /** endpoint IPs on this worker */
  local: string[];
  /** a rule that marks ClusterIP traffic from outside the pod network for masquerading */
  masqueradeRule: Rule;
}

type Element = (map: string, key: unknown, value?: unknown) => void;

/** The local chain's rules: this worker's endpoints, or a drop. */
function localRules(pc: PortChains): Rule[] {
  if (pc.local.length === 0) return [[counter, { drop: null }]];
  const eps = pc.local.map((ip) => pc.endpoints.get(ip)!);
  return [
    pc.masqueradeRule,
    ...eps.flatMap((e) => (e.affinity ? [e.affinity] : [])),
    ...spread(eps.map((e) => e.chain)),
  ];
}

/**
 * The ClusterIP's target (service or local chain) and, for NodePort and LoadBalancer services,
 * the external chain with its map elements.
 */
export function renderExternal(
  chains: Map<string, Rule[]>,
  svc: ServiceObject,
  pc: PortChains,
  clusterCidr: { addr: string; len: number },
  element: Element,
): void {
  const internalLocal = svc.spec.internalTrafficPolicy === 'Local';
  const externalLocal = svc.spec.type !== 'ClusterIP' && svc.spec.externalTrafficPolicy === 'Local';
  // named only when used (a hash per name: 10,000 services have 10,000 ports)
  const lc = internalLocal || externalLocal ? localChain(pc.spn) : '';
  if (internalLocal || externalLocal) chains.set(lc, localRules(pc));
  element('service-ips', { concat: [pc.vip, pc.proto, pc.port] }, goto(internalLocal ? lc : pc.service));
  const lbIps = pc.lbIps;
  if (!pc.nodePort && lbIps.length === 0) return;
  const ext = externalChain(pc.spn);
  chains.set(
    ext,
    externalLocal
      ? [
          [match(payload(pc.ip, 'saddr'), { prefix: clusterCidr }), goto(pc.service)],
          [fibLocal('saddr'), markForMasquerade],
          [fibLocal('saddr'), goto(pc.service)],
          [goto(lc)],
        ]
      : [[markForMasquerade], [goto(pc.service)]],
  );
  if (pc.nodePort) element('service-nodeports', { concat: [pc.proto, pc.nodePort] }, goto(ext));
  for (const ip of lbIps) element('service-ips', { concat: [ip, pc.proto, pc.port] }, goto(ext));
}

/** A service port without endpoints: its ClusterIP, node port and LoadBalancer addresses refuse. */
export function renderNoEndpoints(
  pc: Pick<PortChains, 'proto' | 'port' | 'nodePort' | 'vip' | 'lbIps'>,
  element: Element,
): void {
  const reject = goto('reject-chain');
  element('no-endpoint-services', { concat: [pc.vip, pc.proto, pc.port] }, reject);
  if (pc.nodePort) element('no-endpoint-nodeports', { concat: [pc.proto, pc.nodePort] }, reject);
  for (const ip of pc.lbIps) element('no-endpoint-services', { concat: [ip, pc.proto, pc.port] }, reject);
}
