// A worker of a cluster: a host on the underlay with the pod network agent and a cni0
// bridge for its pods. Its pods (listed in the cluster's `pods`) are made once it has a lease.
import { z } from 'zod';
import type { NodeKind } from '../../../model/kinds/kind.js';
import { planL3 } from '../../../model/kinds/l3.js';
import { commonNodeFields } from '../../../model/spec.js';
import { checkLbPool } from '../lb-pool.js';
import { checkTopologyManifests } from '../manifests/topology.js';
import { type ClusterConfig, memberFields } from '../spec.js';

export const workerKind: NodeKind = {
  name: 'worker',
  description: 'cluster worker: flannel-compatible VXLAN agent, cni0 bridge, pods',
  bridging: false,
  pingable: true,
  forwards: false,
  schema: z.strictObject({ ...commonNodeFields, kind: z.literal('worker'), ...memberFields }),
  // the cluster's manifests (`manifests:`) and LoadBalancer pool, checked once, on its first worker
  validate(node, model, issues) {
    checkTopologyManifests(node, model, issues);
    checkLbPool(node, model, issues);
  },
  plan(node, model, plan) {
    planL3(node, model, plan, { autoGateway: true });
    const s = plan.script(node.ns).sysctls;
    // pods' traffic is routed between cni0 and flannel.<VNI>
    s['net.ipv4.ip_forward'] = '1';
    // kube-proxy refuses connections to services without endpoints with ICMP; the default
    // limit of one per second per peer would turn some refusals into timeouts
    s['net.ipv4.icmp_ratelimit'] = '0';
    // ClusterIPs route back out of cni0: a redirect would tell the pod the VIP is on its link
    s['net.ipv4.conf.all.send_redirects'] = '0';
    s['net.ipv4.conf.default.send_redirects'] = '0';
    // dual stack: pods' IPv6 is routed between cni0 and flannel-v6.<VNI> the same way
    if ((node.spec.clusterConfig as ClusterConfig | undefined)?.podCidr6) {
      s['net.ipv6.conf.all.forwarding'] = '1';
    }
  },
};
