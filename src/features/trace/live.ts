// Traces from inside the simulation's own process (REPL, `netsim verify`): the same tracer as
// `netsim trace` in another shell, plus the clusters' service list for names the kernel's
// tables cannot give (a service without endpoints has no chain that names it).

import type { Simulation } from '../../runtime/simulation.js';
import { clustersOf as k8sClusters } from '../k8s/cluster.js';
import { HEADLESS } from '../k8s/services/objects.js';
import { familyOf } from './family.js';
import { type TraceOptions, type TraceResult, Tracer } from './trace.js';

interface ServiceLister {
  services(): Promise<
    // clusterIPs: one per family, on clusters that list them (dual-stack services)
    { name: string; namespace: string; clusterIP: string; clusterIPs?: string[]; ports: string }[]
  >;
}

function clustersOf(sim: Simulation): ServiceLister[] {
  return k8sClusters(sim);
}

/** A tracer over the simulation as it is now (pods added at run time included). */
export function liveTracer(sim: Simulation): Tracer {
  return Tracer.fromState(sim.state('ready'), sim.kernel);
}

export function liveOptions(sim: Simulation, opts: TraceOptions = {}): TraceOptions {
  return {
    ...opts,
    resolveService: async (namespace, name, port, family = 4) => {
      for (const c of clustersOf(sim)) {
        const s = (await c.services()).find((x) => x.name === name && x.namespace === namespace);
        if (!s) continue;
        if (s.clusterIP === HEADLESS)
          throw new Error(
            `service ${namespace}/${name} is headless (clusterIP: None): it has no virtual IP to trace; its DNS name answers with its pods' addresses, trace to one of those pods`,
          );
        // the ClusterIP of the probe's family
        const ip = (s.clusterIPs ?? [s.clusterIP]).find((x) => familyOf(x) === family);
        if (!ip)
          throw new Error(
            `service ${namespace}/${name} has no IPv${family} ClusterIP (it has ${(s.clusterIPs ?? [s.clusterIP]).join(', ')})`,
          );
        // "80/TCP→8000,53/UDP→53"
        const ports = s.ports.split(',').map((p) => /^(\d+)(?::\d+)?\/(\w+)/.exec(p));
        const tcp = ports.filter((m) => m?.[2] === 'TCP').map((m) => Number(m![1]));
        const pick = port !== undefined ? tcp.find((p) => p === port) : tcp[0];
        if (pick !== undefined) return { ip, port: pick };
      }
      return undefined;
    },
  };
}

/** A trace from inside the simulation's process; a web view that is open draws its path. */
export async function traceLive(
  sim: Simulation,
  src: string,
  dst: string,
  opts: TraceOptions = {},
): Promise<TraceResult> {
  const r = await liveTracer(sim).trace(src, dst, liveOptions(sim, opts));
  sim.events.emit({ type: 'trace', trace: r });
  return r;
}
