// REPL verbs for clusters: pods, their reachability, subnet leases, etcd health, and the
// knetsim-style container verbs (`exec_container C0w1 c1 ping -c1 c2` streams; Ctrl-C stops it).

import { existsSync, readFileSync } from 'node:fs';
import type { SimNode } from '../../runtime/node.js';
import type { Io, Verb } from '../../runtime/plugin.js';
import type { Simulation } from '../../runtime/simulation.js';
import { formatIp } from '../../util/ipv4.js';
import { formatCidr6 } from '../../util/ipv6.js';
import { type Cluster, clustersOf } from './cluster.js';
import { formatInvocation } from './cni/runtime.js';
import { subnet6Of } from './flannel.js';
import { PodNode } from './pod.js';
import { podNodeName } from './registry.js';
import { WorkerNode } from './worker.js';

export { clustersOf };

function pick(sim: Simulation, name: string | undefined): Cluster[] {
  const all = clustersOf(sim);
  if (!name) return all;
  const c = all.find((x) => x.name === name);
  if (!c) throw new Error(`no cluster "${name}" (clusters: ${all.map((x) => x.name).join(', ') || 'none'})`);
  return [c];
}

function worker(sim: Simulation, name: string | undefined): WorkerNode {
  const n = sim.node(name ?? '');
  if (!(n instanceof WorkerNode)) throw new Error(`${n.name} is a ${n.kind}, not a worker`);
  return n;
}

