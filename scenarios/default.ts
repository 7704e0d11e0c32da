// What `netsim up` runs: two Kubernetes-style clusters, C0 and C1, each with a 3-member etcd
// and 3 workers spread over two underlay LANs joined by a router, so pod-to-pod VXLAN between
// workers crosses a routed underlay. Pods c1..c4 (C0) and c5..c8 (C1) are spread over the
// workers; c1 and c5 serve HTTP on port 80.
import type { Topology } from '../src/model/builder.js';
import type { Simulation } from '../src/runtime/simulation.js';

export const name = 'default';

// The shell lingers after its answer: socat may exit on its child's exit before relaying the
// child's last output, and under load about 1 fetch in 50 then got an empty answer.
const httpServer = (pod: string) =>
  `socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo HTTP/1.0 200 OK; echo; echo hello from ${pod}; sleep 0.05'`;

export default (t: Topology) => {
  t.switch('lan1', { subnet: '192.168.1.0/24' });
  t.switch('lan2', { subnet: '192.168.2.0/24' });
  t.router('r1');
  t.link('r1', 'lan1');
  t.link('r1', 'lan2');
  t.cluster('C0', {
    underlay: ['lan1', 'lan2'],
    workers: 3,
    etcd: 3,
    podCidr: '10.244.0.0/16',
    vni: 1,
    pods: {
      c1: { worker: 'w1', labels: { app: 'web' }, command: httpServer('c1') },
      c2: { worker: 'w2', labels: { app: 'client' } },
      c3: { worker: 'w3', labels: { app: 'client' } },
      c4: { worker: 'w1', labels: { app: 'client' } },
    },
  });
  t.cluster('C1', {
    underlay: ['lan2', 'lan1'],
    workers: 3,
    etcd: 3,
    podCidr: '10.245.0.0/16',
    vni: 1,
    prefix: '/c1/network',
    pods: {
      c5: { worker: 'w1', labels: { app: 'web' }, command: httpServer('c5') },
      c6: { worker: 'w2', labels: { app: 'client' } },
      c7: { worker: 'w3', labels: { app: 'client' } },
      c8: { worker: 'w2', labels: { app: 'client' } },
    },
  });
};

export function ready(sim: Simulation): void {
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
      `  await C0w1.execContainer('c4', 'ip route')     knetsim's exec_container\n` +
      `  await C0.addPod('w2', 'web2', {labels: {app: 'web'}})\n` +
      `  pods | podping | leases | clusters\n` +
      `  C0e1 etcdctl endpoint health            the real etcd of C0\n` +
      `  C0e1 etcdctl get --prefix /coreos.com/network/subnets\n` +
      `  C0w2 tcpdump -ni eth1 udp port 8472     VXLAN on the underlay (Ctrl-C stops it)\n` +
      `From another shell: netsim exec C0w1/c1 -- sh\n`,
  );
}
