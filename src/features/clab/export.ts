// netsim model -> containerlab topology, for a user who outgrows one machine (containerlab,
// or clabernetes, which spreads a .clab.yml over a Kubernetes cluster). Every node becomes a
// `linux` container: hosts and static routers configure themselves with `exec` lines, FRR
// routers bind their frr.conf and daemons files (rendered configs are written next to the
// exported file), switches make a bridge of their ports inside the container (a clab
// `bridge` would have to exist on the host beforehand). A `netsim.kind` label lets
// `netsim import` restore the kinds.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { Model } from '../../model/model.js';
import { buildPlan } from '../../plan/plan.js';
import { formatIp } from '../../util/ipv4.js';
import { formatIp6 } from '../../util/ipv6.js';
import { frrSetupOf, hasFrr } from '../frr/setup.js';

export const IMAGES = {
  host: 'nicolaka/netshoot:latest',
  frr: 'quay.io/frrouting/frr:8.4.4',
};

export interface Exported {
  yaml: string;
  /** files written besides the topology (rendered frr.conf, daemons) */
  files: string[];
  /** what has no containerlab equivalent */
  notes: string[];
}

const K8S_KINDS = new Set(['worker', 'pod', 'etcd']);

/**
 * The containerlab file for `model`, to be written at `outFile` (binds are relative to it).
 * With `write`, the FRR files it binds are written under `<dir of outFile>/<node>/`.
 */
export function exportClab(model: Model, outFile: string, opts: { write?: boolean } = {}): Exported {
  const outDir = dirname(resolve(outFile));
  const plan = buildPlan(model);
  const notes: string[] = [];
  const files: string[] = [];
  const nodes: Record<string, Record<string, unknown>> = {};
  const skipped = new Set<string>();
  const rel = (p: string) => {
    const r = relative(outDir, p);
    return r.startsWith('.') ? r : `./${r}`;
  };
  for (const node of model.nodes.values()) {
    if (K8S_KINDS.has(node.kind)) {
      skipped.add(node.name);
      continue;
    }
    const script = plan.script(node.ns);
    const routes = script.ip.filter((l) => l.startsWith('route ')).map((l) => `ip ${l}`);
    const sysctls = Object.keys(script.sysctls).length ? { ...script.sysctls } : undefined;
    const labels: Record<string, string> = { [KIND_LABEL]: node.kind, ...strings(node.spec.labels) };
    const userExec = Array.isArray(node.spec.exec) ? (node.spec.exec as string[]) : [];
    if (node.kind === 'switch') {
      const ports = node.ifaces.map((i) => i.name);
      nodes[node.name] = {
        kind: 'linux',
        image: IMAGES.host,
        labels,
        exec: [
          'ip link add br0 type bridge stp_state 0',
          ...ports.map((p) => `ip link set ${p} master br0`),
          'ip link set br0 up',
        ],
      };
      continue;
    }
    if (node.kind === 'router' && hasFrr(node)) {
      const setup = frrSetupOf(node, model)!;
      const dir = join(outDir, node.name);
      let confPath = setup.configFile;
      if (!confPath) {
        confPath = join(dir, 'frr.conf');
        if (opts.write) {
          mkdirSync(dir, { recursive: true });
          writeFileSync(confPath, setup.config);
        }
        files.push(confPath);
      }
      let daemonsPath = setup.daemonsFile;
      if (!daemonsPath) {
        daemonsPath = join(dir, 'daemons');
        if (opts.write) {
          mkdirSync(dir, { recursive: true });
          writeFileSync(daemonsPath, daemonsText(setup.daemons.runs));
        }
        files.push(daemonsPath);
      }
      nodes[node.name] = {
        kind: 'linux',
        image: IMAGES.frr,
        labels,
        binds: [`${rel(confPath)}:/etc/frr/frr.conf`, `${rel(daemonsPath)}:/etc/frr/daemons`],
        ...(sysctls ? { sysctls } : {}),
        ...(userExec.length ? { exec: userExec } : {}),
      };
      continue;
    }
    // hosts and static routers: their routes (and forwarding) as exec lines
    const exec = [...routes, ...userExec];
    nodes[node.name] = {
      kind: 'linux',
      image: node.kind === 'router' ? IMAGES.frr : IMAGES.host,
      labels,
      ...(sysctls ? { sysctls } : {}),
      ...(exec.length ? { exec } : {}),
    };
  }
  const links: Record<string, unknown>[] = [];
  for (const l of model.links) {
    if (skipped.has(l.ends[0].node) || skipped.has(l.ends[1].node)) continue;
    const ifaces = l.ends.map((e) => model.nodes.get(e.node)!.ifaces.find((x) => x.name === e.name)!);
    const addr = ifaces.map((i) => (i.addr ? `${formatIp(i.addr.ip)}/${i.addr.prefix}` : null));
    const addr6 = ifaces.map((i) => (i.addr6 ? `${formatIp6(i.addr6.ip)}/${i.addr6.prefix}` : null));
    links.push({
      endpoints: l.ends.map((e) => `${e.node}:${e.name}`),
      ...(l.spec.mtu ? { mtu: l.spec.mtu } : { mtu: 1500 }),
      ...(addr.some((a) => a) ? { ipv4: addr } : {}),
      ...(addr6.some((a) => a) ? { ipv6: addr6 } : {}),
    });
    for (const f of ['rate', 'delay', 'jitter', 'loss'] as const)
      if (l.spec[f])
        notes.push(
          `link ${l.ends[0].node}-${l.ends[1].node}: ${f} ${l.spec[f]} is not exported (use containerlab's tools netem)`,
        );
  }
  if (skipped.size)
    notes.push(
      `Kubernetes nodes are not exported (${[...skipped].slice(0, 6).join(', ')}${skipped.size > 6 ? ', ...' : ''}): they run netsim's etcd, flannel and kube-proxy agents; run a real cluster (kind, k3s) on the exported underlay`,
    );
  const doc = { name: model.name, topology: { nodes, links } };
  const header = `# exported by netsim from ${model.source.file}\n# run with: containerlab deploy -t ${relative(process.cwd(), resolve(outFile))}\n`;
  return { yaml: header + stringify(doc, { lineWidth: 0 }), files, notes };
}

function strings(v: unknown): Record<string, string> {
  return v && typeof v === 'object'
    ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)]))
    : {};
}

/** A Debian-style daemons file for the daemons a rendered config runs. */
function daemonsText(runs: { daemon: string; instance?: number }[]): string {
  const names = [...new Set(runs.map((r) => r.daemon))];
  const lines = names.filter((d) => d !== 'zebra').map((d) => `${d}=yes`);
  const instances = runs.filter((r) => r.daemon === 'ospfd' && r.instance).map((r) => r.instance);
  if (instances.length) lines.push(`ospfd_instances=${instances.join(',')}`);
  return `${lines.join('\n')}\nvtysh_enable=yes\nzebra_options="  -A 127.0.0.1 -s 90000000"\n`;
}

/** The label that tells `netsim import` which netsim kind an exported linux node was. */
export const KIND_LABEL = 'netsim.kind';
