// The endpoints controller (kube-controller-manager's job), run in the main process: it
// watches pods and services in etcd and keeps /registry/services/endpoints/<ns>/<name> equal
// to the running pods each service selects. kube-proxy in every worker watches the result.

import type { Etcd3, Watcher } from 'etcd3';
import { sleep } from '../../../util/wait.js';
import { listPrefix, watchAfter } from '../etcd-list.js';
import { PODS_PREFIX, type PodObject } from '../registry.js';
import {
  ANNOTATION_IPS,
  ANNOTATION_PODS,
  type EndpointAddress,
  type EndpointsObject,
  endpointsKey,
  familyOf,
  podIpsOf,
  type ServiceObject,
  SPECS_PREFIX,
  selects,
  serviceFamilies,
} from './objects.js';

/** every namespace's pods */
const POD_ROOT = PODS_PREFIX;

/** The endpoints a service has given these pods. */
export function endpointsFor(svc: ServiceObject, pods: Iterable<PodObject>): EndpointsObject {
  const addresses: EndpointAddress[] = [];
  const ann = svc.metadata.annotations ?? {};
  if (ann[ANNOTATION_IPS]) for (const ip of ann[ANNOTATION_IPS].split(',')) addresses.push({ ip: ip.trim() });
  const named = ann[ANNOTATION_PODS]?.split(',').map((s) => s.trim());
  const families = serviceFamilies(svc);
  for (const p of pods) {
    if (p.status.phase !== 'Running' || (p.metadata as { deletionTimestamp?: string }).deletionTimestamp)
      continue;
    if (p.metadata.namespace !== svc.metadata.namespace && !named) continue;
    const chosen = named ? named.includes(p.metadata.name) : selects(svc.spec.selector, p.metadata.labels);
    if (!chosen) continue;
    // one address per family the service has (a dual-stack pod gives two to a dual-stack service)
    for (const ip of podIpsOf(p))
      if (families.includes(familyOf(ip)))
        addresses.push({
          ip,
          nodeName: p.spec.nodeName,
          targetRef: { kind: 'Pod', name: p.metadata.name, namespace: p.metadata.namespace },
        });
  }
  addresses.sort((a, b) => a.ip.localeCompare(b.ip));
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: svc.metadata.name, namespace: svc.metadata.namespace },
    subsets: addresses.length
      ? [
          {
            addresses,
            ports: svc.spec.ports.map((p) => ({ name: p.name, port: p.targetPort, protocol: p.protocol })),
          },
        ]
      : [],
  };
}

export class EndpointsController {
  private readonly pods = new Map<string, PodObject>();
  private readonly services = new Map<string, ServiceObject>();
  private readonly written = new Map<string, string>();
  private watchers: Watcher[] = [];
  private dirty = new Set<string>();
  private running?: Promise<void>;
  private idle: (() => void)[] = [];

  constructor(private readonly etcd: Etcd3) {}

  async start(): Promise<void> {
    const [pods, specs] = await Promise.all([
      listPrefix(this.etcd, POD_ROOT),
      listPrefix(this.etcd, SPECS_PREFIX),
    ]);
    for (const kv of pods.kvs) this.pods.set(kv.key.toString(), JSON.parse(kv.value.toString()));
    for (const kv of specs.kvs) this.services.set(kv.key.toString(), JSON.parse(kv.value.toString()));
    const watch = async (prefix: string, rev: string, into: Map<string, unknown>) => {
      const w = await watchAfter(this.etcd, prefix, rev, {
        put: (kv) => {
          try {
            into.set(kv.key.toString(), JSON.parse(kv.value.toString()));
          } catch {
            return;
          }
          this.touch(kv.key.toString());
        },
        delete: (kv) => {
          into.delete(kv.key.toString());
          this.touch(kv.key.toString());
        },
      });
      this.watchers.push(w);
    };
    await watch(POD_ROOT, pods.revision, this.pods as Map<string, unknown>);
    await watch(SPECS_PREFIX, specs.revision, this.services as Map<string, unknown>);
    for (const k of this.services.keys()) this.dirty.add(k);
    this.kick();
  }

  /** Takes a change the caller just wrote (so `settled()` covers it before the watch reports it). */
  observe(key: string, value: PodObject | ServiceObject | undefined): void {
    const into = (key.startsWith(SPECS_PREFIX) ? this.services : this.pods) as Map<string, unknown>;
    if (value) into.set(key, value);
    else into.delete(key);
    this.touch(key);
  }

  private touch(key: string): void {
    if (key.startsWith(SPECS_PREFIX)) this.dirty.add(key);
    // a pod change may concern any service: they are few, recomputing is cheap
    else for (const k of this.services.keys()) this.dirty.add(k);
    this.kick();
  }

  private kick(): void {
    this.running ??= new Promise<void>((r) => setTimeout(r, 1)).then(() => this.sync());
  }

  /** Resolves once every change seen so far is written. */
  settled(): Promise<void> {
    if (!this.running && this.dirty.size === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private async sync(): Promise<void> {
    try {
      while (this.dirty.size) {
        const keys = [...this.dirty];
        this.dirty.clear();
        const ops = [];
        for (const key of keys) {
          const id = key.slice(SPECS_PREFIX.length);
          const [ns, name] = id.split('/');
          const svc = this.services.get(key);
          if (!svc) {
            if (this.written.has(id)) ops.push(this.etcd.delete().key(endpointsKey(ns, name)));
            this.written.delete(id);
            continue;
          }
          const value = JSON.stringify(endpointsFor(svc, this.pods.values()));
          if (this.written.get(id) === value) continue;
          this.written.set(id, value);
          ops.push(this.etcd.put(endpointsKey(ns, name)).value(value));
        }
        // etcd takes at most 128 operations per transaction
        for (let i = 0; i < ops.length; i += 100)
          await this.etcd
            .if(SPECS_PREFIX, 'Version', '>', -1)
            .then(...ops.slice(i, i + 100))
            .commit();
      }
    } catch {
      // etcd unreachable for a moment: try again shortly
      for (const k of this.services.keys()) this.dirty.add(k);
      this.written.clear();
      await sleep(200);
      this.running = undefined;
      this.kick();
      return;
    }
    this.running = undefined;
    for (const r of this.idle.splice(0)) r();
  }

  close(): void {
    for (const w of this.watchers) void w.cancel().catch(() => {});
    this.watchers = [];
  }
}
