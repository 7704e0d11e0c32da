// The families every simulation has: each interface's counters and state (kernel counters,
// read once for all five families), the nodes by kind and how long each build phase took.
import type { IfaceStats } from '../../kernel/stats.js';
import { groupIndex, type MetricFamily } from '../../runtime/plugin.js';
import type { Simulation } from '../../runtime/simulation.js';
import type { SimReader } from './reader.js';

type Sample = { labels: Record<string, string>; value: number };
const IFACE_LABELS = ['node', 'interface', 'kind', 'cluster'] as const;

export function coreMetrics(sim: Simulation, reader: SimReader): MetricFamily[] {
  /** the samples `of` gives for each interface (not lo) of every node, given its labels */
  const eachInterface = async (of: (i: IfaceStats, labels: Record<string, string>) => Sample[]) => {
    const stats = await reader.netns.get();
    const groups = groupIndex(sim);
    const out: Sample[] = [];
    for (const n of sim.nodes.values())
      for (const i of stats.get(n.ns)?.ifaces ?? []) {
        if (i.ifname === 'lo') continue;
        const labels = {
          node: n.name,
          interface: i.ifname,
          kind: n.kind,
          cluster: groups.get(n.name)?.name ?? '',
        };
        out.push(...of(i, labels));
      }
    return out;
  };
  /** one sample per interface (not lo) of every node, valued by `value` */
  const perInterface = (value: (i: IfaceStats) => number): Promise<Sample[]> =>
    eachInterface((i, labels) => [{ labels, value: value(i) }]);
  const counter = (dir: 'rx' | 'tx', field: 'bytes' | 'packets'): MetricFamily => ({
    name: `netsim_interface_${dir === 'rx' ? 'receive' : 'transmit'}_${field}_total`,
    help: `${field === 'bytes' ? 'Bytes' : 'Packets'} ${dir === 'rx' ? 'received' : 'sent'} by each interface of each node (kernel counters)`,
    type: 'counter',
    labels: IFACE_LABELS,
    collect: () => perInterface((i) => i[dir][field]),
  });
  const phases = (
    name: string,
    help: string,
    value: (t: (typeof sim.timings)[number]) => number | undefined,
  ) => ({
    name,
    help,
    type: 'gauge' as const,
    labels: ['phase'],
    async collect() {
      return sim.timings.flatMap((t) => {
        const v = value(t);
        return v === undefined ? [] : [{ labels: { phase: t.phase }, value: v }];
      });
    },
  });
  return [
    counter('rx', 'bytes'),
    counter('tx', 'bytes'),
    counter('rx', 'packets'),
    counter('tx', 'packets'),
    {
      name: 'netsim_interface_up',
      help: 'Whether the interface is up with a carrier (1) or not (0)',
      type: 'gauge',
      labels: IFACE_LABELS,
      collect: () => perInterface((i) => (i.flags.includes('UP') && i.flags.includes('LOWER_UP') ? 1 : 0)),
    },
    {
      name: 'netsim_interface_address_info',
      help: 'Each address of each interface, IPv4 and global IPv6 (family 4 or 6), valued 1',
      type: 'gauge',
      labels: [...IFACE_LABELS, 'family', 'address'],
      collect: () =>
        eachInterface((i, labels) =>
          i.addrs.map((address) => ({
            labels: { ...labels, family: address.includes(':') ? '6' : '4', address },
            value: 1,
          })),
        ),
    },
    {
      name: 'netsim_nodes',
      help: 'Nodes of the simulation by kind',
      type: 'gauge',
      labels: ['kind'],
      async collect() {
        const count = new Map<string, number>();
        for (const n of sim.nodes.values()) count.set(n.kind, (count.get(n.kind) ?? 0) + 1);
        return [...count].map(([kind, value]) => ({ labels: { kind }, value }));
      },
    },
    phases(
      'netsim_build_phase_seconds',
      'How long each phase of building the simulation took',
      (t) => t.ms / 1000,
    ),
    phases(
      'netsim_build_phase_items',
      'How many items (namespaces, links, daemons...) each build phase handled',
      (t) => t.count,
    ),
  ];
}
