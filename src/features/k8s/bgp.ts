// Workers that announce their pod subnet over BGP (a cluster with `bgp: {asn}`), the way
// Calico's BGP mode does: zebra and bgpd in the worker's namespace, an eBGP session to each
// router of its underlay that lists the cluster among its neighbours, `network <subnet>` for
// the flannel lease. Pods of other clusters are then reached by plain routing, not VXLAN;
// within the cluster flannel's own routes (kernel routes, which zebra prefers) still win.
import { join } from 'node:path';
import type { Model, NodeModel } from '../../model/model.js';
import { formatIp } from '../../util/ipv4.js';
import { FrrInstance } from '../frr/instance.js';
import type { FrrSetup } from '../frr/setup.js';
import type { ClusterConfig } from './spec.js';
import type { WorkerNode } from './worker.js';

/** Routers sharing a subnet with the worker that list its cluster as a BGP neighbour. */
export function bgpPeersOf(worker: NodeModel, model: Model): { router: string; addr: string; asn: number }[] {
  const cluster = (worker.spec as { cluster: string }).cluster;
  const out: { router: string; addr: string; asn: number }[] = [];
  for (const r of model.nodes.values()) {
    const bgp = (r.spec as { bgp?: { asn: number; neighbors?: (string | { peer: string })[] } }).bgp;
    if (r.kind !== 'router' || !bgp) continue;
    if (!(bgp.neighbors ?? []).some((n) => (typeof n === 'string' ? n : n.peer) === cluster)) continue;
    for (const mine of worker.ifaces) {
      const theirs = r.ifaces.find((i) => i.segment === mine.segment && i.addr);
      if (theirs?.addr && mine.addr)
        out.push({ router: r.name, addr: formatIp(theirs.addr.ip), asn: bgp.asn });
    }
  }
  return out;
}

export function workerFrrConfig(
  worker: NodeModel,
  cfg: ClusterConfig,
  subnet: string,
  peers: { addr: string; asn: number }[],
): string {
  const id = worker.ifaces.find((i) => i.addr)?.addr;
  const lines = [
    'frr defaults traditional',
    `hostname ${worker.name}`,
    '!',
    `router bgp ${cfg.bgp!.asn}`,
    ...(id ? [` bgp router-id ${formatIp(id.ip)}`] : []),
    ' no bgp ebgp-requires-policy',
    ' timers bgp 1 3',
    ...peers.flatMap((p) => [
      ` neighbor ${p.addr} remote-as ${p.asn}`,
      ` neighbor ${p.addr} timers connect 1`,
    ]),
    ' !',
    ' address-family ipv4 unicast',
    `  network ${subnet}`,
    ' exit-address-family',
    '!',
  ];
  return `${lines.join('\n')}\n`;
}

/** Starts the worker's zebra and bgpd once its lease is known (kind.start). */
export async function startWorkerBgp(w: WorkerNode, model: Model, subnet: string): Promise<FrrInstance> {
  const peers = bgpPeersOf(w.model, model);
  const setup: FrrSetup = {
    config: workerFrrConfig(w.model, w.config, subnet, peers),
    daemons: {
      runs: [
        { daemon: 'zebra', options: [] },
        { daemon: 'bgpd', options: [] },
      ],
    },
  };
  const frr = new FrrInstance(
    w.sim.kernel,
    w.name,
    w.ns,
    join(w.dir, 'frr'),
    `${w.sim.name}-${w.name}`,
    setup,
  );
  frr.prepare();
  await frr.start();
  return frr;
}
