// The kinds registry: the engine looks kinds up by name and knows nothing else about them.

import { routerKind } from '../../features/frr/kind.js';
import { clusterKind } from '../../features/k8s/kinds/cluster.js';
import { etcdKind } from '../../features/k8s/kinds/etcd.js';
import { podKind } from '../../features/k8s/kinds/pod.js';
import { workerKind } from '../../features/k8s/kinds/worker.js';
import { hostKind } from './host.js';
import type { NodeKind } from './kind.js';
import { switchKind } from './switch.js';

const kinds = new Map<string, NodeKind>();

export function registerKind(kind: NodeKind): void {
  kinds.set(kind.name, kind);
}

export function kindOf(name: string): NodeKind;
export function kindOf(name: string, required: false): NodeKind | undefined;
export function kindOf(name: string, required = true): NodeKind | undefined {
  const k = kinds.get(name);
  if (!k && required) throw new Error(`unknown node kind "${name}"`);
  return k;
}

export function kindNames(): string[] {
  return [...kinds.keys()];
}

for (const k of [hostKind, switchKind, routerKind, clusterKind, etcdKind, workerKind, podKind])
  registerKind(k);
