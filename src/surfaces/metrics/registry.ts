// /metrics of a running simulation in Prometheus' text format (prom-client). Everything is
// read at scrape time: interface counters from the kernel (one process per namespace, through
// the kernel layer), kube-proxy's per-endpoint nftables counters, FRR neighbour states, etcd
// health, pods per worker, the build's phase timings, and the workloads' current samples.
import client from 'prom-client';
import { PodNode } from '../../features/k8s/pod.js';
import { workloadsOf } from '../../features/workload/player.js';
import { SERIES_UNITS } from '../../features/workload/template.js';
import type { Simulation } from '../../runtime/simulation.js';
import { clustersOf, SimReader } from './reader.js';

export interface SimMetrics {
  registry: client.Registry;
  reader: SimReader;
  /** the text exposition (what GET /metrics answers) */
  text(): Promise<string>;
  contentType: string;
}

/** Where a node belongs, for labels: its cluster (workers, etcd members, pods) or "". */
export function clusterLabel(sim: Simulation, node: string): string {
  const n = sim.nodes.get(node);
  if (!n) return '';
  if (n instanceof PodNode) return n.cluster;
  const c = n.model.spec.cluster;
  return typeof c === 'string' ? c : '';
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
        this.reset();
        for (const n of sim.nodes.values()) {
          const s = stats.get(n.ns);
          if (!s) continue;
          for (const i of s.ifaces) {
            if (i.ifname === 'lo') continue;
            this.inc(
              { node: n.name, interface: i.ifname, kind: n.kind, cluster: clusterLabel(sim, n.name) },
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
      this.reset();
      for (const n of sim.nodes.values())
        for (const i of stats.get(n.ns)?.ifaces ?? []) {
          if (i.ifname === 'lo') continue;
          const up = i.flags.includes('UP') && i.flags.includes('LOWER_UP');
          this.set(
            { node: n.name, interface: i.ifname, kind: n.kind, cluster: clusterLabel(sim, n.name) },
            up ? 1 : 0,
          );
        }
    },
  });

  // kube-proxy: per endpoint, and per service (the sum of its endpoints)
  const svcLabels = ['cluster', 'namespace', 'service', 'protocol'] as const;
  const endpointCounter = (field: Field) =>
    new client.Counter({
      name: `netsim_service_endpoint_${field}_total`,
      help: `${field === 'bytes' ? 'Bytes' : 'Packets'} of new connections kube-proxy DNATed to each endpoint (nftables counters, summed over the workers)`,
      labelNames: [...svcLabels, 'endpoint'],
      registers,
      async collect() {
        const eps = await reader.endpoints.get();
        this.reset();
        for (const e of eps)
          this.inc(
            {
              cluster: e.cluster,
              namespace: e.namespace,
              service: e.service,
              protocol: e.protocol,
              endpoint: e.endpoint,
            },
            e[field],
          );
      },
    });
  endpointCounter('packets');
  endpointCounter('bytes');
  const serviceCounter = (field: Field) =>
    new client.Counter({
      name: `netsim_service_${field}_total`,
      help: `${field === 'bytes' ? 'Bytes' : 'Packets'} of new connections to each service (the sum over its endpoints)`,
      labelNames: svcLabels,
      registers,
      async collect() {
        const eps = await reader.endpoints.get();
        this.reset();
        for (const e of eps)
          this.inc(
            { cluster: e.cluster, namespace: e.namespace, service: e.service, protocol: e.protocol },
            e[field],
          );
      },
    });
  serviceCounter('packets');
  serviceCounter('bytes');

  new client.Gauge({
    name: 'netsim_frr_neighbor_up',
    help: 'FRR neighbours: 1 when the OSPF adjacency is Full (2-Way between DROthers) or the BGP session Established; the state is a label',
    labelNames: ['node', 'protocol', 'neighbor', 'state'],
    registers,
    async collect() {
      const frr = await reader.frr.get();
      this.reset();
      for (const [node, list] of frr)
        for (const n of list)
          this.set({ node, protocol: n.protocol, neighbor: n.neighbor, state: n.state }, n.up ? 1 : 0);
    },
  });

  new client.Gauge({
    name: 'netsim_etcd_member_healthy',
    help: "etcd's /health of each member: 1 when it is part of a healthy quorum",
    labelNames: ['cluster', 'member'],
    registers,
    async collect() {
      const h = await reader.etcd.get();
      this.reset();
      for (const m of h) this.set({ cluster: m.cluster, member: m.member }, m.healthy ? 1 : 0);
    },
  });

  new client.Gauge({
    name: 'netsim_pods',
    help: 'Pods running on each worker',
    labelNames: ['cluster', 'node'],
    registers,
    collect() {
      this.reset();
      for (const c of clustersOf(sim)) {
        for (const w of c.workers) this.set({ cluster: c.name, node: w.name }, 0);
        for (const p of c.localPods()) this.inc({ cluster: c.name, node: p.worker });
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

  // workloads: the current sample of each series, labelled by where the pod runs now
  const wlLabels = ['cluster', 'node', 'pod', 'workload'] as const;
  for (const [series, unit] of Object.entries(SERIES_UNITS) as [keyof typeof SERIES_UNITS, string][]) {
    new client.Gauge({
      name: `netsim_workload_${series}_${unit}`,
      help: `The ${series} a pod's workload profile says it uses now (${unit})`,
      labelNames: wlLabels,
      registers,
      collect() {
        this.reset();
        for (const s of workloadsOf(sim).samples()) {
          const v = s.values[series];
          if (v !== undefined)
            this.set({ cluster: s.cluster ?? '', node: s.node ?? '', pod: s.pod, workload: s.workload }, v);
        }
      },
    });
  }
  new client.Gauge({
    name: 'netsim_workload_traffic_bits_per_second',
    help: 'The rate a pod is sending at now, as its workload profile says (real traffic: iperf3 UDP)',
    labelNames: wlLabels,
    registers,
    collect() {
      this.reset();
      for (const s of workloadsOf(sim).samples())
        this.set(
          { cluster: s.cluster ?? '', node: s.node ?? '', pod: s.pod, workload: s.workload },
          s.trafficBps,
        );
    },
  });
  new client.Gauge({
    name: 'netsim_workload_step',
    help: "The step of its profile each pod's workload is at (0-based)",
    labelNames: wlLabels,
    registers,
    collect() {
      this.reset();
      for (const s of workloadsOf(sim).samples())
        this.set({ cluster: s.cluster ?? '', node: s.node ?? '', pod: s.pod, workload: s.workload }, s.step);
    },
  });

  return {
    registry,
    reader,
    text: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
