// The VXLAN layer (flannel): how a packet routed to a VXLAN device is encapsulated — the
// neighbour entry that gives the remote VTEP's MAC and the FDB entry that gives its address —
// and which device decapsulates it on arrival. The underlay may be IPv6 (flannel-v6.<VNI>:
// the device's `local6`, FDB entries with IPv6 destinations); the outer packet is then IPv6
// and the walk follows it with IPv6 route lookups.
import { familyOf } from '../family.js';
import type { FdbJson, LinkJson, NeighJson, Pkt, Step, TraceResult } from '../types.js';

/** flannel's port when the device does not say */
export const VXLAN_DEFAULT_PORT = 8472;

export type VxlanHeader = NonNullable<TraceResult['vxlan']>[number];

export function isVxlan(dev: LinkJson | undefined): boolean {
  return dev?.linkinfo?.info_kind === 'vxlan';
}

/**
 * Encapsulation by device `dev` (`ip -d -j link show`) for next hop `nexthop`, from its
 * neighbour entry and the device's FDB (`bridge -j fdb show dev`): the step, the outer
 * header and packet, or why it cannot be sent.
 */
export function explainEncap(
  node: string,
  dev: LinkJson,
  nexthop: string,
  neigh: NeighJson | undefined,
  fdb: FdbJson[],
  inner: Pkt,
): { drop: string } | { step: Step; header: VxlanHeader; outer: Pkt } {
  const d = dev.linkinfo?.info_data ?? {};
  const fe = neigh?.lladdr ? fdb.find((f) => f.mac === neigh.lladdr && f.dst) : undefined;
  if (!neigh?.lladdr || !fe?.dst)
    return {
      drop: `VXLAN ${dev.ifname}: ${!neigh?.lladdr ? `no neighbour entry for ${nexthop}` : `no FDB entry for ${neigh.lladdr}`}: the agent has not programmed this remote subnet`,
    };
  const port = d.port ?? VXLAN_DEFAULT_PORT;
  const local = d.local ?? d.local6;
  return {
    step: {
      kind: 'vxlan',
      text: `VXLAN ${dev.ifname} (VNI ${d.id}): neighbour ${nexthop} is ${neigh.lladdr} (${(neigh.state ?? []).join(',').toLowerCase()}), FDB ${neigh.lladdr} dst ${fe.dst}: encapsulated as ${local} -> ${fe.dst} UDP ${port}`,
      data: {
        device: dev.ifname,
        vni: d.id,
        neighbour: neigh,
        fdb: fe,
        outerSrc: local,
        outerDst: fe.dst,
        port,
      },
    },
    header: { node, device: dev.ifname, vni: d.id ?? 0, outerSrc: local ?? '', outerDst: fe.dst, port },
    outer: { saddr: local ?? inner.saddr, daddr: fe.dst, proto: 'udp', dport: port },
  };
}

/**
 * An outer packet addressed to this node: the VXLAN device listening on its port
 * (`ip -d -j link show type vxlan`) takes the inner packet out.
 */
export function explainDecap(devices: LinkJson[], outer: Pkt, inner: Pkt): { step: Step; device?: string } {
  // flannel.1 and flannel-v6.1 share the port: the one of the outer header's family
  const v6 = familyOf(outer.daddr) === 6;
  const onPort = devices.filter((d) => d.linkinfo?.info_data?.port === outer.dport);
  const dev =
    onPort.find((d) => (d.linkinfo?.info_data?.local6 !== undefined) === v6) ?? onPort[0] ?? devices[0];
  const vni = dev?.linkinfo?.info_data?.id;
  return {
    device: dev?.ifname,
    step: {
      kind: 'decap',
      text: `${outer.daddr} is local: UDP ${outer.dport} goes to ${dev?.ifname ?? 'the VXLAN device'} (VNI ${vni}), which decapsulates the inner packet ${inner.saddr} -> ${inner.daddr}`,
      data: { device: dev?.ifname, vni },
    },
  };
}