export function k8sVerbs(
  sim: Simulation,
  io: Io,
  substitute: (line: string, from?: SimNode) => string,
): Verb[] {
  return [
    {
      names: ['clusters'],
      usage: 'clusters',
      help: 'each cluster: etcd members (health), workers with their subnet, pods',
      async run() {
        for (const c of clustersOf(sim)) {
          const health = await c.health();
          io.out(
            `${c.name}: pod network ${c.config.podCidr}${c.config.podCidr6 ? ` and ${c.config.podCidr6}` : ''} (VNI ${c.config.vni}, etcd prefix ${c.config.prefix})\n` +
              `  etcd: ${Object.entries(health)
                .map(([m, ok]) => `${m} ${ok ? 'healthy' : 'DOWN'}`)
                .join(', ')}\n` +
              `  workers: ${c.workers
                .map((w) => {
                  const s = w.subnet();
                  const s6 = s && subnet6Of(s);
                  return `${w.name} ${w.ip}${s ? ` ${formatIp(s.subnet.ip - 1)}/${s.subnet.prefix}` : ' (no lease)'}${s6 ? ` ${formatCidr6(s6)}` : ''}${w.agentRunning ? '' : ' agent DOWN'}`;
                })
                .join(', ')}\n` +
              `  pods: ${
                c
                  .localPods()
                  .map((p) => p.name)
                  .join(' ') || 'none'
              }\n`,
          );
        }
        return 0;
      },
    },
    {
      names: ['pods'],
      usage: 'pods [cluster]',
      help: 'pods as etcd has them (<pod>.<ns> outside default): worker, IP, phase, labels',
      async run([name]) {
        for (const c of pick(sim, name)) {
          for (const p of await c.pods()) {
            const labels = Object.entries(p.metadata.labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(',');
            io.out(
              `${c.name}  ${podNodeName(p.metadata.name, p.metadata.namespace).padEnd(12)} ${p.spec.nodeName.padEnd(8)} ${p.status.podIP.padEnd(15)} ${p.status.phase}${labels ? `  ${labels}` : ''}${p.status.podIPs?.[1] ? `  ${p.status.podIPs[1].ip}` : ''}\n`,
            );
          }
        }
        return 0;
      },
    },
    {
      names: ['podping', 'pingpods'],
      usage: 'podping [cluster]',
      help: 'every pod pings every other pod of its cluster',
      async run([name]) {
        let failed = 0;
        for (const c of pick(sim, name)) {
          const res = await c.pingPods();
          for (const r of res.results.filter((x) => !x.ok))
            io.out(`  ${r.src} -> ${r.dst} (${r.dstIp}): FAILED\n`);
          io.out(
            `${c.name}: ${res.passed}/${res.pairs} pod pairs reachable (${(res.ms / 1000).toFixed(2)} s)\n`,
          );
          failed += res.failed;
        }
        return failed ? 1 : 0;
      },
    },
    {
      names: ['leases'],
      usage: 'leases [cluster]',
      help: "flannel's subnet leases in etcd: subnet, worker, public IP, VTEP MAC (dual stack: then the IPv6 ones)",
      async run([name]) {
        for (const c of pick(sim, name))
          for (const l of await c.leases())
            io.out(
              `${c.name}  ${l.subnet.padEnd(16)} ${(l.worker ?? '?').padEnd(8)} ${l.attrs.PublicIP.padEnd(15)} ${l.attrs.BackendData?.VtepMAC ?? ''}${
                l.subnet6
                  ? `  ${l.subnet6} ${l.attrs.PublicIPv6 ?? ''} ${l.attrs.BackendV6Data?.VtepMAC ?? ''}`
                  : ''
              }\n`,
            );
        return 0;
      },
    },
    {
      names: ['exec_container', 'execContainer'],
      usage: 'exec_container worker pod cmd',
      help: 'run a command in a pod of a worker (knetsim); pod names become IPs; Ctrl-C stops it',
      async run([w, pod, ...cmd]) {
        if (!w || !pod || cmd.length === 0) {
          io.err('*** usage: exec_container <worker> <pod> <command>\n');
          return 1;
        }
        const p = sim.node(pod);
        if (!(p instanceof PodNode) || p.worker !== worker(sim, w).name)
          throw new Error(`no pod "${pod}" on ${w}`);
        return worker(sim, w).streamContainer(pod, substitute(cmd.join(' '), p), io);
      },
    },
    {
      names: ['create_container', 'createContainer'],
      usage: 'create_container worker pod [key=value...]',
      help: 'create a pod on a worker, with labels',
      async run([w, pod, ...labels]) {
        if (!w || !pod) {
          io.err('*** usage: create_container <worker> <pod> [label=value ...]\n');
          return 1;
        }
        const p = await worker(sim, w).createContainer(pod, {
          labels: Object.fromEntries(labels.map((l) => l.split('=', 2) as [string, string])),
        });
        io.out(`${p.name}: ${p.ip} on ${p.worker}\n`);
        return 0;
      },
    },
    {
      names: ['delete_container', 'deleteContainer'],
      usage: 'delete_container worker pod',
      help: 'delete a pod (its address is freed)',
      async run([w, pod]) {
        if (!w || !pod) {
          io.err('*** usage: delete_container <worker> <pod>\n');
          return 1;
        }
        await worker(sim, w).deleteContainer(pod);
        io.out(`deleted ${pod}\n`);
        return 0;
      },
    },
    {
      names: ['cni'],
      usage: 'cni pod|worker',
      help: "a pod's last CNI invocation: each plugin's environment, stdin config and result JSON (a deleted pod's: its DEL); a worker's conflist and subnet.env",
      async run([name]) {
        if (!name) {
          io.err('*** usage: cni <pod|worker>\n');
          return 1;
        }
        const n = sim.nodes.get(name);
        if (n instanceof WorkerNode) return showWorkerCni(n, io);
        if (n && !(n instanceof PodNode)) throw new Error(`${name} is a ${n.kind}, not a pod or a worker`);
        // a pod, or one that was deleted: its worker kept the last invocation (the DEL)
        const found = n
          ? [worker(sim, n.worker).cni.lastInvocation(name)]
          : [...sim.nodes.values()].map((w) =>
              w instanceof WorkerNode ? w.cni.lastInvocation(name) : undefined,
            );
        const invs = found.filter((i) => i !== undefined);
        if (!invs.length) {
          io.err(
            n
              ? `*** ${name} was not wired by CNI (its cluster has cni: false)\n`
              : `*** no pod "${name}", and no worker has a CNI invocation for it\n`,
          );
          return 1;
        }
        for (const inv of invs) io.out(formatInvocation(inv));
        return 0;
      },
    },
  ];
}

/** A worker's CNI configuration, as kubelet and flannel's plugin read it. */
function showWorkerCni(w: WorkerNode, io: Io): number {
  const files = [
    { path: w.cni.conflistPath, onNode: '/etc/cni/net.d/10-flannel.conflist' },
    { path: w.subnetFile, onNode: '/run/flannel/subnet.env' },
  ];
  if (!existsSync(files[0].path)) {
    io.err(`*** ${w.name} has no CNI configuration (its cluster has cni: false)\n`);
    return 1;
  }
  for (const f of files) {
    if (!existsSync(f.path)) continue;
    io.out(`# ${f.path} (${f.onNode} on a node)\n${readFileSync(f.path, 'utf8')}`);
  }
  return 0;
}

/** Interrupts a streaming execContainer started from JavaScript (Ctrl-C). */
export function interruptWorkers(sim: Simulation): boolean {
  let any = false;
  for (const n of sim.nodes.values()) if (n instanceof WorkerNode && n.interrupt()) any = true;
  return any;
}
