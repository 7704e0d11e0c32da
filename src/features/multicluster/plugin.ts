// Multi-cluster as a feature (Liqo-style peering, Skupper-style service interconnect): the
// methods it adds to clusters (C0.peer, C0.remoteIp, virtual nodes, C0.skupperLink ...), the
// `peer` verb, and, in a pod or worker of a cluster peered Liqo-style with a pod's cluster,
// that pod's name meaning the address this cluster sees it at (its remapped IP), as in Liqo.
import { groupOf, type Plugin } from '../../runtime/plugin.js';
import { installLiqoMethods } from './liqo/cluster-methods.js';
import { peeringName, peeringsOf, viewOf } from './liqo/peering.js';
import { PEER_USAGE, peerCommand } from './liqo/verbs.js';
import { installSkupperMethods } from './skupper/cluster-methods.js';
import { skupperMetrics } from './skupper/metrics.js';

export const multiclusterPlugin: Plugin = {
  name: 'multicluster',
  install() {
    installLiqoMethods();
    installSkupperMethods();
  },
  verbs: ({ sim, io }) => [
    {
      names: ['peer'],
      usage: PEER_USAGE,
      help: 'Liqo-style peerings: gateways, a VXLAN tunnel, remapped pod CIDRs (apply: hub-and-spoke by default)',
      async run(args) {
        io.out(await peerCommand(sim, args));
        return 0;
      },
    },
  ],
  metrics: skupperMetrics,
  addressFor(sim, from, target) {
    if (target.kind !== 'pod' || !target.ip || (from.kind !== 'pod' && from.kind !== 'worker'))
      return undefined;
    const viewer = groupOf(sim, from.name)?.name;
    const owner = groupOf(sim, target.name)?.name;
    if (!viewer || !owner || viewer === owner || !peeringsOf(sim).has(peeringName(viewer, owner)))
      return undefined;
    return viewOf(sim, viewer, owner, target.ip);
  },
};
