// Manifests checked before anything is applied: each document against its kind's schema, then
// against the cluster (workers, service CIDR, names, named target ports). Every problem is an
// issue located in its file; the fields netsim accepts without emulating them become notes.
import type { z } from 'zod';
import { type Issue, type Path, TopologyError } from '../../../model/errors.js';
import { namespaceNotFound, SYSTEM_NAMESPACES } from '../namespaces.js';
import { podNodeName } from '../registry.js';
import { POD_NAME_RE } from '../spec.js';
import { checkDeployment } from './deployment.js';
import { ingressObject } from './ingress-check.js';
import { UNDELETABLE, undeletable } from './namespace.js';
import { checkPodSpec, present } from './pod-spec.js';
import {
  type DeploymentManifest,
  IGNORED,
  type IngressManifest,
  KINDS,
  type Kind,
  type NamespaceManifest,
  type PodManifest,
  type PolicyManifest,
  type SecretManifest,
  type ServiceManifest,
} from './schema.js';
import { secretData, secretProblems } from './secret.js';
import { checkServiceObject, serviceSpec } from './service.js';
import type { Add, Desired, ManifestDoc, Note, Validated, ValidationContext } from './types.js';

export { shellLine } from './pod-spec.js';
export type { ManifestDoc, Validated, ValidationContext } from './types.js';

const KNOWN = Object.entries(KINDS)
  .map(([k, v]) => `${k} (${v.apiVersion})`)
  .join(', ');

function zodIssues(err: z.ZodError, add: Add): void {
  for (const i of err.issues) {
    const path = i.path as Path;
    if (i.code === 'unrecognized_keys')
      for (const k of i.keys) add([...path, k], `unknown field "${k}" (not a field netsim knows here)`);
    else add(path, i.message);
  }
}

/** The document's manifest, schema-checked, or undefined after an issue. */
function parseDoc(
  v: unknown,
  add: Add,
):
  | {
      kind: Kind;
      m:
        | PodManifest
        | DeploymentManifest
        | ServiceManifest
        | PolicyManifest
        | IngressManifest
        | SecretManifest
        | NamespaceManifest;
    }
  | undefined {
  const o = v as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    add([], 'a manifest is a mapping with apiVersion, kind, metadata and spec');
    return undefined;
  }
  if (o.kind === undefined) {
    add(['kind'], `required: kind (netsim knows ${KNOWN})`);
    return undefined;
  }
  const kind = String(o.kind) as Kind;
  const known = Object.hasOwn(KINDS, kind) ? KINDS[kind] : undefined;
  if (!known) {
    add(
      ['kind'],
      `unknown kind "${String(o.kind)}" (apiVersion ${String(o.apiVersion)}): netsim knows ${KNOWN}`,
    );
    return undefined;
  }
  if (o.apiVersion !== known.apiVersion) {
    add(
      ['apiVersion'],
      o.apiVersion === undefined
        ? `required: apiVersion (${known.apiVersion} for ${kind})`
        : `${kind} is ${known.apiVersion}, not "${String(o.apiVersion)}"`,
    );
    return undefined;
  }
  const res = known.schema.safeParse(o);
  if (!res.success) {
    zodIssues(res.error, add);
    return undefined;
  }
  return { kind, m: res.data };
}

