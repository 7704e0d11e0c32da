// Liqo-style peering between two clusters, at the pod level. Per peering each cluster has a
// gateway (its first worker) and the two gateways are joined by a tunnel over the underlay.
// Liqo uses WireGuard between gateways and Geneve from nodes to the gateway; this kernel has
// neither, so the tunnel is a unicast VXLAN device (`lq-<peer>`, UDP 4790, its own VNI, a /30
// link net from 169.254.0.0/16); the other workers reach their gateway by plain routing on a
// shared LAN, else through the cluster's flannel VXLAN to the gateway's VTEP.
//
// Each side chooses a local CIDR for the remote pod CIDR (so pod CIDRs may overlap: both
// clusters may use 10.244.0.0/16): C0 sees C1's pod 10.244.2.5 as 10.200.2.5. The gateways'
// nftables (table ip liqo-<peer>) translate their own pods to and from the addresses the peer
// chose for them: on the way out into the tunnel `snat ip prefix to` (own CIDR -> the peer's
// view of it), on the way in `dnat ip prefix to` (the peer's view -> own CIDR), so a packet on
// the tunnel carries only remapped addresses and conntrack undoes both on the replies.

import { Plan } from '../../../plan/plan.js';
import { ObjectKey } from '../../../runtime/objects.js';
import type { Simulation } from '../../../runtime/simulation.js';
import {
  type Cidr,
  formatCidr,
  formatIp,
  maskOf,
  networkOf,
  overlaps,
  parseCidr,
  parseIp,
} from '../../../util/ipv4.js';
import type { Cluster } from '../../k8s/cluster.js';

export const TUNNEL_PORT = 4790;
const REMAP_POOL = { first: (10 << 24) | (200 << 16), last: (10 << 24) | (254 << 16) };

export interface PeeringSide {
  cluster: string;
  gateway: string;
  gatewayIp: string;
  device: string;
  tunnelIp: string;
  podCidr: string;
  /** where this side sees the other side's pods */
  remoteAs: string;
}

export interface Peering {
  name: string;
  vni: number;
  sides: [PeeringSide, PeeringSide];
}

const PEERINGS = new ObjectKey<Map<string, Peering>>('Liqo peerings');

/** The simulation's peerings by name. */
export function peeringsOf(sim: Simulation): Map<string, Peering> {
  return sim.objects.state(PEERINGS, () => new Map());
}

export const peeringName = (a: string, b: string) => [a, b].sort().join('-');

function cidrOf(text: string): Cidr {
  const c = parseCidr(text);
  if (!c) throw new Error(`invalid CIDR ${text}`);
  return networkOf(c.ip, c.prefix);
}

/** A CIDR of the remote's size for `self` to see `remote` at: free of every CIDR `self` already sees. */
function chooseRemap(self: Cluster, remote: Cidr, taken: Cidr[]): Cidr {
  const step = 2 ** (32 - remote.prefix);
  for (let n = REMAP_POOL.first; n + step - 1 <= REMAP_POOL.last + 0xffff; n += step) {
    const c = networkOf(n >>> 0, remote.prefix);
    if (!taken.some((x) => overlaps(x, c))) return c;
  }
  throw new Error(`${self.name}: no free CIDR left to remap a /${remote.prefix} into`);
}

/** Translates an address of a pod of `side`'s peer into where `side` sees it. */
export function remapAddress(real: string, realCidr: string, viewCidr: string): string {
  const r = cidrOf(realCidr);
  const v = cidrOf(viewCidr);
  const ip = parseIp(real);
  if (ip === undefined) throw new Error(`not an IPv4 address: ${real}`);
  return formatIp((v.net | (ip & ~maskOf(r.prefix))) >>> 0);
}

function nftTable(side: PeeringSide, peer: PeeringSide): string {
  const t = `liqo-${peer.cluster}`;
  return [
    `table ip ${t} {`,
    '  chain post {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    oifname "${side.device}" ip saddr ${side.podCidr} snat ip prefix to ip saddr map { ${side.podCidr} : ${peer.remoteAs} }`,
    '  }',
    '  chain pre {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    `    iifname "${side.device}" ip daddr ${peer.remoteAs} dnat ip prefix to ip daddr map { ${peer.remoteAs} : ${side.podCidr} }`,
    '  }',
    '}',
  ].join('\n');
}

