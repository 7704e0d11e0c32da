// waitConverged's zebra part: every routing daemon of a router is a client of its zebra, and
// every route zebra selected is in the kernel (its FIB flag). After zebra restarts, its
// daemons' routes come back only once they are connected again; until then the routing table
// zebra shows is stable, and short.
import { runId } from './daemons.js';
import type { RouterNode } from './node.js';
import type { Route } from './show-route.js';

export const ZEBRA_CLIENTS = 'show zebra client summary';

/** The name a daemon goes by in zebra's client list (FRR's route type strings). */
const CLIENT_NAMES: Record<string, string> = {
  staticd: 'static',
  ospfd: 'ospf',
  ospf6d: 'ospf6',
  bgpd: 'bgp',
  ripd: 'rip',
  ripngd: 'ripng',
  isisd: 'isis',
  eigrpd: 'eigrp',
  babeld: 'babel',
  pimd: 'pim',
  ldpd: 'ldp',
  nhrpd: 'nhrp',
  pbrd: 'pbr',
  bfdd: 'bfd',
  vrrpd: 'vrrp',
  fabricd: 'openfabric',
};

/** Routes the kernel makes itself, or that zebra only reads from it. */
const NOT_INSTALLED_BY_ZEBRA = new Set(['connected', 'kernel', 'local']);

/**
 * `show zebra client summary` -> the clients' names, one per connection ("ospf"; FRR 8.4
 * names ospfd -n 200's "ospf[200:0]"): the first word of each row between the dashes and the
 * footnote.
 */
export function parseZebraClients(text: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^-{10,}/.test(l));
  if (start < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (/^Routes column/.test(l)) break;
    const name = /^(\S+)\s/.exec(l)?.[1];
    if (name) out.push(name);
  }
  return out;
}

/** What keeps one router from being converged as far as zebra is concerned. */
export function zebraMissing(node: RouterNode, clients: string[] | undefined, rib: Route[]): string[] {
  const frr = node.frr;
  if (!frr || clients === undefined) return [];
  const missing: string[] = [];
  // a connection of an instance or a second session: "ospf[200:0]", "ldp[0:1]"
  const connected = (client: string) => clients.filter((c) => c.replace(/\[[\d:]+\]$/, '') === client).length;
  const running = new Map<string, string[]>();
  for (const r of frr.setup.daemons.runs) {
    const client = CLIENT_NAMES[r.daemon];
    if (!client || !frr.isRunning(runId(r))) continue;
    running.set(client, [...(running.get(client) ?? []), runId(r)]);
  }
  for (const [client, ids] of running)
    if (connected(client) < ids.length)
      missing.push(`${node.name}: ${ids.join(', ')} not connected to zebra yet`);
  const out = rib.filter((r) => r.selected && !r.installed && !NOT_INSTALLED_BY_ZEBRA.has(r.protocol));
  for (const r of out.slice(0, 5))
    missing.push(`${node.name}: ${r.prefix} (${r.protocol}) is not in the kernel yet`);
  if (out.length > 5)
    missing.push(`${node.name}: ... and ${out.length - 5} more routes not in the kernel yet`);
  return missing;
}
