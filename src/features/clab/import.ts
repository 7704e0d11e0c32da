// containerlab lab -> netsim topology spec. Kinds map onto netsim's: a `linux` node that binds
// /etc/frr/frr.conf is an FRR router running that file (and its daemons file), other `linux`
// nodes are hosts, bridges and L2-only NOS images (cEOS without a startup config) are switches.
// Links keep containerlab's interface names and MTU; addresses are only those the lab gives
// (links' and endpoints' ipv4/ipv6, the routers' frr.conf `ip address` and `ipv6 address`
// lines, an address mapping file), as containerlab adds none.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, relative } from 'node:path';
import { stringify } from 'yaml';
import {
  IssueSink,
  type Path,
  type SourceLocator,
  type SourcePos,
  TopologyError,
} from '../../model/errors.js';
import { SIM_NAME_RE, type TopologySpec } from '../../model/spec.js';
import { parseCidr } from '../../util/ipv4.js';
import { interfaceAddresses } from '../frr/interfaces.js';
import { KIND_LABEL } from './export.js';
import { type ClabLab, longNamePrefix, readClab } from './file.js';
import { interfaceAddresses6 } from './frr-ipv6.js';
import { addressSetter, convertLinks, type Origin } from './import-links.js';
import { type AddressMapping, findMapping, readMapping } from './mapping.js';

export { CLAB_MTU } from './import-links.js';

const SWITCH_KINDS = new Set(['bridge', 'ovs-bridge']);
/** NOS images netsim can stand in for as a plain L2 switch (all ports in one VLAN) */
const L2_NOS_KINDS = new Set(['ceos', 'arista_ceos']);
const HOST_SIDE_KINDS = new Set(['host', 'ext-container']);
const FRR_CONF = '/etc/frr/frr.conf';
const FRR_DAEMONS = '/etc/frr/daemons';

export interface ImportOptions {
  /** an address mapping file (`<node> <cidr> <gateway>` per line); default: found among binds */
  ipMapping?: string;
  /** simulation name (default: the lab name, made valid) */
  simName?: string;
}

export interface Imported {
  spec: TopologySpec;
  source: SourceLocator;
  /** what was adapted or left out, one line each, for the user to read */
  notes: string[];
  lab: ClabLab;
  /** netsim spec path -> clab path, for messages */
  pathOf(path: Path): Path;
}

class ClabSource implements SourceLocator {
  readonly origins = new Map<string, Origin>();
  constructor(private readonly lab: ClabLab) {}

  get file(): string {
    return this.lab.file;
  }

  set(path: Path, origin: Origin): void {
    this.origins.set(JSON.stringify(path), origin);
  }

  /** the origin of the longest prefix of `path` that has one */
  origin(path: Path): Origin {
    for (let i = path.length; i > 0; i--) {
      const o = this.origins.get(JSON.stringify(path.slice(0, i)));
      if (o) return o;
    }
    return { path: [] };
  }

  locate(path: Path): SourcePos {
    const o = this.origin(path);
    return 'pos' in o ? o.pos : this.lab.source.locate(o.path);
  }
}

export function validSimName(labName: string): string {
  const s = labName
    .replace(/[^A-Za-z0-9_]/g, '_')
    .replace(/^_+/, '')
    .slice(0, 24);
  return SIM_NAME_RE.test(s) ? s : 'clab';
}

export function importClabFile(file: string, opts: ImportOptions = {}): Imported {
  return importClab(readClab(file), opts);
}

