// An etcd member of a cluster: a host on the underlay running Debian's etcd.
import { z } from 'zod';
import type { NodeKind } from '../../../model/kinds/kind.js';
import { planL3 } from '../../../model/kinds/l3.js';
import { commonNodeFields } from '../../../model/spec.js';
import { memberFields } from '../spec.js';

export const etcdKind: NodeKind = {
  name: 'etcd',
  description: "etcd member of a cluster (Debian's etcd, data under the simulation's directory)",
  bridging: false,
  pingable: true,
  schema: z.strictObject({ ...commonNodeFields, kind: z.literal('etcd'), ...memberFields }),
  plan: (node, model, plan) => planL3(node, model, plan, { autoGateway: true }),
};
