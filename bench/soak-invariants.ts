// What must hold once the chaos soak's faults have stopped (and its traffic is ended): every
// pod reachable (each cluster's pods among themselves, and across the peering at their
// remapped addresses); every service answering through every path (the ClusterIP from every
// pod, the service link from every pod of the other cluster); every daemon running; each
// worker's VXLAN routes and neighbours exactly the other workers' leases in etcd; each
// worker's kube-proxy table exactly the services and endpoints in etcd; and no namespace,
// process or file of the simulation that its ledger does not record.
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { proxyTablesText } from '../src/features/k8s/agent/proxy-tables.js';
import { Kernel } from '../src/kernel/kernel.js';
import { processStartTime } from '../src/kernel/proc.js';
import { pingFrom } from '../src/runtime/ping.js';
import { formatIp, parseCidr } from '../src/util/ipv4.js';
import type { SoakWorld } from './soak-faults.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

type Probe = () => Promise<string[]>;

const PROBE_SERVER =
  "socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo HTTP/1.0 200 OK; echo; echo probe; sleep 0.05'";

async function curl(
  node: { exec(l: string, o?: { timeoutMs?: number }): Promise<{ exitCode: number }> },
  url: string,
) {
  return (await node.exec(`curl -sf -o /dev/null -m 3 ${url}`, { timeoutMs: 8000 })).exitCode === 0;
}

function inCidr(ip: string, cidr: string): boolean {
  const c = parseCidr(cidr);
  const a = parseCidr(`${ip}/32`);
  if (!c || !a) return false;
  const mask = c.prefix === 0 ? 0 : (~0 << (32 - c.prefix)) >>> 0;
  return (a.ip & mask) >>> 0 === (c.ip & mask) >>> 0;
}

