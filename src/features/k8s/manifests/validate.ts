// Manifests checked before anything is applied: each document against its kind's schema, then
// against the cluster (workers, service CIDR, names, named target ports). Every problem is an
// issue located in its file; the fields netsim accepts without emulating them become notes.
import type { z } from 'zod';
import { type Issue, type Path, type SourceLocator, TopologyError } from '../../../model/errors.js';
import type { Cidr } from '../../../util/ipv4.js';
import { selects } from '../services/objects.js';
import { checkService, type ServiceSpec } from '../services/schema.js';
import { POD_NAME_RE } from '../spec.js';
import {
  IGNORED,
  KINDS,
  type Kind,
  type PodManifest,
  type PolicyManifest,
  type ServiceManifest,
} from './schema.js';

export interface ManifestDoc {
  source: SourceLocator;
  value: unknown;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol: 'TCP' | 'UDP';
}

interface Base {
  name: string;
  namespace: string;
  /** the document it came from (to locate apply-time errors) */
  source: SourceLocator;
}
export interface DesiredPod extends Base {
  kind: 'Pod';
  labels: Record<string, string>;
  command?: string;
  nodeName?: string;
  ports: ContainerPort[];
}
export interface DesiredService extends Base {
  kind: 'Service';
  spec: ServiceSpec;
}
export interface DesiredPolicy extends Base {
  kind: 'NetworkPolicy';
  spec: PolicyManifest['spec'];
}
export type Desired = DesiredPod | DesiredService | DesiredPolicy;

export interface ValidationContext {
  workers: string[];
  resolveWorker(name: string): string | undefined;
  serviceCidr: Cidr;
  /** pods applied before, with their container ports (for named target ports) */
  knownPods: DesiredPod[];
  /** why a pod may not take this name (another node has it), or undefined */
  podNameTaken(name: string): string | undefined;
  /** for `delete -f`: the objects are only named, named target ports are not resolved */
  forDelete?: boolean;
}

export interface Validated {
  objects: Desired[];
  /** one line per file: the fields accepted but not emulated */
  notes: string[];
}

const KNOWN = Object.entries(KINDS)
  .map(([k, v]) => `${k} (${v.apiVersion})`)
  .join(', ');

