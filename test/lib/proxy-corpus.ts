// Services that use every rule kube-proxy writes (ClientIP affinity, NodePort with traffic
// policy Local, ping through a ClusterIP, a UDP LoadBalancer with internal policy Local, no
// endpoints, a /20 pod network, IPv6), and an update of several of them: the transactions the
// netlink encoder is checked on, without a kernel (unit) and through one (integration).
import {
  type Command,
  diffFragments,
  type Fragment,
  fullSync,
  type ProxyContext,
  renderService,
} from '../../src/features/k8s/agent/proxy-rules.js';
import {
  ANNOTATION_PING,
  type EndpointsObject,
  type ServiceObject,
} from '../../src/features/k8s/services/objects.js';

interface Opts {
  type?: ServiceObject['spec']['type'];
  nodePort?: number;
  affinity?: boolean;
  ping?: boolean;
  protocol?: string;
  lb?: string;
  etp?: 'Local';
  itp?: 'Local';
  ips?: string[];
}

export function service(name: string, ip: string, o: Opts = {}): ServiceObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: 'default',
      uid: name,
      creationTimestamp: '',
      ...(o.ping ? { annotations: { [ANNOTATION_PING]: 'true' } } : {}),
    },
    spec: {
      type: o.type ?? 'ClusterIP',
      clusterIP: ip,
      ...(o.ips ? { clusterIPs: o.ips } : {}),
      ports: [{ protocol: o.protocol ?? 'TCP', port: 80, targetPort: 8000, nodePort: o.nodePort }],
      sessionAffinity: o.affinity ? 'ClientIP' : 'None',
      ...(o.etp ? { externalTrafficPolicy: o.etp } : {}),
      ...(o.itp ? { internalTrafficPolicy: o.itp } : {}),
    },
    ...(o.lb ? { status: { loadBalancer: { ingress: [{ ip: o.lb }] } } } : {}),
  } as ServiceObject;
}

/** Endpoints: the first on worker w1 (this one), the others on w2. */
export function endpoints(name: string, ips: string[]): EndpointsObject {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace: 'default' },
    subsets: [
      {
        addresses: ips.map((ip, i) => ({ ip, nodeName: i ? 'w2' : 'w1' })),
        ports: [{ port: 8000, protocol: 'TCP' }],
      },
    ],
  };
}

export const ctx4: ProxyContext = { clusterCidr: { addr: '10.244.0.0', len: 20 }, node: 'w1' };
export const ctx6: ProxyContext = { ...ctx4, clusterCidr6: { addr: 'fd00:10:244::', len: 56 } };

const v4 = (): [ServiceObject, EndpointsObject][] => [
  [service('a', '10.96.0.10', { affinity: true }), endpoints('a', ['10.244.1.2', '10.244.2.3'])],
  [
    service('b', '10.96.0.11', { type: 'NodePort', nodePort: 30080, etp: 'Local', ping: true }),
    endpoints('b', ['10.244.1.2', '10.244.2.3']),
  ],
  [
    service('c', '10.96.0.12', {
      type: 'LoadBalancer',
      nodePort: 30081,
      lb: '192.168.0.200',
      protocol: 'UDP',
      itp: 'Local',
    }),
    endpoints('c', ['10.244.1.2']),
  ],
  [service('d', '10.96.0.13', { type: 'NodePort', nodePort: 30082 }), endpoints('d', [])],
];

const v6 = (): [ServiceObject, EndpointsObject][] => [
  [
    service('a6', 'fd00:96::10', {
      affinity: true,
      type: 'NodePort',
      nodePort: 30083,
      ping: true,
      ips: ['fd00:96::10'],
    }),
    endpoints('a6', ['fd00:10:244:1::2', 'fd00:10:244:2::3']),
  ],
  [
    service('d6', 'fd00:96::13', { type: 'NodePort', nodePort: 30084, ips: ['fd00:96::13'] }),
    endpoints('d6', []),
  ],
];

export interface Corpus {
  fragments4: Fragment[];
  fragments6: Fragment[];
  /** both tables in full, as the agent's full sync writes them */
  full: Command[];
  /** an endpoint replaced (an affinity set goes, another comes), a service removed, endpoints arriving */
  update: Command[];
}

/** `shards`: rendered for K shard tables (4: services a, b, c, d each in a shard of its own) */
export function corpus(shards = 0): Corpus {
  const ctx = { ...ctx6, shards };
  const fragments4 = v4().map(([s, e]) => renderService(s, e, ctx, 4));
  const fragments6 = v6().map(([s, e]) => renderService(s, e, ctx, 6));
  const a2 = renderService(
    service('a', '10.96.0.10', { affinity: true }),
    endpoints('a', ['10.244.1.2', '10.244.2.9']),
    ctx,
    4,
  );
  const d2 = renderService(
    service('d', '10.96.0.13', { type: 'NodePort', nodePort: 30082 }),
    endpoints('d', ['10.244.1.7']),
    ctx,
    4,
  );
  return {
    fragments4,
    fragments6,
    full: [...fullSync(fragments4, 4, shards), ...fullSync(fragments6, 6, shards)],
    update: [
      ...diffFragments(fragments4[0], a2),
      ...diffFragments(fragments4[1], undefined),
      ...diffFragments(fragments4[3], d2),
    ],
  };
}
