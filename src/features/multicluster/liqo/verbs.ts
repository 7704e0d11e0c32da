// `peer add|remove|show|apply`: the REPL verb and `netsim peer ...` from another shell (through
// the simulation's control socket), acting on the live clusters.
//
//   peer add C0 C1            peer two clusters (gateways, tunnel, remapped CIDRs)
//   peer remove C0 C1
//   peer show                 every peering: gateways, tunnel, who sees whom where
//   peer apply [C0:C1,C0:C2]  make the peerings exactly this list; default hub-and-spoke from
//                             the first cluster, like Scaled-Network's peering list
import { existsSync } from 'node:fs';
import { controlRequest, controlSocket } from '../../../runtime/control.js';
import type { Simulation } from '../../../runtime/simulation.js';
import { pickRunning } from '../../../runtime/state.js';
import { type Cluster, clustersOf } from '../../k8s/cluster.js';
import { hubAndSpoke, type Peering, peer, peeringName, peeringsOf, unpeer } from './peering.js';

export const PEER_USAGE = 'peer add A B | peer remove A B | peer show | peer apply [A:B,A:C]';

function clusters(sim: Simulation): Cluster[] {
  return clustersOf(sim);
}

function cluster(sim: Simulation, name: string | undefined): Cluster {
  const c = clusters(sim).find((x) => x.name === name);
  if (!c)
    throw new Error(
      `no cluster "${name ?? ''}" (clusters: ${
        clusters(sim)
          .map((x) => x.name)
          .join(', ') || 'none'
      })`,
    );
  return c;
}

export function formatPeering(p: Peering): string {
  const [a, b] = p.sides;
  return (
    `${a.cluster} <-> ${b.cluster}: VXLAN VNI ${p.vni} UDP 4790 between gateways ${a.gateway} ${a.gatewayIp} and ${b.gateway} ${b.gatewayIp}\n` +
    `  ${a.cluster} sees ${b.cluster}'s pods ${b.podCidr} as ${a.remoteAs}; ${b.cluster} sees ${a.cluster}'s pods ${a.podCidr} as ${b.remoteAs}\n`
  );
}

/** Runs one `peer` command in the simulation's process; returns what to print. */
export async function peerCommand(sim: Simulation, args: string[]): Promise<string> {
  const [verb, ...rest] = args;
  switch (verb) {
    case 'add': {
      const p = await peer(cluster(sim, rest[0]), cluster(sim, rest[1]));
      return formatPeering(p);
    }
    case 'remove':
    case 'rm':
      await unpeer(cluster(sim, rest[0]), cluster(sim, rest[1]));
      return `removed the peering ${rest[0]} <-> ${rest[1]}\n`;
    case undefined:
    case 'show':
    case 'ls': {
      const all = [...peeringsOf(sim).values()];
      return all.length ? all.map(formatPeering).join('') : 'no peerings\n';
    }
    case 'apply': {
      const wanted = rest.length
        ? rest
            .join(',')
            .split(',')
            .filter(Boolean)
            .map((x) => {
              const m = /^([^:\s]+):([^:\s]+)$/.exec(x.trim());
              if (!m) throw new Error(`peer apply: "${x}" is not A:B`);
              return [m[1], m[2]] as [string, string];
            })
        : hubAndSpoke(clusters(sim).map((c) => c.name));
      const keep = new Set(wanted.map(([a, b]) => peeringName(a, b)));
      let out = '';
      for (const p of [...peeringsOf(sim).values()])
        if (!keep.has(p.name)) {
          await unpeer(cluster(sim, p.sides[0].cluster), cluster(sim, p.sides[1].cluster));
          out += `removed ${p.name}\n`;
        }
      for (const [a, b] of wanted) out += formatPeering(await peer(cluster(sim, a), cluster(sim, b)));
      return out || 'no peerings\n';
    }
    default:
      throw new Error(`usage: ${PEER_USAGE}`);
  }
}

/** `netsim peer ...` from any shell: the running simulation's process does it. */
export async function cmdPeer(args: string[], opts: { sim?: string }): Promise<void> {
  const state = pickRunning(opts.sim);
  if (!existsSync(controlSocket(state.name)))
    throw new Error(`simulation "${state.name}" has no control channel: peer it from its REPL`);
  const r = await controlRequest(state.name, { op: 'peer', args }, 120000);
  process.stdout.write(String(r.text));
}
