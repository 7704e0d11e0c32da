// A simulation leaves the host as it found it: links, addresses, routes, the nftables ruleset
// and forwarding sysctls of the host's own namespace are the same before, during and after;
// the global neighbour-table thresholds are raised while it runs and given back afterwards.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Kernel } from '../../src/kernel/kernel.js';
import { readNeighThresholds, readNetdevBacklog } from '../../src/kernel/neigh.js';
import { runDir } from '../../src/runtime/paths.js';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';

const TOPOLOGY = `
name: x
nodes:
  h1: {kind: host, exec: ["sleep 300 &"]}
  h2: {kind: host}
  h3: {kind: host}
  s1: {kind: switch}
  r1: {kind: router, sysctls: {net.ipv4.conf.all.rp_filter: 2}}
links:
  - endpoints: [h1, s1]
  - endpoints: [h2, s1]
    rate: 50mbit
  - endpoints: [r1, s1]
  - endpoints: [h3, r1]
`;

/** Fields that change on their own (timers, counters) and say nothing about who changed what. */
const VOLATILE = new Set([
  'valid_life_time',
  'preferred_life_time',
  'stats',
  'stats64',
  'expires',
  'packets',
  'bytes',
]);

function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !VOLATILE.has(k))
        .map(([k, v]) => [k, stable(v)]),
    );
  }
  return value;
}

function json(cmd: string, args: string[]): unknown {
  return stable(JSON.parse(execFileSync(cmd, args, { encoding: 'utf8' }) || '[]'));
}

function sysctl(key: string): string {
  return readFileSync(`/proc/sys/${key.replaceAll('.', '/')}`, 'utf8').trim();
}

/** The host namespace as far as netsim could ever touch it. */
function snapshot() {
  return {
    links: json('ip', ['-j', 'link', 'show']),
    addresses: json('ip', ['-j', 'addr', 'show']),
    routes: json('ip', ['-j', 'route', 'show', 'table', 'all']),
    rules: json('ip', ['-j', 'rule', 'show']),
    nftables: (
      json('nft', ['-j', 'list', 'ruleset']) as { nftables: Record<string, unknown>[] }
    ).nftables.filter((o) => !('metainfo' in o)),
    sysctls: Object.fromEntries(
      ['net.ipv4.ip_forward', 'net.ipv4.conf.all.forwarding', 'net.ipv4.conf.all.rp_filter'].map((k) => [
        k,
        sysctl(k),
      ]),
    ),
  };
}

/** A zombie has already let go of its namespaces; only a live process keeps one alive. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

interface HeldThresholds {
  original: Record<string, string>;
  holders: string[];
}

function held(name = 'neigh-thresholds.json'): HeldThresholds | undefined {
  const file = join(runDir(), name);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as HeldThresholds) : undefined;
}

if (requireRoot(t)) {
  t.test('the host namespace is the same before, during and after a simulation', async (t) => {
    const before = snapshot();
    const thresholdsBefore = readNeighThresholds();
    // other simulations (other users of this machine) may hold the thresholds raised already
    const hostOriginal = held()?.original ?? thresholdsBefore;
    const backlogOriginal = Number(
      held('netdev-backlog.json')?.original.netdev_max_backlog ?? readNetdevBacklog(),
    );

    const model = modelFromYaml(TOPOLOGY);
    const sim = await up(t, model);
    t.equal((await sim.pingAll()).failed, 0, 'the simulation works (every pair pings)');
    t.match(await sim.node('r1').cmd('sysctl -n net.ipv4.ip_forward'), /^1/, 'forwarding is on in r1');

    const during = snapshot();
    t.same(during.links, before.links, 'during: host links unchanged (no veth end, no bridge in the host)');
    t.same(during.addresses, before.addresses, 'during: host addresses unchanged');
    t.same(during.routes, before.routes, 'during: host routes unchanged');
    t.same(during.rules, before.rules, 'during: host routing rules unchanged');
    t.same(during.nftables, before.nftables, 'during: host nftables ruleset unchanged');
    t.same(during.sysctls, before.sysctls, "during: host forwarding sysctls unchanged (r1's are its own)");
    const raised = readNeighThresholds();
    t.ok(
      Number(raised['ipv4.gc_thresh3']) >= 16384,
      `during: gc_thresh3 raised (${raised['ipv4.gc_thresh3']})`,
    );
    t.ok(
      Number(raised['ipv4.gc_thresh1']) >= 4096 && Number(raised['ipv4.gc_thresh2']) >= 8192,
      'during: gc_thresh1/2 raised',
    );
    t.ok(
      Number(raised['ipv6.gc_thresh3']) >= 16384,
      `during: IPv6's gc_thresh3 raised too (${raised['ipv6.gc_thresh3']})`,
    );
    t.ok(held()?.holders.includes(model.name), 'during: the simulation is listed as holding them');
    t.ok(readNetdevBacklog() >= 5000, `during: netdev_max_backlog raised (${readNetdevBacklog()})`);
    t.ok(held('netdev-backlog.json')?.holders.includes(model.name), '... and held by the simulation');
    t.same(held()?.original, hostOriginal, "during: the host's own values are saved");

    const inside = Kernel.processesInNamespaces(new Set([sim.node('h1').ns]));
    t.ok(inside.length > 0, "during: h1's exec line left a process running in h1");

    await sim.down();
    t.ok(
      inside.every((pid) => !running(pid)),
      'after: no process survives in a detached namespace',
    );
    const after = snapshot();
    t.same(after.links, before.links, 'after: host links unchanged');
    t.same(after.addresses, before.addresses, 'after: host addresses unchanged');
    t.same(after.routes, before.routes, 'after: host routes unchanged');
    t.same(after.rules, before.rules, 'after: host routing rules unchanged');
    t.same(after.nftables, before.nftables, 'after: host nftables ruleset unchanged');
    t.same(after.sysctls, before.sysctls, 'after: host forwarding sysctls unchanged');
    const stillBacklog = held('netdev-backlog.json');
    t.notOk(
      stillBacklog?.holders.includes(model.name),
      'after: the simulation no longer holds netdev_max_backlog',
    );
    if (!stillBacklog)
      t.equal(readNetdevBacklog(), backlogOriginal, "after: netdev_max_backlog is the host's again");
    const still = held();
    t.notOk(still?.holders.includes(model.name), 'after: the simulation no longer holds the thresholds');
    if (still) {
      t.comment(`other simulations still hold the thresholds: ${still.holders.join(', ')}`);
      t.same(readNeighThresholds(), raised, 'after: still raised for the other running simulations');
    } else {
      t.same(readNeighThresholds(), hostOriginal, "after: gc_thresh1/2/3 are the host's values again");
    }
  });
}
