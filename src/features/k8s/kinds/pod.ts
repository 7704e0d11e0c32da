// Pods are made at run time (C0.addPod, C0w1.createContainer, or a cluster's `pods`), never
// declared as nodes; the kind exists so the engine can treat live pods like other nodes.
import { z } from 'zod';
import type { NodeKind } from '../../../model/kinds/kind.js';

export const podKind: NodeKind = {
  name: 'pod',
  description: "pod of a cluster (made at run time: a cluster's pods field, C0.addPod, createContainer)",
  bridging: false,
  // pods reach each other within their cluster, not the underlay's hosts: see C0.pingPods()
  pingable: false,
  schema: z.strictObject({ kind: z.literal('pod') }).superRefine((_v, ctx) => {
    ctx.addIssue({
      code: 'custom',
      message: "pods are made at run time: list them under a cluster's pods field (pods: {c1: {worker: w1}})",
    });
  }),
  plan() {},
};
