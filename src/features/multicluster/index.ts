// The multicluster feature (Liqo-style peering, Skupper-style service interconnect): what it
// adds to the layers below it when it is registered.
import type { Simulation } from '../../runtime/simulation.js';
import { installLiqoMethods } from './liqo/cluster-methods.js';
import { PEER_USAGE, peerCommand } from './liqo/verbs.js';
import { installSkupperMethods } from './skupper/cluster-methods.js';

/**
 * Adds the multi-cluster verbs to the Cluster objects (C0.peer, C0.remoteIp, virtual nodes,
 * C0.skupperLink ...). Idempotent; called where the feature is wired in, before any script
 * or REPL line can use a cluster.
 */
export function registerMulticluster(): void {
  installLiqoMethods();
  installSkupperMethods();
}

export interface MulticlusterVerb {
  names: string[];
  usage: string;
  help: string;
  run(args: string[], rest: string): Promise<number>;
}

/** REPL verbs of the feature: `peer add|remove|show|apply`. */
export function multiclusterVerbs(sim: Simulation, io: { out: (text: string) => void }): MulticlusterVerb[] {
  return [
    {
      names: ['peer'],
      usage: PEER_USAGE,
      help: 'Liqo-style peerings: gateways, a VXLAN tunnel, remapped pod CIDRs (apply: hub-and-spoke by default)',
      async run(args) {
        io.out(await peerCommand(sim, args));
        return 0;
      },
    },
  ];
}
