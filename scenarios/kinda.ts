// Kinda-style: a tree of FRR routers (OSPF) with one Kubernetes worker at each leaf, so pod
// traffic between workers (flannel VXLAN, UDP 8472) is routed across the tree:
// pod -> w1 -> leaf1 -> root -> leaf2 -> w2 -> pod.   Try:  p1 ping -c2 p3   root ip route
import type { Topology } from '../src/model/builder.js';
import type { Simulation } from '../src/runtime/simulation.js';

export const name = 'kinda';

export default (t: Topology) => {
  t.router('root', { ospf: { area: 0 } });
  for (const leaf of ['leaf1', 'leaf2', 'leaf3']) {
    t.router(leaf, { ospf: { area: 0 } });
    t.link('root', leaf);
  }
  // workers and the etcd member attach to the leaves in turn: w1 leaf1, w2 leaf2, w3 leaf3
  t.cluster('C0', {
    underlay: ['leaf1', 'leaf2', 'leaf3'],
    workers: 3,
    etcd: 1,
    podCidr: '10.244.0.0/16',
    pods: {
      p1: { worker: 'w1', command: "socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo hello from p1'" },
      p2: { worker: 'w2' },
      p3: { worker: 'w3' },
    },
  });
};

export function ready(sim: Simulation): void {
  const ip = (n: string) => sim.node(n).ip;
  process.stdout.write(
    `\nA router tree (root, leaf1..3, OSPF) with worker C0wN under leafN: p1 ${ip('p1')}, p2 ${ip('p2')}, p3 ${ip('p3')}\n` +
      '  try:  p1 ping -c2 p3     leaf1 vtysh -c "show ip ospf neighbor"     C0w1 ip route\n',
  );
}
