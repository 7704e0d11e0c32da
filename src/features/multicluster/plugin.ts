// Multi-cluster as a feature: in a pod or worker of a cluster peered Liqo-style with a pod's
// cluster, that pod's name means the address this cluster sees it at (its remapped IP), as in
// Liqo; the Skupper-style and Liqo-style methods of clusters.
import { groupOf, type Plugin } from '../../runtime/plugin.js';
import { peeringName, peeringsOf, viewOf } from './liqo/peering.js';

export const multiclusterPlugin: Plugin = {
  name: 'multicluster',
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