/** Peers two clusters: gateways, tunnel, remapped routes and nftables on both sides. */
export async function peer(
  a: Cluster,
  b: Cluster,
  opts: { remap?: [string, string] } = {},
): Promise<Peering> {
  if (a === b) throw new Error(`${a.name} cannot peer with itself`);
  const all = peeringsOf(a.sim);
  const name = peeringName(a.name, b.name);
  if (all.has(name)) return all.get(name)!;
  const vni = 4000 + all.size + 1;
  const idx = all.size + 1;
  const sides = [a, b].map((c, i) => {
    const other = i === 0 ? b : a;
    const seen = [
      cidrOf(c.config.podCidr),
      cidrOf(c.config.serviceCidr),
      ...[...all.values()].flatMap((p) =>
        p.sides.filter((s) => s.cluster === c.name).map((s) => cidrOf(s.remoteAs)),
      ),
    ];
    const remote = cidrOf(other.config.podCidr);
    const view = opts.remap?.[i] ? cidrOf(opts.remap[i]) : chooseRemap(c, remote, seen);
    if (view.prefix !== remote.prefix)
      throw new Error(`${c.name}: the remap of ${formatCidr(remote)} must be a /${remote.prefix}`);
    const gw = c.workers[0];
    return {
      cluster: c.name,
      gateway: gw.name,
      gatewayIp: gw.ip!,
      device: `lq-${other.name}`.slice(0, 15),
      tunnelIp: `169.254.${idx}.${i + 1}`,
      podCidr: formatCidr(cidrOf(c.config.podCidr)),
      remoteAs: formatCidr(view),
    } satisfies PeeringSide;
  }) as [PeeringSide, PeeringSide];
  const p: Peering = { name, vni, sides };
  all.set(name, p);
  try {
    const plan = new Plan(a.sim.features);
    await Promise.all([
      planSide(plan, a, p.sides[0], p.sides[1], vni),
      planSide(plan, b, p.sides[1], p.sides[0], vni),
    ]);
    await a.sim.apply(plan);
  } catch (err) {
    await unpeer(a, b).catch(() => {});
    throw err;
  }
  return p;
}

/**
 * One side of a peering as a plan fragment: the gateway's tunnel, its route to the remapped
 * CIDR and its NAT table; the other workers' routes to the gateway.
 */
async function planSide(plan: Plan, c: Cluster, side: PeeringSide, peerSide: PeeringSide, vni: number) {
  const gw = c.worker(side.gateway);
  const gateway = plan.script(gw.ns);
  gateway.ip.push(
    `link add ${side.device} type vxlan id ${vni} local ${side.gatewayIp} remote ${peerSide.gatewayIp} dstport ${TUNNEL_PORT} dev ${gw.underlayIface}`,
    `addr add ${side.tunnelIp}/30 dev ${side.device}`,
    `link set ${side.device} up`,
    `route replace ${side.remoteAs} via ${peerSide.tunnelIp} dev ${side.device}`,
  );
  gateway.nft = nftTable(side, peerSide).split('\n');
  // The other workers send the remote pods' traffic to the gateway: over the underlay when the
  // gateway is on their LAN, else through the cluster's own overlay to the gateway's VTEP (Liqo
  // uses a Geneve tunnel from each node to its gateway; flannel's VXLAN is that tunnel here).
  // `proto static` marks the routes as not flannel's, so the agent's resync leaves them alone.
  const vtep = gw.subnet();
  if (!vtep) throw new Error(`${c.name}: gateway ${gw.name} has no flannel subnet yet`);
  const gwVtep = formatIp(networkOf(vtep.subnet.ip, vtep.subnet.prefix).net);
  await Promise.all(
    c.workers
      .filter((w) => w !== gw)
      .map(async (w) => {
        // a route to the gateway through a router: the gateway is not on this worker's LAN
        const how = await c.sim.kernel.tool(w.ns, 'ip', ['-o', 'route', 'get', side.gatewayIp], {
          check: false,
        });
        plan
          .script(w.ns)
          .ip.push(
            how.exitCode === 0 && how.stdout.includes(' via ')
              ? `route replace ${side.remoteAs} via ${gwVtep} dev ${w.vxlanDevice} onlink proto static`
              : `route replace ${side.remoteAs} via ${side.gatewayIp} proto static`,
          );
      }),
  );
}

/** Removes a peering: tunnel, routes and tables on both sides. */
export async function unpeer(a: Cluster, b: Cluster): Promise<void> {
  const all = peeringsOf(a.sim);
  const name = peeringName(a.name, b.name);
  const p = all.get(name);
  if (!p) throw new Error(`${a.name} and ${b.name} are not peered`);
  all.delete(name);
  const k = a.sim.kernel;
  for (const c of [a, b]) {
    const side = p.sides.find((s) => s.cluster === c.name)!;
    const other = p.sides.find((s) => s !== side)!;
    // every worker, whatever it has of the peering: what is not there is skipped
    for (const w of c.workers) {
      await k.ip(w.ns, ['route', 'del', side.remoteAs], { check: false });
      await k.ip(w.ns, ['link', 'del', side.device], { check: false });
      await k
        .nft(w.ns, [{ delete: { table: { family: 'ip', name: `liqo-${other.cluster}` } } }])
        .catch(() => {});
    }
  }
}

/** Where cluster `viewer` sees pod address `ip` of cluster `owner` (through their peering). */
export function viewOf(sim: Simulation, viewer: string, owner: string, ip: string): string {
  const p = peeringsOf(sim).get(peeringName(viewer, owner));
  if (!p) throw new Error(`${viewer} and ${owner} are not peered`);
  const v = p.sides.find((s) => s.cluster === viewer)!;
  const o = p.sides.find((s) => s.cluster === owner)!;
  return remapAddress(ip, o.podCidr, v.remoteAs);
}

/** Hub-and-spoke (Scaled-Network's default peering list): the hub peers with every other cluster. */
export function hubAndSpoke(clusters: string[], hub = clusters[0]): [string, string][] {
  return clusters.filter((c) => c !== hub).map((c) => [hub, c]);
}
