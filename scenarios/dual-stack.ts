// The default scenario, dual-stack (`netsim up scenarios/dual-stack.ts`): the same two
// clusters C0 and C1 (3 etcd members, 3 workers each) over two underlay LANs joined by a
// router, the LANs with IPv6 /64s next to their IPv4 /24s, and podCidr6 on both clusters:
// every pod has an IPv4 and an IPv6 address, and IPv6 between workers crosses the routed
// underlay through flannel-v6.1 (VXLAN over the workers' IPv6 addresses). The workloads are
// the default scenario's YAML (scenarios/default/c0.yaml and c1.yaml).
import type { Topology } from '../src/model/builder.js';
import type { Simulation } from '../src/runtime/simulation.js';
import { defaultTopology, waitWebService } from './default.js';

export const name = 'dualstack';

export default (t: Topology) => defaultTopology(t, { ipv6: true });

export async function ready(sim: Simulation): Promise<void> {
  await waitWebService(sim);
  const pods = (prefix: string) =>
    [...sim.nodes.values()]
      .filter((n) => n.kind === 'pod' && (n.model.spec.worker as string).startsWith(prefix))
      .map((n) => `${n.name} ${n.ip} ${n.ip6 ?? ''} on ${n.model.spec.worker}`)
      .join('\n    ');
  process.stdout.write(
    `\nTwo dual-stack clusters are up (flannel VXLAN, VNI 1: flannel.1 over IPv4, flannel-v6.1 over IPv6):\n` +
      `  C0 (10.244.0.0/16, fd00:10:244::/56):\n    ${pods('C0')}\n` +
      `  C1 (10.245.0.0/16, fd00:10:245::/56):\n    ${pods('C1')}\n` +
      `Try:\n` +
      `  c2 ping -6 -c1 c1                       pod to pod over IPv6 across workers\n` +
      `  c2 ping -c1 c1                          the same over IPv4\n` +
      `  leases C0                               flannel's dual-stack leases (10.244.x.0-24&fd00:10:244:x::-64)\n` +
      `  C0w1 ip -6 route show dev flannel-v6.1  a route per remote worker, via its VTEP, onlink\n` +
      `  C0w1 cat /proc/net/if_inet6 | grep flannel\n` +
      `  r1 tcpdump -ni eth1 ip6 and udp port 8472   VXLAN inside IPv6 on the underlay (Ctrl-C stops it)\n`,
  );
}
