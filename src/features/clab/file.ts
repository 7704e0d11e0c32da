// containerlab topology files (.clab.yml): reading, `${VAR}` expansion, the schema of the
// fields netsim understands, and the inheritance of node settings
// (node > group > kind > defaults). Every resolved value keeps the YAML path it came from,
// so errors point at the line the user wrote.
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { IssueSink, type Path, TopologyError } from '../../model/errors.js';
import { readInput, YamlSource } from '../../model/source.js';
import { zodIssues } from '../../model/validate.js';

const stringList = z.array(z.string({ error: 'a string' }), { error: 'a list of strings' });
const stringMap = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]), {
  error: 'a map of names to values',
});

/** Node settings: in a node, a group, a kind or the defaults. Other clab fields pass (ignored). */
export const clabNodeSettings = z.looseObject({
  kind: z.string({ error: 'a kind name like linux' }).optional(),
  group: z.string().optional(),
  image: z.string().optional(),
  binds: stringList.optional(),
  exec: stringList.optional(),
  env: stringMap.optional(),
  labels: stringMap.optional(),
  sysctls: stringMap.optional(),
  'startup-config': z.string().optional(),
  'mgmt-ipv4': z.string().optional(),
  'mgmt-ipv6': z.string().optional(),
});
export type ClabNodeSettings = z.infer<typeof clabNodeSettings>;

const endpointObject = z.looseObject({
  node: z.string({ error: 'the node of this end' }),
  interface: z.string({ error: 'the interface of this end' }).optional(),
  mac: z.string().optional(),
  ipv4: z.string().optional(),
  ipv6: z.string().optional(),
});

export const clabLink = z.looseObject({
  type: z.string().optional(),
  endpoints: z.array(z.union([z.string(), endpointObject]), { error: 'a list of endpoints' }).optional(),
  /** single-ended link types (host, mgmt-net, macvlan, dummy) */
  endpoint: z.union([z.string(), endpointObject]).optional(),
  mtu: z.number({ error: 'an MTU (a number)' }).int().min(68).max(65535).optional(),
  /** one address per end (containerlab: 1 or 2 entries, "" for an end without one) */
  ipv4: z.array(z.string().nullable()).optional(),
  ipv6: z.array(z.string().nullable()).optional(),
  vars: z.unknown().optional(),
  labels: z.unknown().optional(),
});
export type ClabLink = z.infer<typeof clabLink>;

export const clabFile = z.looseObject({
  name: z.string({ error: 'the lab name (required)' }),
  prefix: z.string().optional(),
  mgmt: z.unknown().optional(),
  settings: z.unknown().optional(),
  topology: z.looseObject(
    {
      defaults: clabNodeSettings.optional(),
      kinds: z.record(z.string(), clabNodeSettings).optional(),
      groups: z.record(z.string(), clabNodeSettings).optional(),
      nodes: z.record(z.string(), clabNodeSettings.nullable(), { error: 'a map of node names' }),
      links: z.array(clabLink, { error: 'a list of links' }).optional(),
    },
    { error: 'the topology (nodes, links, kinds, groups, defaults)' },
  ),
});
export type ClabFile = z.infer<typeof clabFile>;

/** A bind after inheritance and variable expansion: absolute source, with where it was written. */
export interface Bind {
  src: string;
  dst: string;
  mode?: string;
  path: Path;
}

/** A node with everything inherited, each field's origin remembered. */
export interface ResolvedNode {
  name: string;
  kind: string;
  kindPath: Path;
  image?: string;
  binds: Bind[];
  exec: { line: string; path: Path }[];
  env: Record<string, string>;
  labels: Record<string, string>;
  sysctls: Record<string, string>;
  startupConfig?: string;
  /** fields netsim reads but does not emulate (image, mgmt-ipv4, ports, ...) */
  ignored: string[];
}

export interface ClabLab {
  file: string;
  dir: string;
  name: string;
  source: YamlSource;
  raw: ClabFile;
  nodes: Map<string, ResolvedNode>;
}

/**
 * `${VAR}`, `${VAR:=default}` and `${VAR:-default}` from the environment, as containerlab
 * expands them before parsing; a variable that is unset and has no default expands to "".
 * Substitutions stay on their line, so line numbers still match the file.
 */
export function expandVars(text: string, env: NodeJS.ProcessEnv = process.env): string {
  return text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[=-]([^}]*))?\}/g,
    (_m, name: string, def?: string) => {
      const v = env[name];
      return v !== undefined && v !== '' ? v : (def ?? '');
    },
  );
}

/** containerlab's per-lab directory: clab-<name> next to the file. */
export function labDirName(name: string, prefix?: string): string {
  if (prefix === '' || prefix === '__lab-name') return name;
  return `${prefix ?? 'clab'}-${name}`;
}

/** What containerlab puts before a node's name in its container's name (undefined: nothing). */
export function longNamePrefix(name: string, prefix?: string): string | undefined {
  if (prefix === '') return undefined;
  return prefix === '__lab-name' ? name : `${prefix ?? 'clab'}-${name}`;
}