/** A shell line from a container's command and args (the pod's command is one shell line). */
export function shellLine(words: string[]): string {
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`)).join(' ');
}

/** The fields of `o` among `keys` that were given. */
function present(o: object, keys: readonly string[]): string[] {
  return keys.filter((k) => (o as Record<string, unknown>)[k] !== undefined);
}

function zodIssues(err: z.ZodError, add: (path: Path, message: string) => void): void {
  for (const i of err.issues) {
    const path = i.path as Path;
    if (i.code === 'unrecognized_keys')
      for (const k of i.keys) add([...path, k], `unknown field "${k}" (not a field netsim knows here)`);
    else add(path, i.message);
  }
}

export function validateManifests(docs: ManifestDoc[], ctx: ValidationContext): Validated {
  const issues: Issue[] = [];
  const objects: Desired[] = [];
  const notes = new Map<string, Set<string>>();
  const seen = new Set<string>();
  for (const doc of docs) {
    const add = (path: Path, message: string) => issues.push({ path, message, pos: doc.source.locate(path) });
    const note = (field: string) => {
      const set = notes.get(doc.source.file) ?? new Set<string>();
      set.add(field);
      notes.set(doc.source.file, set);
    };
    const v = doc.value as Record<string, unknown>;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      add([], 'a manifest is a mapping with apiVersion, kind, metadata and spec');
      continue;
    }
    if (v.kind === undefined) {
      add(['kind'], `required: kind (netsim knows ${KNOWN})`);
      continue;
    }
    const kind = String(v.kind) as Kind;
    const known = Object.hasOwn(KINDS, kind) ? KINDS[kind] : undefined;
    if (!known) {
      add(
        ['kind'],
        `unknown kind "${String(v.kind)}" (apiVersion ${String(v.apiVersion)}): netsim knows ${KNOWN}`,
      );
      continue;
    }
    if (v.apiVersion !== known.apiVersion) {
      add(
        ['apiVersion'],
        v.apiVersion === undefined
          ? `required: apiVersion (${known.apiVersion} for ${kind})`
          : `${kind} is ${known.apiVersion}, not "${String(v.apiVersion)}"`,
      );
      continue;
    }
    const res = known.schema.safeParse(v);
    if (!res.success) {
      zodIssues(res.error, add);
      continue;
    }
    const m = res.data as PodManifest | ServiceManifest | PolicyManifest;
    const name = m.metadata.name;
    const namespace = m.metadata.namespace ?? 'default';
    if (namespace !== 'default') {
      add(
        ['metadata', 'namespace'],
        `namespace "${namespace}": netsim clusters have only the default namespace so far (namespaces come later)`,
      );
      continue;
    }
    const key = `${kind}/${namespace}/${name}`;
    if (seen.has(key)) {
      add(['metadata', 'name'], `${kind} "${name}" is given twice in this input`);
      continue;
    }
    seen.add(key);
    for (const f of present(m.metadata, IGNORED.metadata)) note(`metadata.${f}`);
    if ((v as { status?: unknown }).status !== undefined) note('status');
    const base = { name, namespace, source: doc.source };
    if (kind === 'Pod') {
      const pod = checkPod(m as PodManifest, base, ctx, add, note);
      if (pod) objects.push(pod);
    } else if (kind === 'Service') {
      objects.push({ kind, ...base, spec: serviceSpec(m as ServiceManifest, note) });
    } else {
      objects.push({ kind: 'NetworkPolicy', ...base, spec: (m as PolicyManifest).spec });
    }
  }
  // services last: their named target ports are resolved from the pods of the input
  for (const o of objects)
    if (o.kind === 'Service') {
      const add = (path: Path, message: string) => issues.push({ path, message, pos: o.source.locate(path) });
      checkServiceObject(o, objects, ctx, add);
    }
  if (issues.length) throw new TopologyError(issues);
  return {
    objects,
    notes: [...notes].map(
      ([file, fields]) =>
        `${file}: not emulated by netsim (accepted, without effect): ${[...fields].join(', ')}`,
    ),
  };
}

function checkPod(
  m: PodManifest,
  base: Omit<DesiredPod, 'kind' | 'labels' | 'ports'>,
  ctx: ValidationContext,
  add: (path: Path, message: string) => void,
  note: (field: string) => void,
): DesiredPod | undefined {
  const { spec } = m;
  if (!POD_NAME_RE.test(base.name)) {
    add(['metadata', 'name'], `pod names are at most 32 lower-case letters, digits and - in netsim`);
    return undefined;
  }
  const taken = ctx.podNameTaken(base.name);
  if (taken) {
    add(['metadata', 'name'], `"${base.name}" is already ${taken}: pick another pod name`);
    return undefined;
  }
  let nodeName: string | undefined;
  if (spec.nodeName !== undefined) {
    nodeName = ctx.resolveWorker(spec.nodeName);
    if (!nodeName) {
      add(['spec', 'nodeName'], `unknown worker "${spec.nodeName}" (workers: ${ctx.workers.join(', ')})`);
      return undefined;
    }
  }
  for (const f of present(spec, IGNORED.podSpec)) note(`spec.${f}`);
  const [first] = spec.containers;
  if (first.args && !first.command) {
    add(
      ['spec', 'containers', 0, 'args'],
      'args without command: netsim runs no image entrypoint, give command too',
    );
    return undefined;
  }
  const ports: ContainerPort[] = [];
  const names = new Set<string>();
  let bad = false;
  spec.containers.forEach((c, i) => {
    for (const f of present(c, IGNORED.container)) note(`spec.containers[].${f}`);
    if (i > 0 && (c.command || c.args)) note('spec.containers[1..].command (only the first container runs)');
    (c.ports ?? []).forEach((p, j) => {
      for (const f of present(p, IGNORED.containerPort)) note(`spec.containers[].ports[].${f}`);
      if (p.name && names.has(p.name)) {
        add(['spec', 'containers', i, 'ports', j, 'name'], `port name "${p.name}" is used twice in this pod`);
        bad = true;
      }
      if (p.name) names.add(p.name);
      ports.push({
        ...(p.name ? { name: p.name } : {}),
        containerPort: p.containerPort,
        protocol: p.protocol ?? 'TCP',
      });
    });
  });
  if (bad) return undefined;
  const words = [...(first.command ?? []), ...(first.args ?? [])];
  return {
    kind: 'Pod',
    ...base,
    labels: m.metadata.labels ?? {},
    ...(words.length ? { command: shellLine(words) } : {}),
    ...(nodeName ? { nodeName } : {}),
    ports,
  };
}

/** The cluster's service spec; a named targetPort stays a name until checkServiceObject. */
function serviceSpec(m: ServiceManifest, note: (field: string) => void): ServiceSpec {
  const s = m.spec;
  for (const f of present(s, IGNORED.serviceSpec)) note(`spec.${f}`);
  if (s.ports.some((p) => present(p, IGNORED.servicePort).length)) note('spec.ports[].appProtocol');
  return {
    ...(s.type ? { type: s.type } : {}),
    ...(s.clusterIP ? { clusterIP: s.clusterIP } : {}),
    ...(s.selector ? { selector: s.selector } : {}),
    ports: s.ports.map((p) => ({
      ...(p.name ? { name: p.name } : {}),
      ...(p.protocol ? { protocol: p.protocol } : {}),
      port: p.port,
      targetPort: (p.targetPort ?? p.port) as number,
      ...(p.nodePort ? { nodePort: p.nodePort } : {}),
    })),
    ...(s.sessionAffinity ? { sessionAffinity: s.sessionAffinity } : {}),
    ...(s.sessionAffinityConfig
      ? { affinityTimeoutSeconds: s.sessionAffinityConfig.clientIP.timeoutSeconds }
      : {}),
  };
}

function checkServiceObject(
  o: DesiredService,
  objects: Desired[],
  ctx: ValidationContext,
  add: (path: Path, message: string) => void,
): void {
  const { spec } = o;
  if (ctx.forDelete) return;
  if (spec.clusterIP === 'None') {
    add(
      ['spec', 'clusterIP'],
      'headless services (clusterIP: None) are not emulated yet: give no clusterIP or an address',
    );
    return;
  }
  const inInput = objects.filter((x): x is DesiredPod => x.kind === 'Pod');
  const pods = [...inInput, ...ctx.knownPods.filter((k) => !inInput.some((p) => p.name === k.name))];
  spec.ports.forEach((p, i) => {
    if (typeof p.targetPort !== 'string') return;
    const name = p.targetPort as string;
    const at = ['spec', 'ports', i, 'targetPort'];
    if (!spec.selector) {
      add(at, `a named targetPort ("${name}") needs a selector to find the pods' container ports`);
      return;
    }
    const selected = pods.filter((x) => selects(spec.selector, x.labels));
    const numbers = new Set(
      selected.flatMap((x) =>
        x.ports
          .filter((cp) => cp.name === name && cp.protocol === (p.protocol ?? 'TCP'))
          .map((cp) => cp.containerPort),
      ),
    );
    const sel = Object.entries(spec.selector)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    if (numbers.size === 0)
      add(
        at,
        `no pod selected by ${sel} has a container port named "${name}" (netsim resolves it when applying)`,
      );
    else if (numbers.size > 1)
      add(
        at,
        `the pods selected by ${sel} name different ports "${name}" (${[...numbers].join(', ')}): netsim needs one`,
      );
    else p.targetPort = [...numbers][0];
  });
  checkService(o.name, spec, ctx.serviceCidr, (f, message) =>
    add(f.length ? ['spec', ...f] : ['metadata', 'name'], message),
  );
}