export function importClab(lab: ClabLab, opts: ImportOptions = {}): Imported {
  const source = new ClabSource(lab);
  const sink = new IssueSink(lab.source);
  const notes: string[] = [];
  const nodes: TopologySpec['nodes'] = {};

  // 1. links first: they name the interfaces that addresses attach to
  const origin = (path: Path, o: Origin) => source.set(path, o);
  const { links, ends } = convertLinks(lab, sink, origin);
  const setAddress = addressSetter(links, ends, origin);

  // 2. the address mapping (hosts addressed by an init script from a file)
  let mapping: AddressMapping | undefined;
  if (opts.ipMapping) mapping = readMapping(opts.ipMapping);
  else mapping = findMapping(lab);
  const mapped = new Set<string>();
  if (mapping) {
    for (const e of mapping.entries) {
      if (!lab.nodes.has(e.node)) continue;
      const nodeEnds = ends.filter((x) => x.node === e.node);
      const iface = nodeEnds.find((x) => x.iface === 'eth1')?.iface ?? nodeEnds[0]?.iface;
      const pos = { file: mapping.file, line: e.line, col: 1 };
      if (!iface) {
        notes.push(`${mapping.file}:${e.line}: ${e.node} has no link: its address ${e.cidr} is not used`);
        continue;
      }
      setAddress('ipv4', e.node, iface, e.cidr, { pos });
      mapped.add(e.node);
      nodes[e.node] = { kind: 'host', gateway: e.gateway };
      source.set(['nodes', e.node, 'gateway'], { pos });
    }
    notes.push(
      `addressing ${mapped.size} nodes from ${mapping.file} (<node> <cidr> <gateway>): the address on eth1 and the gateway as default route, in place of the init script that reads it`,
    );
  }

  // 3. nodes
  let unmounted = 0;
  let missingUnused = 0;
  const replacedExec: string[] = [];
  const ignoredFields = new Set<string>();
  for (const node of lab.nodes.values()) {
    const nodePath: Path = ['topology', 'nodes', node.name];
    source.set(['nodes', node.name], { path: nodePath });
    source.set(['nodes', node.name, 'kind'], { path: node.kindPath });
    for (const f of node.ignored) ignoredFields.add(f);
    const spec: Record<string, unknown> & { kind: string } = (nodes[node.name] as never) ?? { kind: 'host' };
    const frrConf = node.binds.find((b) => b.dst === FRR_CONF);
    if (HOST_SIDE_KINDS.has(node.kind)) {
      sink.add(
        node.kindPath,
        `kind "${node.kind}" is the host machine itself: a simulation never touches the host (use kind linux)`,
      );
      continue;
    }
    const exported = node.labels[KIND_LABEL];
    delete node.labels[KIND_LABEL];
    if (node.kind === 'linux' && exported === 'switch') {
      // exported by netsim: a container that bridges its ports
      spec.kind = 'switch';
      node.exec = [];
    } else if (SWITCH_KINDS.has(node.kind) || L2_NOS_KINDS.has(node.kind)) {
      spec.kind = 'switch';
      if (L2_NOS_KINDS.has(node.kind) && node.startupConfig)
        notes.push(
          `${node.name}: the ${node.kind} startup-config is not run: netsim makes it a plain L2 switch (one VLAN, STP off)`,
        );
    } else if (node.kind === 'linux') {
      if (exported === 'router') spec.kind = 'router';
      if (frrConf) {
        spec.kind = 'router';
        const daemons = node.binds.find((b) => b.dst === FRR_DAEMONS);
        spec.frr = { config: frrConf.src, ...(daemons ? { daemons: daemons.src } : {}) };
        source.set(['nodes', node.name, 'frr'], { path: frrConf.path });
        source.set(['nodes', node.name, 'frr', 'config'], { path: frrConf.path });
        if (daemons) source.set(['nodes', node.name, 'frr', 'daemons'], { path: daemons.path });
      }
    } else {
      sink.add(
        node.kindPath,
        `kind "${node.kind}" (a vendor NOS image) cannot run here: netsim runs linux nodes (hosts, FRR routers), bridge/ovs-bridge and ceos as L2 switches`,
      );
      continue;
    }
    // binds: mounted at their destinations in the node's own mount namespace (FRR also reads
    // its files from there). A missing source is an error where the node needs it: FRR's files
    // and files its exec lines use (unless the address mapping replaces those lines).
    const execLines = node.exec.map((e) => e.line);
    const dropped = new Set<number>();
    const mounted: string[] = [];
    for (const b of node.binds) {
      const present = existsSync(b.src);
      if (present && b.dst.startsWith('/')) {
        mounted.push(`${b.src}:${b.dst}${b.mode === 'ro' ? ':ro' : ''}`);
        if (b.dst !== FRR_CONF && b.dst !== FRR_DAEMONS) unmounted++;
      }
      if (present) continue;
      const users = execLines.flatMap((l, i) => (l.includes(b.dst) ? [i] : []));
      if (mapped.has(node.name) && users.length) {
        for (const i of users) dropped.add(i);
        continue;
      }
      if (b.dst.startsWith('/etc/frr/') || users.length)
        sink.add(
          b.path,
          `bind source not found: ${b.src}${users.length ? ` (used by exec line ${users[0] + 1})` : ''}`,
        );
      else missingUnused++;
    }
    if (mounted.length && spec.kind !== 'switch') spec.binds = mounted;
    if (spec.kind === 'switch') {
      // a switch runs no commands; its exec lines configure a NOS
      if (node.exec.length)
        notes.push(
          `${node.name}: exec lines of a ${node.kind} are not run (netsim switches are Linux bridges)`,
        );
    } else {
      const env = Object.entries(node.env)
        .map(([k, v]) => `export ${k}=${shellQuote(v)}; `)
        .join('');
      const kept = node.exec.filter((_, i) => !dropped.has(i));
      if (kept.length) {
        spec.exec = kept.map((e) => `${env}${e.line}`);
        kept.forEach((e, i) => {
          source.set(['nodes', node.name, 'exec', i], { path: e.path });
        });
      }
      if (dropped.size) replacedExec.push(node.name);
    }
    if (Object.keys(node.labels).length) spec.labels = node.labels;
    if (Object.keys(node.sysctls).length) spec.sysctls = node.sysctls;
    nodes[node.name] = spec;
  }
  sink.throwIfAny();

  // 4. routers: the addresses their frr.conf sets, so the model (net, check, trace) knows them
  for (const [name, spec] of Object.entries(nodes)) {
    const frr = spec.frr as { config: string } | undefined;
    if (!frr || !existsSync(frr.config) || !statSync(frr.config).isFile()) continue;
    const conf = readFileSync(frr.config, 'utf8');
    for (const a of interfaceAddresses(conf)) {
      if (!parseCidr(a.cidr)) continue;
      setAddress('ipv4', name, a.iface, a.cidr, { pos: { file: frr.config, line: a.line, col: 1 } });
    }
    for (const a of interfaceAddresses6(conf))
      setAddress('ipv6', name, a.iface, a.cidr, { pos: { file: frr.config, line: a.line, col: 1 } });
  }
  if (replacedExec.length)
    notes.push(
      `exec lines that run a missing init script are replaced by the address mapping on ${replacedExec.length} nodes (${replacedExec.slice(0, 3).join(', ')}${replacedExec.length > 3 ? ', ...' : ''})`,
    );
  if (unmounted || missingUnused)
    notes.push(
      `${unmounted} bind(s) besides FRR's files are mounted in their node's own mount namespace${missingUnused ? ` (${missingUnused} more have no source; nothing here uses them)` : ''}`,
    );
  if (ignoredFields.size)
    notes.push(`not emulated (containers only): ${[...ignoredFields].sort().join(', ')}`);

  const spec: TopologySpec = {
    name: opts.simName ?? validSimName(lab.name),
    addressing: { automatic: false },
    nodes,
    links,
    hosts: { prefix: longNamePrefix(lab.name, lab.raw.prefix) },
  };
  const pathOf = (p: Path): Path => (source.origin(p) as { path?: Path }).path ?? p;
  return { spec, source, notes, lab, pathOf };
}

/** Validation errors of the generated spec, re-pathed to the clab file's fields. */
export function clabIssues(err: TopologyError, imported: Imported): TopologyError {
  return new TopologyError(
    err.issues.map((i) => {
      const o = imported.pathOf(i.path);
      return { ...i, path: o.length ? o : i.path };
    }),
  );
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]*$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

export const isClabFile = (file: string) => /\.clab\.ya?ml$/.test(basename(file));

/**
 * The imported topology as a netsim YAML file. FRR file paths become relative to `dir` (where
 * the file will be written), or stay absolute for standard output.
 */
export function netsimYaml(spec: TopologySpec, dir: string | undefined, from: string): string {
  const nodes = Object.fromEntries(
    Object.entries(spec.nodes).map(([name, n]) => {
      const frr = n.frr as { config: string; daemons?: string } | undefined;
      if (!frr || !dir) return [name, n];
      const r = (p: string) => relative(dir, p);
      return [
        name,
        { ...n, frr: { config: r(frr.config), ...(frr.daemons ? { daemons: r(frr.daemons) } : {}) } },
      ];
    }),
  );
  return `# imported by netsim from ${from}\n${stringify({ ...spec, nodes }, { lineWidth: 0, collectionStyle: 'any' })}`;
}