export function readClab(file: string): ClabLab {
  return parseClab(file, readInput(file));
}

export function parseClab(file: string, text: string, env: NodeJS.ProcessEnv = process.env): ClabLab {
  const { source, value } = YamlSource.parse(file, expandVars(text, env));
  const sink = new IssueSink(source);
  if (value === null || value === undefined)
    throw new TopologyError([
      {
        path: [],
        message: 'empty file: a containerlab topology has name and topology',
        pos: { file, line: 1, col: 1 },
      },
    ]);
  const parsed = clabFile.safeParse(value);
  if (!parsed.success) {
    zodIssues(parsed.error, [], sink, clabFile, value);
    sink.throwIfAny();
  }
  const raw = parsed.data!;
  const dir = dirname(resolve(file));
  const lab: ClabLab = { file, dir, name: raw.name, source, raw, nodes: new Map() };
  const topo = raw.topology;
  for (const [name, spec] of Object.entries(topo.nodes)) {
    const node = resolveNode(lab, name, spec ?? {}, sink);
    if (node) lab.nodes.set(name, node);
  }
  sink.throwIfAny();
  return lab;
}

/** Applies defaults, then the kind's settings, then the group's, then the node's own. */
function resolveNode(
  lab: ClabLab,
  name: string,
  own: ClabNodeSettings,
  sink: IssueSink,
): ResolvedNode | undefined {
  const topo = lab.raw.topology;
  const nodePath: Path = ['topology', 'nodes', name];
  const groupName = own.group ?? topo.defaults?.group;
  const group = groupName !== undefined ? topo.groups?.[groupName] : undefined;
  if (groupName !== undefined && !group) {
    sink.add(
      [...nodePath, 'group'],
      `unknown group "${groupName}" (topology.groups: ${Object.keys(topo.groups ?? {}).join(', ') || 'none'})`,
    );
    return undefined;
  }
  const kindName = own.kind ?? group?.kind ?? topo.defaults?.kind;
  if (kindName === undefined) {
    sink.add(nodePath, 'no kind: give the node (or its group, or topology.defaults) a kind');
    return undefined;
  }
  const kindPath: Path = own.kind
    ? [...nodePath, 'kind']
    : group?.kind
      ? ['topology', 'groups', groupName!, 'kind']
      : ['topology', 'defaults', 'kind'];
  const kindSettings = topo.kinds?.[kindName];
  // lowest first: what a later layer gives wins
  const layers: { s: ClabNodeSettings; path: Path }[] = [];
  if (topo.defaults) layers.push({ s: topo.defaults, path: ['topology', 'defaults'] });
  if (kindSettings) layers.push({ s: kindSettings, path: ['topology', 'kinds', kindName] });
  if (group) layers.push({ s: group, path: ['topology', 'groups', groupName!] });
  layers.push({ s: own, path: nodePath });

  const node: ResolvedNode = {
    name,
    kind: kindName,
    kindPath,
    binds: [],
    exec: [],
    env: {},
    labels: {},
    sysctls: {},
    ignored: [],
  };
  const labDir = `${lab.dir}/${labDirName(lab.name, lab.raw.prefix)}`;
  const magic = (s: string) =>
    s
      .replaceAll('__clabNodeName__', name)
      .replaceAll('__clabNodeDir__', `${labDir}/${name}`)
      .replaceAll('__clabDir__', labDir);
  const binds = new Map<string, Bind>();
  for (const { s, path } of layers) {
    if (s.image !== undefined) node.image = s.image;
    if (s['startup-config'] !== undefined) node.startupConfig = magic(s['startup-config']);
    for (const [k, v] of Object.entries(s.env ?? {})) node.env[k] = String(v);
    for (const [k, v] of Object.entries(s.labels ?? {})) node.labels[k] = String(v);
    for (const [k, v] of Object.entries(s.sysctls ?? {})) node.sysctls[k] = String(v);
    s.exec?.forEach((line, i) => {
      node.exec.push({ line, path: [...path, 'exec', i] });
    });
    s.binds?.forEach((b, i) => {
      const bpath: Path = [...path, 'binds', i];
      const parts = magic(b).split(':');
      if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) {
        sink.add(bpath, `bind "${b}" must be "source:destination" or "source:destination:ro"`);
        return;
      }
      const src = resolve(lab.dir, parts[0]);
      // a lower layer's bind to the same destination is replaced
      binds.set(parts[1], { src, dst: parts[1], mode: parts[2], path: bpath });
    });
    for (const key of Object.keys(s))
      if (!KNOWN.has(key) && !node.ignored.includes(key)) node.ignored.push(key);
  }
  node.binds = [...binds.values()];
  return node;
}

// image and the rest are read, not emulated: nodes are namespaces, not containers
const KNOWN = new Set(['kind', 'group', 'binds', 'exec', 'env', 'labels', 'sysctls', 'startup-config']);
