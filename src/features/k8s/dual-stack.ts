// A cluster and its topology's IP families. A dual-stack cluster (podCidr6) needs IPv6 on
// its underlay: a topology that does not say its family becomes dual (src/model/expand.ts, on
// the cluster's request), one that says ipv4 is an error located at podCidr6. Every cluster
// needs IPv4 there: flannel's etcd subnet manager leases an IPv4 subnet to every worker (its
// lease keys start with one), and the agents and etcd talk over IPv4, so an IPv6-only
// topology (family: ipv6) cannot hold a cluster.

/** Problems as [field of the cluster (undefined: the cluster itself), message]. */
export function familyIssues(
  family: 'ipv4' | 'ipv6' | 'dual' | undefined,
  spec: { podCidr6?: string; subnetLen6?: number },
): [string | undefined, string][] {
  if (family === 'ipv6')
    return [
      [
        undefined,
        'addressing.family is ipv6, but a cluster needs IPv4 on its underlay (flannel with etcd leases an IPv4 subnet to every worker; give family: dual and podCidr6 for IPv6 pods)',
      ],
    ];
  if (spec.podCidr6 && family === 'ipv4')
    return [
      [
        'podCidr6',
        'a dual-stack cluster needs IPv6 on its underlay, but addressing.family is ipv4 (set family: dual, or leave it out)',
      ],
    ];
  if (spec.subnetLen6 && !spec.podCidr6)
    return [['subnetLen6', 'subnetLen6 sizes the IPv6 subnets of podCidr6, which is not given']];
  return [];
}
