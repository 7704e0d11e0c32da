// /metrics of a running simulation in Prometheus' text format (prom-client). Everything is
// read at scrape time: interface counters from the kernel (one process per namespace, through
// the kernel layer), the nodes and the build's phase timings, and every family the features
// export (FRR neighbours, kube-proxy counters, etcd health, pods, workloads: their metrics.ts).
import client from 'prom-client';
import { allPlugins, groupIndex, type MetricFamily } from '../../runtime/plugin.js';
import type { Simulation } from '../../runtime/simulation.js';
import { SimReader } from './reader.js';

export interface SimMetrics {
  registry: client.Registry;
  reader: SimReader;
  /** the text exposition (what GET /metrics answers) */
  text(): Promise<string>;
  contentType: string;
}

/** Where a node belongs, for labels: its group (cluster) or "". */
export function clusterLabel(sim: Simulation, node: string): string {
  return groupIndex(sim).get(node)?.name ?? '';
}

/** A feature's family as a prom-client metric, read at scrape time. */
function register(family: MetricFamily, registers: client.Registry[]): void {
  const common = { name: family.name, help: family.help, labelNames: family.labels, registers };
  if (family.type === 'counter')
    new client.Counter({
      ...common,
      async collect() {
        const samples = await family.collect();
        this.reset();
        for (const s of samples) this.inc(s.labels, s.value);
      },
    });
  else
    new client.Gauge({
      ...common,
      async collect() {
        const samples = await family.collect();
        this.reset();
        for (const s of samples) this.set(s.labels, s.value);
      },
    });
}

export function simMetrics(sim: Simulation, reader = new SimReader(sim)): SimMetrics {
  const registry = new client.Registry();
  registry.setDefaultLabels({ sim: sim.name });
  const registers = [registry];
  const ifaceLabels = ['node', 'interface', 'kind', 'cluster'] as const;

  // interface counters: one read for the four families
  type Dir = 'rx' | 'tx';
  type Field = 'bytes' | 'packets';
  const ifaceCounter = (dir: Dir, field: Field) =>
    new client.Counter({
      name: `netsim_interface_${dir === 'rx' ? 'receive' : 'transmit'}_${field}_total`,
      help: `${field === 'bytes' ? 'Bytes' : 'Packets'} ${dir === 'rx' ? 'received' : 'sent'} by each interface of each node (kernel counters)`,
      labelNames: ifaceLabels,
      registers,
      async collect() {
        const stats = await reader.netns.get();
        const groups = groupIndex(sim);
        this.reset();
        for (const n of sim.nodes.values()) {
          const s = stats.get(n.ns);
          if (!s) continue;
          for (const i of s.ifaces) {
            if (i.ifname === 'lo') continue;
            this.inc(
              { node: n.name, interface: i.ifname, kind: n.kind, cluster: groups.get(n.name)?.name ?? '' },
              i[dir][field],
            );
          }
        }
      },
    });
  ifaceCounter('rx', 'bytes');
  ifaceCounter('tx', 'bytes');
  ifaceCounter('rx', 'packets');
  ifaceCounter('tx', 'packets');
  new client.Gauge({
    name: 'netsim_interface_up',
    help: 'Whether the interface is up with a carrier (1) or not (0)',
    labelNames: ifaceLabels,
    registers,
    async collect() {
      const stats = await reader.netns.get();
      const groups = groupIndex(sim);
      this.reset();
      for (const n of sim.nodes.values())
        for (const i of stats.get(n.ns)?.ifaces ?? []) {
          if (i.ifname === 'lo') continue;
          const up = i.flags.includes('UP') && i.flags.includes('LOWER_UP');
          this.set(
            { node: n.name, interface: i.ifname, kind: n.kind, cluster: groups.get(n.name)?.name ?? '' },
            up ? 1 : 0,
          );
        }
    },
  });

  new client.Gauge({
    name: 'netsim_nodes',
    help: 'Nodes of the simulation by kind',
    labelNames: ['kind'],
    registers,
    collect() {
      this.reset();
      for (const n of sim.nodes.values()) this.inc({ kind: n.kind });
    },
  });

  new client.Gauge({
    name: 'netsim_build_phase_seconds',
    help: 'How long each phase of building the simulation took',
    labelNames: ['phase'],
    registers,
    collect() {
      this.reset();
      for (const t of sim.timings) this.set({ phase: t.phase }, t.ms / 1000);
    },
  });
  new client.Gauge({
    name: 'netsim_build_phase_items',
    help: 'How many items (namespaces, links, daemons...) each build phase handled',
    labelNames: ['phase'],
    registers,
    collect() {
      this.reset();
      for (const t of sim.timings) if (t.count !== undefined) this.set({ phase: t.phase }, t.count);
    },
  });

  for (const plugin of allPlugins())
    for (const family of plugin.metrics?.(sim) ?? []) register(family, registers);

  return {
    registry,
    reader,
    text: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