const probes = (w: SoakWorld): Record<string, Probe> => ({
  'pods reachable in each cluster': async () => {
    const bad: string[] = [];
    for (const c of w.clusters) {
      const m = await c.pingPods({ timeoutMs: 2000 });
      bad.push(...m.results.filter((r) => !r.ok).map((r) => `${r.src}->${r.dst}`));
    }
    return bad;
  },
  'pods reachable across the peering (remapped addresses)': async () => {
    const [c0, c1] = w.clusters;
    const bad: string[] = [];
    for (const [from, to] of [
      [c0, c1],
      [c1, c0],
    ]) {
      const src = from.localPods()[1];
      const dsts = to.localPods().map((p) => ({ name: p.name, ns: p.ns, ip: from.remoteIp(to.name, p.ip!) }));
      const res = await pingFrom({ name: src.name, ns: src.ns, ip: src.ip! }, dsts, { timeoutMs: 2000 });
      bad.push(...res.filter((r) => !r.ok).map((r) => `${r.src}->${r.dst} (${r.dstIp})`));
    }
    return bad;
  },
  'every service answers on its ClusterIP from every pod of its cluster': async () => {
    const bad: string[] = [];
    for (const c of w.clusters) {
      const svcs = (await c.services()).filter(
        (s) => s.namespace === 'default' && s.clusterIP !== 'None' && s.endpoints.length > 0,
      );
      for (const s of svcs) {
        const port = /^(\d+)/.exec(s.ports)?.[1] ?? '80';
        for (const p of c.localPods())
          if (!(await curl(p, `http://${s.clusterIP}:${port}/`)))
            bad.push(`${p.name} -> ${c.name}/${s.name}`);
      }
    }
    return bad;
  },
  "the service link answers at the listener's address (knetsim's form)": async () => {
    const c1 = w.clusters[1];
    const p = c1.localPods()[1];
    return (await curl(p, `http://${c1.workers[0].ip}:1028/`))
      ? []
      : [`${p.name} -> ${c1.workers[0].ip}:1028`];
  },
  'every daemon runs (etcd, agents, FRR, site routers)': async () => {
    const bad: string[] = [];
    for (const c of w.clusters) {
      for (const e of c.etcdMembers) if (!(await e.health(3000))) bad.push(`${e.name} unhealthy`);
      for (const x of c.workers) if (!x.agentRunning) bad.push(`${x.name} agent`);
      const site = await c.skupperSite();
      if (!site.running) bad.push(`${c.name} site router`);
      const links = ((await site.status()) as { links: { name: string; state: string }[] }).links;
      for (const l of links) if (l.state !== 'up') bad.push(`${c.name} link ${l.name} ${l.state}`);
    }
    for (const d of w.router.daemons()) if (!d.running) bad.push(`${w.router.name} ${d.id}`);
    // and every routing daemon talks to zebra again (a restarted zebra, or a restarted daemon):
    // zebra lists its clients by protocol (ospf, static, bgp)
    const clients = await w.router.vtysh('show zebra client summary');
    for (const d of w.router.daemons())
      if (
        d.id !== 'zebra' &&
        !new RegExp(`^${d.id.replace(/-\d+$/, '').replace(/d$/, '')} `, 'm').test(clients)
      )
        bad.push(`${w.router.name} ${d.id} is not a client of zebra`);
    return bad;
  },
  "each worker's VXLAN routes and neighbours are the other workers' leases": async () => {
    const bad: string[] = [];
    for (const c of w.clusters) {
      const leases = await c.leases();
      const podCidr = c.workers[0].config.podCidr;
      for (const x of c.workers) {
        const own = x.subnet();
        const mine = leases.find((l) => l.attrs.PublicIP === x.ip);
        if (!mine) bad.push(`${x.name}: no lease in etcd`);
        else if (own && !inCidr(formatIp(own.subnet.ip), mine.subnet))
          bad.push(`${x.name}: subnet.env is not its lease`);
        const dev = x.vxlanDevice;
        const routes = (await x.cmd(`ip -4 route show dev ${dev}`))
          .split('\n')
          .map((l) => l.split(' ')[0])
          .filter((d) => d && inCidr(d.split('/')[0], podCidr));
        const want = leases.filter((l) => l !== mine).map((l) => l.subnet);
        for (const s of want) if (!routes.includes(s)) bad.push(`${x.name}: no route to ${s}`);
        for (const r of routes) if (!want.includes(r)) bad.push(`${x.name}: stale route ${r}`);
        const neigh = await x.cmd(`ip -4 neigh show dev ${dev}`);
        for (const l of leases)
          if (l !== mine && l.attrs.BackendData && !neigh.toLowerCase().includes(l.attrs.BackendData.VtepMAC))
            bad.push(`${x.name}: no neighbour for ${l.subnet}'s VTEP`);
      }
    }
    return bad;
  },
  "each worker's kube-proxy table is the services and endpoints in etcd": async () => {
    const bad: string[] = [];
    for (const c of w.clusters) {
      const svcs = (await c.services()).filter((s) => s.clusterIP !== 'None');
      for (const x of c.workers) {
        // kube-proxy's tables: one, or the main one and its shards above a number of services
        const table = proxyTablesText(await x.cmd('nft list ruleset ip'));
        const inMap = new Set(
          [
            ...table.matchAll(
              /(\d+\.\d+\.\d+\.\d+) \. (tcp|udp|sctp) \. \d+ : goto service-\w+-([^/]+)\/([^/]+)\//g,
            ),
          ].map((m) => `${m[3]}/${m[4]} ${m[1]}`),
        );
        const want = new Set(
          svcs.filter((s) => s.endpoints.length).map((s) => `${s.namespace}/${s.name} ${s.clusterIP}`),
        );
        for (const s of want) if (!inMap.has(s)) bad.push(`${x.name}: ${s} missing`);
        for (const s of inMap) if (!want.has(s)) bad.push(`${x.name}: ${s} stale`);
        for (const s of svcs)
          for (const e of s.endpoints) {
            const ip = /^(\d+\.\d+\.\d+\.\d+)/.exec(e)?.[1];
            if (ip && !table.includes(`dnat to ${ip}:`))
              bad.push(`${x.name}: ${s.name} endpoint ${ip} missing`);
          }
        for (const m of table.matchAll(/dnat to (\d+\.\d+\.\d+\.\d+):/g))
          if (!svcs.some((s) => s.endpoints.some((e) => e.split(' ')[0] === m[1])))
            bad.push(`${x.name}: stale endpoint ${m[1]}`);
      }
    }
    return bad;
  },
  'a pod and a Service made after the faults answer by name from every pod (the watches live on)':
    async () => {
      const bad: string[] = [];
      for (const [i, c] of w.clusters.entries()) {
        const name = `soprobe${i}`;
        if (!c.localPods().some((p) => p.name === name)) {
          await c.addPod(c.workers[c.workers.length - 1].name, name, {
            labels: { app: name },
            command: PROBE_SERVER,
          });
          await c.addService('soprobe', { selector: { app: name }, ports: [{ port: 80, targetPort: 80 }] });
        }
        for (const p of c.localPods())
          for (const svc of ['soprobe', 'web'])
            if (!(await curl(p, `http://${svc}/`))) bad.push(`${p.name} -> ${c.name}/${svc} by name`);
      }
      return bad;
    },
  'no namespace, process or file of the simulation outside its ledger': async () => ledgerGaps(w),
});

