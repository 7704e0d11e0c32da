// A Kubernetes-style cluster: a node that stands for its etcd members and workers (with the
// pod network config they share). It is expanded into those nodes and their underlay links
// before validation (src/features/k8s/spec.ts); it has no namespace of its own.

import type { NodeKind } from '../../../model/kinds/kind.js';
import { type ClusterSpec, clusterSchema, expandCluster } from '../spec.js';

export const clusterKind: NodeKind = {
  name: 'cluster',
  description:
    'Kubernetes-style cluster: N etcd members + N workers on an underlay, flannel VXLAN pod network',
  bridging: false,
  pingable: false,
  schema: clusterSchema,
  expand: (name, spec, ctx) => expandCluster(name, spec as ClusterSpec, ctx),
  plan() {
    // never reached: expansion replaces the node
  },
};
