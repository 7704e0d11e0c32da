// A pod spec (a Pod's, or a Deployment's template) checked: the worker it names, the first
// container's command and args as the shell line netsim runs, the container ports (kept for
// named target ports), and the fields it does not emulate.
import type { Path } from '../../../model/errors.js';
import { BANDWIDTH_ANNOTATIONS, bandwidthIssues, podBandwidth } from '../cni/bandwidth.js';
import { labelProblem } from '../spec.js';
import { IGNORED, type PodManifest } from './schema.js';
import type { Add, ContainerPort, Note, PodTemplate, ValidationContext } from './types.js';

/** A shell line from a container's command and args (the pod's command is one shell line). */
export function shellLine(words: string[]): string {
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`)).join(' ');
}

const formatSelector = (sel: Record<string, string>) =>
  Object.entries(sel)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

/** Does a worker with these labels satisfy a nodeSelector (every key equal; {} fits all)? */
export function fitsSelector(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The workers (full names) whose Node labels satisfy the selector. */
export function fittingWorkers(
  workers: string[],
  selector: Record<string, string>,
  ctx: Pick<ValidationContext, 'nodeLabels'>,
): string[] {
  const labelsOf = (w: string) => ctx.nodeLabels?.(w) ?? { 'kubernetes.io/hostname': w };
  return workers.filter((w) => fitsSelector(selector, labelsOf(w)));
}

/** The fields of `o` among `keys` that were given. */
export function present(o: object, keys: readonly string[]): string[] {
  return keys.filter((k) => (o as Record<string, unknown>)[k] !== undefined);
}

/** The template of a pod spec at `at` (['spec'] for a Pod), or undefined after an issue. */
export function checkPodSpec(
  spec: PodManifest['spec'],
  labels: Record<string, string>,
  at: Path,
  ctx: ValidationContext,
  add: Add,
  note: Note,
  meta: { annotations?: Record<string, string>; at: Path },
): PodTemplate | undefined {
  const field = at.join('.');
  const annotations = meta.annotations ?? {};
  for (const k of Object.keys(annotations))
    if (!(BANDWIDTH_ANNOTATIONS as readonly string[]).includes(k))
      note(`${meta.at.join('.')}.annotations.${k}`);
  const bandwidth = bandwidthIssues(annotations);
  for (const [key, msg] of bandwidth) add([...meta.at, 'annotations', key], msg);
  if (bandwidth.length) return undefined;
  if (ctx.cni === false && podBandwidth(annotations)) {
    add(
      [...meta.at, 'annotations'],
      'bandwidth annotations need the CNI plugins (bandwidth), which cni: false on this cluster turns off',
    );
    return undefined;
  }
  let nodeName: string | undefined;
  if (spec.nodeName !== undefined) {
    nodeName = ctx.resolveWorker(spec.nodeName);
    if (!nodeName) {
      add([...at, 'nodeName'], `unknown worker "${spec.nodeName}" (workers: ${ctx.workers.join(', ')})`);
      return undefined;
    }
  }
  let nodeSelector: Record<string, string> | undefined;
  if (spec.nodeSelector !== undefined) {
    nodeSelector = spec.nodeSelector;
    for (const [k, v] of Object.entries(nodeSelector)) {
      const problem = labelProblem(k, v);
      if (problem) {
        add([...at, 'nodeSelector', k], problem);
        return undefined;
      }
    }
    const fits = fittingWorkers(nodeName ? [nodeName] : ctx.workers, nodeSelector, ctx);
    if (fits.length === 0) {
      const want = formatSelector(nodeSelector);
      add(
        [...at, 'nodeSelector'],
        nodeName
          ? `worker ${nodeName} (nodeName) does not have the labels ${want}`
          : `no worker has the labels ${want} (give workers labels with workerLabels on the cluster)`,
      );
      return undefined;
    }
  }
  for (const f of present(spec, IGNORED.podSpec)) note(`${field}.${f}`);
  const [first] = spec.containers;
  if (first.args && !first.command) {
    add(
      [...at, 'containers', 0, 'args'],
      'args without command: netsim runs no image entrypoint, give command too',
    );
    return undefined;
  }
  const ports: ContainerPort[] = [];
  const names = new Set<string>();
  let bad = false;
  spec.containers.forEach((c, i) => {
    for (const f of present(c, IGNORED.container)) note(`${field}.containers[].${f}`);
    if (i > 0 && (c.command || c.args))
      note(`${field}.containers[1..].command (only the first container runs)`);
    (c.ports ?? []).forEach((p, j) => {
      for (const f of present(p, IGNORED.containerPort)) note(`${field}.containers[].ports[].${f}`);
      if (p.name && names.has(p.name)) {
        add([...at, 'containers', i, 'ports', j, 'name'], `port name "${p.name}" is used twice in this pod`);
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
    labels,
    ...(Object.keys(annotations).length ? { annotations } : {}),
    ...(words.length ? { command: shellLine(words) } : {}),
    ...(nodeName ? { nodeName } : {}),
    ...(nodeSelector ? { nodeSelector } : {}),
    ports,
  };
}
