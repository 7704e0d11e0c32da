// Mininet's parametrised topologies, so `netsim up single,4` works as `mn --topo single,4`.
import { Topology } from './builder.js';

export const TOPO_HELP = 'single,N | linear,K[,N] | tree,DEPTH[,FANOUT] | minimal';

/** Builds `spec` ("linear,4") into a Topology, or returns undefined when it is not one. */
export function builtinTopology(spec: string): Topology | undefined {
  const m = /^(single|linear|tree|minimal)(?:,(\d+))?(?:,(\d+))?$/.exec(spec);
  if (!m) return undefined;
  const [, name, a, b] = m;
  const n1 = a === undefined ? undefined : Number(a);
  const n2 = b === undefined ? undefined : Number(b);
  const simName = [name, a, b].filter(Boolean).join('_');
  const t = new Topology(simName, spec);
  if (name === 'minimal' || name === 'single') {
    const hosts = name === 'minimal' ? 2 : (n1 ?? 2);
    t.switch('s1');
    for (let i = 1; i <= hosts; i++) t.link(t.host(`h${i}`), 's1');
  } else if (name === 'linear') {
    // k switches in a chain, n hosts on each (Mininet names them h<i>s<j> when n > 1)
    const k = n1 ?? 2;
    const n = n2 ?? 1;
    for (let j = 1; j <= k; j++) {
      t.switch(`s${j}`);
      if (j > 1) t.link(`s${j - 1}`, `s${j}`);
      for (let i = 1; i <= n; i++) t.link(t.host(n === 1 ? `h${j}` : `h${i}s${j}`), `s${j}`);
    }
  } else {
    // Mininet's TreeTopo: a switch per inner level, FANOUT children each, hosts at DEPTH, both
    // numbered depth first: FANOUT^DEPTH hosts; a switch has FANOUT + 1 ports (the root FANOUT),
    // so a bridge's 1,023 allow tree,2,71 (5,041 hosts) or tree,3,18 (5,832)
    const depth = n1 ?? 1;
    const fanout = n2 ?? 2;
    let hostCount = 0;
    let switchCount = 0;
    const grow = (level: number): string => {
      if (level === depth) return t.host(`h${++hostCount}`);
      const sw = t.switch(`s${++switchCount}`);
      for (let i = 0; i < fanout; i++) t.link(sw, grow(level + 1));
      return sw;
    };
    grow(0);
  }
  return t;
}
