// An L2 switch: a Linux bridge inside the switch's own namespace (the host namespace never
// holds a simulated bridge). STP off by default, as Mininet's lxbr with stp=0.
import { z } from 'zod';
import { cidr, cidr6, commonNodeFields } from '../spec.js';
import type { NodeKind } from './kind.js';

export const BRIDGE_NAME = 'br0';
/** A Linux bridge numbers its ports in 10 bits and keeps 0: beyond this, `Exchange full`. */
export const MAX_BRIDGE_PORTS = 1023;

export const switchKind: NodeKind = {
  name: 'switch',
  description: 'L2 switch (Linux bridge in its own namespace)',
  bridging: true,
  pingable: false,
  schema: z.strictObject({
    ...commonNodeFields,
    kind: z.literal('switch'),
    /** the subnet of this switch's L2 segment (default: allocated from addressing.pool) */
    subnet: cidr.optional(),
    /** its IPv6 subnet (default: a /64 from addressing.pool6 when the topology has IPv6) */
    subnet6: cidr6.optional(),
    stp: z.boolean().optional(),
  }),
  validate(node, _model, sink) {
    if (node.ifaces.length > MAX_BRIDGE_PORTS)
      sink.add(
        ['nodes', node.name],
        `switch ${node.name} has ${node.ifaces.length} links, but a Linux bridge takes at most ${MAX_BRIDGE_PORTS} ports: spread them over several switches linked together (a tree: \`tree,DEPTH,FANOUT\`)`,
      );
  },
  plan(node, model, plan) {
    const s = plan.script(node.ns);
    const stp = node.spec.stp === true ? 1 : 0;
    // forward_delay 0 and no multicast snooping: ports forward as soon as they are up
    s.ip.push(
      `link add ${BRIDGE_NAME} type bridge stp_state ${stp} forward_delay ${stp ? 400 : 0} mcast_snooping 0`,
    );
    for (const iface of node.ifaces) {
      const up = model.links[iface.link].spec.state !== 'down';
      s.ip.push(`link set ${iface.name} master ${BRIDGE_NAME}${up ? ' up' : ''}`);
    }
    s.ip.push(`link set ${BRIDGE_NAME} up`);
    // a switch does not run a firewall: with br_netfilter loaded every bridged frame would
    // otherwise go through the ip hooks (about a fifth of VXLAN throughput on this machine)
    if (plan.features?.brNetfilter)
      for (const f of ['iptables', 'ip6tables', 'arptables'])
        s.sysctls[`net.bridge.bridge-nf-call-${f}`] = '0';
    for (const [k, v] of Object.entries((node.spec.sysctls as Record<string, string>) ?? {}))
      s.sysctls[k] = String(v);
  },
};