/** Namespaces, processes (in the simulation's namespaces) and files the ledger does not hold. */
function ledgerGaps(w: SoakWorld): string[] {
  const { sim } = w;
  const entries = sim.kernel.ledger.read();
  const bad: string[] = [];
  const ledgerNs = new Set(entries.flatMap((e) => (e.t === 'netns' ? [e.name] : [])));
  const ours = Kernel.listNamespaces().filter((n) => n.startsWith(`netsim-${sim.name}-`));
  for (const n of ours) if (!ledgerNs.has(n)) bad.push(`namespace ${n}`);
  const inodes = new Set(
    ours.flatMap((n) => {
      try {
        return [`net:[${statSync(`/run/netns/${n}`).ino}]`];
      } catch {
        return [];
      }
    }),
  );
  const procs = new Map(entries.flatMap((e) => (e.t === 'proc' ? [[e.pid, e.start] as const] : [])));
  const recorded = (pid: number) => procs.has(pid) && processStartTime(pid) === procs.get(pid);
  const parent = (pid: number) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      return 0;
    }
  };
  let seen = 0;
  for (const d of readdirSync('/proc')) {
    const pid = Number(d);
    if (!pid) continue;
    let net: string;
    try {
      net = readlinkSync(`/proc/${pid}/ns/net`);
    } catch {
      continue;
    }
    if (!inodes.has(net)) continue;
    seen++;
    // recorded itself, or a child of a recorded process (a socat's fork, an agent's nft)
    let p = pid;
    let ok = false;
    for (let i = 0; i < 16 && p > 1; i++, p = parent(p))
      if (recorded(p) || p === process.pid) {
        ok = true;
        break;
      }
    if (!ok && existsSync(`/proc/${pid}`))
      bad.push(
        `process ${pid} (${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()})`,
      );
  }
  // the agents, etcd members and pods' commands run there: none seen means the check is blind
  if (seen === 0) bad.push("no process found in the simulation's namespaces at all");
  const files = new Set(entries.flatMap((e) => (e.t === 'file' ? [e.path] : [])));
  for (const [dir, prefix] of [
    ['/var/run/frr', `${sim.name}-`],
    ['/etc/netns', `netsim-${sim.name}-`],
  ])
    if (existsSync(dir))
      for (const f of readdirSync(dir))
        if (f.startsWith(prefix) && !files.has(`${dir}/${f}`)) bad.push(`file ${dir}/${f}`);
  return bad;
}

/** Runs every check once. */
export async function checkInvariants(w: SoakWorld): Promise<Check[]> {
  const out: Check[] = [];
  for (const [name, probe] of Object.entries(probes(w))) {
    const bad = await probe().catch((err: Error) => [`error: ${err.message}`]);
    out.push({
      name,
      ok: bad.length === 0,
      detail: bad.slice(0, 8).join('; ') + (bad.length > 8 ? ` (+${bad.length - 8})` : ''),
    });
  }
  return out;
}

/**
 * The checks, repeated until all hold or `timeoutMs` passes (what recovers on its own gets
 * that long after the last fault); the last round and how long it took.
 */
export async function settleInvariants(
  w: SoakWorld,
  timeoutMs: number,
): Promise<{ checks: Check[]; ms: number }> {
  const t0 = Date.now();
  for (;;) {
    const checks = await checkInvariants(w);
    if (checks.every((c) => c.ok) || Date.now() - t0 > timeoutMs) return { checks, ms: Date.now() - t0 };
    await new Promise((r) => setTimeout(r, 1000));
  }
}
