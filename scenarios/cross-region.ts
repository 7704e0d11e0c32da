// Two regions, each a Kubernetes-style cluster behind its own BGP router, and a transit
// router. The workers announce their pod subnets over BGP (like Calico's BGP mode) to their
// region's router, so a pod in region A reaches a pod in region B by plain routing: pod ->
// worker -> rA -> rB -> worker -> pod, no tunnel between the regions. Cut the direct link and
// BGP moves the traffic through the transit AS:   link rA rB down   then   a1 ping b1
import type { Topology } from '../src/model/builder.js';
import type { Simulation } from '../src/runtime/simulation.js';

export const name = 'xregion';

const web = (pod: string) =>
  `socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo HTTP/1.0 200 OK; echo; echo hello from ${pod}; sleep 0.05'`;

/** A region: its router, a LAN, and a cluster whose workers announce their pod subnets. */
function region(
  t: Topology,
  r: { router: string; asn: number; peers: string[]; lan: string; subnet: string },
  c: { name: string; podCidr: string; asn: number; prefix?: string; pods: [string, string] },
): void {
  // connected subnets too, so the underlays (etcd, workers) reach each other: `netsim check`
  t.router(r.router, { bgp: { asn: r.asn, neighbors: [...r.peers, c.name], redistribute: ['connected'] } });
  t.switch(r.lan, { subnet: r.subnet });
  t.link(r.router, r.lan);
  t.cluster(c.name, {
    underlay: r.lan,
    workers: 2,
    etcd: 1,
    podCidr: c.podCidr,
    ...(c.prefix ? { prefix: c.prefix } : {}),
    bgp: { asn: c.asn },
    pods: { [c.pods[0]]: { worker: 'w1', command: web(c.pods[0]) }, [c.pods[1]]: { worker: 'w2' } },
  });
}

export default (t: Topology) => {
  // region A: AS 65001, pods 10.244.0.0/16 announced from AS 64512
  region(
    t,
    { router: 'rA', asn: 65001, peers: ['rB', 'rT'], lan: 'lanA', subnet: '192.168.10.0/24' },
    { name: 'C0', podCidr: '10.244.0.0/16', asn: 64512, pods: ['a1', 'a2'] },
  );
  // region B: AS 65002, pods 10.245.0.0/16 announced from AS 64513
  region(
    t,
    { router: 'rB', asn: 65002, peers: ['rA', 'rT'], lan: 'lanB', subnet: '192.168.20.0/24' },
    { name: 'C1', podCidr: '10.245.0.0/16', asn: 64513, prefix: '/c1/network', pods: ['b1', 'b2'] },
  );
  // the inter-region links: direct (shortest AS path) and through the transit AS 65003
  t.router('rT', { bgp: { asn: 65003, neighbors: ['rA', 'rB'], redistribute: ['connected'] } });
  t.link('rA', 'rB');
  t.link('rA', 'rT');
  t.link('rT', 'rB');
};

export async function ready(sim: Simulation): Promise<void> {
  const ip = (n: string) => sim.node(n).ip;
  // the workers' sessions come up a few seconds after their agents have leases
  const conv = await sim.waitConverged({ timeout: 60000 });
  // Established sessions send their first updates after BGP's coalescing time
  const b1net = `${ip('b1')!.split('.').slice(0, 3).join('.')}.0/24`;
  for (let i = 0; i < 50; i++) {
    if ((await sim.node('rA').exec(`ip route show ${b1net}`)).stdout.trim()) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  process.stdout.write(
    `\nBGP converged ${(conv.ms / 1000).toFixed(1)} s after up: ${conv.bgpSessions} session ends Established\n`,
  );
  process.stdout.write(
    `\nRegion A (C0, pods 10.244/16): a1 ${ip('a1')}, a2 ${ip('a2')}; region B (C1, pods 10.245/16): b1 ${ip('b1')}, b2 ${ip('b2')}\n` +
      '  try:  a1 ping -c2 b1      rA vtysh -c "show ip bgp"      C1w1 vtysh -c "show bgp summary"\n' +
      `        link rA rB down     a1 ping -c2 b1      rA ip route get ${ip('b1')}\n`,
  );
}
