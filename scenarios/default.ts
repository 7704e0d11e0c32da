// What `netsim up` runs: two Kubernetes-style clusters, C0 and C1, each with a 3-member etcd
// and 3 workers spread over two underlay LANs joined by a router, so pod-to-pod VXLAN between
// workers crosses a routed underlay. Their pods and services are plain Kubernetes YAML:
// scenarios/default/c0.yaml (pods c1..c4, Service web) and c1.yaml (pods c5..c8), applied once
// every worker has its subnet; pods are wired by the real CNI plugins. c1 and c5 serve HTTP on
// port 80.
import { settleServices } from '../src/features/k8s/settle.js';
import type { Topology } from '../src/model/builder.js';
import type { Simulation } from '../src/runtime/simulation.js';
import { waitFor } from '../src/util/wait.js';

export const name = 'default';

export default (t: Topology) => defaultTopology(t);

/**
 * The two clusters over the routed underlay; with `ipv6` dual-stack (scenarios/dual-stack.ts):
 * IPv6 /64s on the LANs next to their /24s and podCidr6 on both clusters.
 */
export function defaultTopology(t: Topology, opts: { ipv6?: boolean } = {}): void {
  if (opts.ipv6) t.addressing = { family: 'dual' };
  t.node('lan1', 'switch', { subnet: '192.168.1.0/24', ...(opts.ipv6 ? { subnet6: 'fd00:1::/64' } : {}) });
  t.node('lan2', 'switch', { subnet: '192.168.2.0/24', ...(opts.ipv6 ? { subnet6: 'fd00:2::/64' } : {}) });
  t.router('r1');
  t.link('r1', 'lan1');
  t.link('r1', 'lan2');
  t.cluster('C0', {
    underlay: ['lan1', 'lan2'],
    workers: 3,
    etcd: 3,
    podCidr: '10.244.0.0/16',
    ...(opts.ipv6 ? { podCidr6: 'fd00:10:244::/56' } : {}),
    vni: 1,
    cni: true,
    manifests: ['default/c0.yaml'],
  });
  t.cluster('C1', {
    underlay: ['lan2', 'lan1'],
    workers: 3,
    etcd: 3,
    podCidr: '10.245.0.0/16',
    ...(opts.ipv6 ? { podCidr6: 'fd00:10:245::/56' } : {}),
    vni: 1,
    prefix: '/c1/network',
    cni: true,
    manifests: ['default/c1.yaml'],
  });
}

/**
 * c0.yaml's Service is made as the clusters come up: the prompt waits until every worker's
 * kube-proxy has it and the cluster DNS answers its name (a few hundred ms at most).
 */
export async function waitWebService(sim: Simulation): Promise<void> {
  await settleServices(sim, 5000);
  const c2 = sim.node('c2');
  await waitFor(async () => (await c2.exec('getent hosts web')).exitCode === 0, {
    timeoutMs: 5000,
    what: 'the cluster DNS to answer web',
  }).catch((err: Error) => process.stderr.write(`warning: ${err.message}\n`));
}

export async function ready(sim: Simulation): Promise<void> {
  await waitWebService(sim);
  const pods = (prefix: string) =>
    [...sim.nodes.values()]
      .filter(
        (n) =>
          n.kind === 'pod' && n.name.startsWith('c') && (n.model.spec.worker as string).startsWith(prefix),
      )
      .map((n) => `${n.name} ${n.ip} on ${n.model.spec.worker}`)
      .join(', ');
  process.stdout.write(
    `\nTwo clusters are up, each with a 3-member etcd and 3 workers (flannel VXLAN, VNI 1, UDP 8472):\n` +
      `  C0 (10.244.0.0/16): ${pods('C0')}\n` +
      `  C1 (10.245.0.0/16): ${pods('C1')}\n` +
      `Try:\n` +
      `  c2 ping -c1 c1                          pod to pod across workers (names become pod IPs)\n` +
      `  c3 curl -s c1                             the HTTP server in c1 (port 80)\n` +
      `  kubectl get pods -o wide --context C0   the pods of scenarios/default/c0.yaml\n` +
      `  cni c1 | cni C0w1                       the CNI ADD that wired c1 | C0w1's conflist\n` +
      `  kubectl apply -f scenarios/default/extra.yaml --context C0     a Deployment + Service\n` +
      `  await C0w1.execContainer('c4', 'ip route')     knetsim's exec_container\n` +
      `  await C0.addPod('w2', 'web2', {labels: {app: 'web'}})\n` +
      `  pods | podping | leases | clusters\n` +
      `  C0e1 etcdctl endpoint health            the real etcd of C0\n` +
      `  C0e1 etcdctl get --prefix /coreos.com/network/subnets\n` +
      `  C0w2 tcpdump -ni eth1 udp port 8472     VXLAN on the underlay (Ctrl-C stops it)\n` +
      `From another shell: netsim exec C0w1/c1 -- sh\n`,
  );
}