export function validateManifests(docs: ManifestDoc[], ctx: ValidationContext): Validated {
  const issues: Issue[] = [];
  const objects: Desired[] = [];
  const notes = new Map<string, Set<string>>();
  const seen = new Set<string>();
  const adders = (doc: ManifestDoc): { add: Add; note: Note } => ({
    add: (path, message) => issues.push({ path, message, pos: doc.source.locate(path) }),
    note: (field) => {
      const set = notes.get(doc.source.file) ?? new Set<string>();
      set.add(field);
      notes.set(doc.source.file, set);
    },
  });
  const parsedDocs = docs.map((doc) => ({ doc, parsed: parseDoc(doc.value, adders(doc).add) }));
  // objects may go into the cluster's namespaces and those this input creates (in any order)
  const namespaces = new Set(ctx.namespaces ?? SYSTEM_NAMESPACES);
  for (const { parsed } of parsedDocs)
    if (parsed?.kind === 'Namespace') namespaces.add(parsed.m.metadata.name);
  for (const { doc, parsed } of parsedDocs) {
    const { add, note } = adders(doc);
    if (!parsed) continue;
    const { kind, m } = parsed;
    const { name } = m.metadata;
    if (kind === 'Namespace') {
      if (ctx.forDelete && UNDELETABLE.has(name)) {
        add(['metadata', 'name'], undeletable(name));
        continue;
      }
      if (m.metadata.namespace !== undefined) note('metadata.namespace (a Namespace has none)');
      if ((doc.value as { status?: unknown }).status !== undefined) note('status');
      if (seen.has(`Namespace//${name}`)) {
        add(['metadata', 'name'], `Namespace "${name}" is given twice in this input`);
        continue;
      }
      seen.add(`Namespace//${name}`);
      for (const f of present(m.metadata, IGNORED.metadata)) note(`metadata.${f}`);
      if ((m as NamespaceManifest).spec?.finalizers !== undefined) note('spec.finalizers');
      const labels = m.metadata.labels ?? {};
      objects.push({ kind, name, namespace: '', source: doc.source, labels });
      continue;
    }
    const namespace = m.metadata.namespace ?? 'default';
    if (!ctx.forDelete && !namespaces.has(namespace)) {
      add(['metadata', 'namespace'], namespaceNotFound(namespace));
      continue;
    }
    const key = `${kind}/${namespace}/${name}`;
    if (seen.has(key)) {
      add(['metadata', 'name'], `${kind} "${name}" is given twice in this input`);
      continue;
    }
    seen.add(key);
    for (const f of present(m.metadata, IGNORED.metadata)) note(`metadata.${f}`);
    if ((doc.value as { status?: unknown }).status !== undefined) note('status');
    const base = { name, namespace, source: doc.source };
    if (kind === 'Pod') {
      if (!POD_NAME_RE.test(name)) {
        add(['metadata', 'name'], 'pod names are at most 32 lower-case letters, digits and - in netsim');
        continue;
      }
      const taken = ctx.podNameTaken(podNodeName(name, namespace));
      if (taken) {
        add(['metadata', 'name'], `"${name}" is already ${taken}: pick another pod name`);
        continue;
      }
      const p = m as PodManifest;
      const t = checkPodSpec(p.spec, p.metadata.labels ?? {}, ['spec'], ctx, add, note, {
        annotations: p.metadata.annotations,
        at: ['metadata'],
      });
      if (t) objects.push({ kind, ...base, ...t });
    } else if (kind === 'Deployment') {
      const d = checkDeployment(m as DeploymentManifest, base, ctx, add, note);
      if (d) objects.push(d);
    } else if (kind === 'Ingress') {
      objects.push(ingressObject(m as IngressManifest, base, note));
    } else if (kind === 'Secret') {
      const x = m as SecretManifest;
      for (const p of secretProblems(x)) add(p.path, p.message);
      objects.push({
        kind,
        ...base,
        ...(x.metadata.labels ? { labels: x.metadata.labels } : {}),
        type: x.type ?? 'Opaque',
        data: secretData(x),
      });
    } else if (kind === 'Service') {
      objects.push({ kind, ...base, spec: serviceSpec(m as ServiceManifest, note) });
    } else {
      objects.push({ kind, ...base, spec: (m as PolicyManifest).spec });
    }
  }
  // services last: their named target ports are resolved from the pods of the input
  for (const o of objects)
    if (o.kind === 'Service')
      checkServiceObject(o, objects, ctx, (path, message) =>
        issues.push({ path, message, pos: o.source.locate(path) }),
      );
  if (issues.length) throw new TopologyError(issues);
  return {
    objects,
    notes: [
      ...[...notes].map(
        ([file, fields]) =>
          `${file}: not emulated by netsim (accepted, without effect): ${[...fields].join(', ')}`,
      ),
    ],
  };
}
