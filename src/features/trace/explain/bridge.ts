// The bridge layer: which port a bridge (a switch's br0, a worker's cni0) sends a frame to,
// from its own MAC address and its FDB, and the port counters read around the probe.
import type { FdbJson, Step } from '../types.js';

type Counter = { rx: number; tx: number } | undefined;

/** Packets received on the port the probe came in by, during the probe. */
export function receivedStep(
  inIf: string,
  before: Counter,
  after: Counter,
): { seen: boolean; step: Step } | undefined {
  if (!before || !after) return undefined;
  const rx = after.rx - before.rx;
  return {
    seen: rx > 0,
    step: {
      kind: 'seen',
      text: `${inIf}: ${rx} packet${rx === 1 ? '' : 's'} received during the probe`,
      data: { iface: inIf, rx },
    },
  };
}

export interface BridgeChoice {
  step: Step;
  /** up to the node's own IP stack */
  local?: boolean;
  /** out of this port */
  port?: string;
}

/** No destination MAC to look up: the previous node had no neighbour entry. */
export function unknownMac(bridge: string): BridgeChoice {
  return {
    step: { kind: 'bridge', text: `bridge ${bridge}: destination MAC unknown (no neighbour entry upstream)` },
  };
}

/** The frame is for the bridge device's own address. */
export function ownAddress(node: string, bridge: string, mac: string): BridgeChoice {
  return {
    local: true,
    step: {
      kind: 'bridge',
      text: `bridge ${bridge}: ${mac} is the bridge's own address: up to ${node}'s IP stack`,
      data: { bridge, mac, local: true },
    },
  };
}

/**
 * The FDB's answer for a MAC (`bridge -j fdb show br X`): a port (with the node at its other
 * end and how many packets it sent during the probe), a local address, or a flood.
 */
export function fdbChoice(
  node: string,
  bridge: string,
  mac: string,
  fdb: FdbJson[],
  peerOf: (port: string) => { node: string; iface: string } | undefined,
  sentOn: (port: string) => number | undefined,
): BridgeChoice {
  const e = fdb.find((f) => f.mac === mac && f.master === bridge);
  if (!e?.ifname)
    return {
      step: {
        kind: 'bridge',
        text: `bridge ${bridge}: no FDB entry for ${mac}: flooded to every port`,
        data: { bridge, mac },
      },
    };
  if (e.state === 'permanent')
    return {
      local: true,
      step: {
        kind: 'bridge',
        text: `bridge ${bridge}: ${mac} is a local address (permanent FDB entry on ${e.ifname}): up to ${node}'s IP stack`,
        data: { bridge, mac, local: true },
      },
    };
  const port = peerOf(e.ifname);
  const tx = sentOn(e.ifname);
  return {
    port: e.ifname,
    step: {
      kind: 'bridge',
      text: `bridge ${bridge}: FDB ${mac} on port ${e.ifname}${port ? ` (to ${port.node}:${port.iface})` : ''}${tx !== undefined ? `, ${tx} sent there during the probe` : ''}`,
      data: { bridge, mac, port: e.ifname, to: port },
    },
  };
}
