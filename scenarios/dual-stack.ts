// The default scenario, dual-stack (`netsim up scenarios/dual-stack.ts`): the same two
// clusters C0 and C1 (3 etcd members, 3 workers each) over two underlay LANs joined by a
// router, the LANs with IPv6 /64s next to their IPv4 /24s, and podCidr6 on both clusters:
// every pod has an IPv4 and an IPv6 address, and IPv6 between workers crosses the routed
// underlay through flannel-v6.1 (VXLAN over the workers' IPv6 addresses). The workloads are
// the default scenario's YAML (scenarios/default/c0.yaml and c1.yaml).
import { settleServices } from '../src/features/k8s/settle.js';
import type { Topology } from '../src/model/builder.js';
import type { Simulation } from '../src/runtime/simulation.js';
import { waitFor } from '../src/util/wait.js';

export const name = 'dualstack';

export default (t: Topology) => {
  t.addressing = { family: 'dual' };
  t.node('lan1', 'switch', { subnet: '192.168.1.0/24', subnet6: 'fd00:1::/64' });
  t.node('lan2', 'switch', { subnet: '192.168.2.0/24', subnet6: 'fd00:2::/64' });
  t.router('r1');
  t.link('r1', 'lan1');
  t.link('r1', 'lan2');
  t.cluster('C0', {
    underlay: ['lan1', 'lan2'],
    workers: 3,
    etcd: 3,
    podCidr: '10.244.0.0/16',
    podCidr6: 'fd00:10:244::/56',
    vni: 1,
    cni: true,
    manifests: ['default/c0.yaml'],
  });
  t.cluster('C1', {
    underlay: ['lan2', 'lan1'],
    workers: 3,
    etcd: 3,
    podCidr: '10.245.0.0/16',
    podCidr6: 'fd00:10:245::/56',
    vni: 1,
    prefix: '/c1/network',
    cni: true,
    manifests: ['default/c1.yaml'],
  });
};

export async function ready(sim: Simulation): Promise<void> {
  await settleServices(sim, 5000);
  const c2 = sim.node('c2');
  await waitFor(async () => (await c2.exec('getent hosts web')).exitCode === 0, {
    timeoutMs: 5000,
    what: 'the cluster DNS to answer web',
  }).catch((err: Error) => process.stderr.write(`warning: ${err.message}\n`));
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
