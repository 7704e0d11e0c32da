// kube-proxy's nftables shapes without a kernel: chain names, the dispatch map elements, the
// even spread over endpoints, and that an update only touches what changed.
import t from 'tap';
import { parseEndpointChain } from '../../src/features/k8s/agent/chain-names.js';
import { StatementMemo } from '../../src/features/k8s/agent/nft-expr.js';
import {
  diffFragments,
  endpointChain,
  type Fragment,
  hashName,
  renderService,
  serviceChain,
  skeleton,
} from '../../src/features/k8s/agent/proxy-rules.js';
import type { PodObject } from '../../src/features/k8s/registry.js';
import { endpointsFor } from '../../src/features/k8s/services/controller.js';
import type { ServiceObject } from '../../src/features/k8s/services/objects.js';

const ctx = { clusterCidr: { addr: '10.244.0.0', len: 16 } };
const svc = (
  over: Partial<ServiceObject['spec']> = {},
  annotations?: Record<string, string>,
): ServiceObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: {
    name: 'web',
    namespace: 'default',
    uid: 'u',
    creationTimestamp: '',
    ...(annotations ? { annotations } : {}),
  },
  spec: {
    type: 'ClusterIP',
    clusterIP: '10.96.0.5',
    selector: { app: 'web' },
    ports: [{ protocol: 'TCP', port: 80, targetPort: 8000 }],
    sessionAffinity: 'None',
    ...over,
  },
});
const pod = (
  name: string,
  ip: string,
  labels: Record<string, string>,
  phase: 'Running' | 'Pending' = 'Running',
): PodObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', uid: name, labels, creationTimestamp: '' },
  spec: { nodeName: 'C0w1' },
  status: { phase, podIP: ip, netns: `netsim-x-C0w1-${name}` },
});

t.test('chain names as kube-proxy writes them', async (t) => {
  t.match(hashName('default/web/tcp/p80'), /^[A-Z2-7]{8}$/);
  t.equal(hashName('a'), hashName('a'), 'stable');
  t.match(serviceChain('default/web/tcp/p80'), /^service-[A-Z2-7]{8}-default\/web\/tcp\/p80$/);
  t.match(endpointChain('default/web/tcp/p80', '10.244.1.2/8000'), /__10\.244\.1\.2\/8000$/);
  const names = skeleton().map((c) => {
    const obj = Object.values(Object.values(c)[0])[0] as { name?: string; chain?: string };
    return obj.name ?? obj.chain;
  });
  for (const n of [
    'filter-forward',
    'nat-prerouting',
    'nat-postrouting',
    'services',
    'service-ips',
    'no-endpoint-services',
    'service-nodeports',
    'masquerading',
  ])
    t.ok(names.includes(n), n);
});

t.test('endpoints follow the pods a selector chooses', async (t) => {
  const pods = [
    pod('a', '10.244.1.2', { app: 'web' }),
    pod('b', '10.244.2.2', { app: 'db' }),
    pod('c', '10.244.1.3', { app: 'web' }, 'Pending'),
  ];
  const eps = endpointsFor(svc(), pods);
  t.same(
    eps.subsets[0].addresses.map((a) => a.ip),
    ['10.244.1.2'],
    'running and matching only',
  );
  t.same(endpointsFor(svc({ selector: undefined }), pods).subsets, [], 'no selector: no endpoints');
  const named = endpointsFor(svc({ selector: undefined }, { 'netsim.io/endpoint-pods': 'b' }), pods);
  t.same(
    named.subsets[0].addresses.map((a) => a.ip),
    ['10.244.2.2'],
    'an explicit pod list',
  );
});

t.test('a service fragment: map elements, spread, reject without endpoints', async (t) => {
  const eps = endpointsFor(svc(), [
    pod('a', '10.244.1.2', { app: 'web' }),
    pod('b', '10.244.1.3', { app: 'web' }),
    pod('c', '10.244.1.4', { app: 'web' }),
  ]);
  const f = renderService(svc(), eps, ctx);
  const sc = f.chains.get(serviceChain('default/web/tcp/p80'))!;
  t.equal(sc.length, 4, 'masquerade rule + 3 endpoint rules');
  const mods = sc.slice(1).map((r) => JSON.stringify(r).match(/"mod":(\d)/)?.[1] ?? 'last');
  t.same(mods, ['3', '2', 'last'], 'endpoint i taken with probability 1/(n-i)');
  t.ok(
    [...f.elements.values()].some((e) => e.map === 'service-ips'),
    'dispatch element',
  );
  const none = renderService(svc(), undefined, ctx);
  t.same([...none.elements.values()].map((e) => e.map).sort(), ['cluster-ips', 'no-endpoint-services']);
  t.equal(none.chains.size, 0);
});

t.test('an update touches only what changed', async (t) => {
  const two = endpointsFor(svc(), [
    pod('a', '10.244.1.2', { app: 'web' }),
    pod('b', '10.244.1.3', { app: 'web' }),
  ]);
  const one = endpointsFor(svc(), [pod('a', '10.244.1.2', { app: 'web' })]);
  const before = renderService(svc(), two, ctx);
  const after = renderService(svc(), one, ctx);
  const cmds = diffFragments(before, after).map((c) => JSON.stringify(c));
  t.ok(
    cmds.some((c) => c.includes('"delete":{"chain"') && c.includes('10.244.1.3')),
    'the gone endpoint chain is deleted',
  );
  t.notOk(
    cmds.some((c) => c.includes('"flush"') && c.includes('10.244.1.2/8000')),
    "the kept endpoint's chain (and counter) stays",
  );
  t.same(diffFragments(after, renderService(svc(), one, ctx)), [], 'no change, no commands');
  const gone = diffFragments(after, undefined).map((c) => Object.keys(c)[0]);
  t.ok(
    gone.every((k) => k === 'delete' || k === 'flush'),
    'a deleted service only deletes',
  );
  const np = renderService(
    svc({ type: 'NodePort', ports: [{ protocol: 'TCP', port: 80, targetPort: 8000, nodePort: 30080 }] }),
    two,
    ctx,
  );
  t.ok(
    [...np.elements.values()].some((e) => e.map === 'service-nodeports'),
    'NodePort element',
  );
  const aff = renderService(
    svc({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }),
    two,
    ctx,
  );
  t.equal(aff.sets.size, 2, 'one affinity set per endpoint');
});

t.test('endpoint chain names parse back to what they were made from', async (t) => {
  t.same(parseEndpointChain(endpointChain('default/web/tcp/p80', '10.244.1.2/8000')), {
    namespace: 'default',
    service: 'web',
    protocol: 'tcp',
    endpoint: '10.244.1.2/8000',
    ip: '10.244.1.2',
  });
  t.same(parseEndpointChain(endpointChain('kube-system/kube-dns/udp/dns', '10.244.0.1/53')), {
    namespace: 'kube-system',
    service: 'kube-dns',
    protocol: 'udp',
    endpoint: '10.244.0.1/53',
    ip: '10.244.0.1',
  });
  t.same(
    parseEndpointChain(endpointChain('default/vip-10-1-1-1/icmp', '10.244.1.7')),
    {
      namespace: 'default',
      service: 'vip-10-1-1-1',
      protocol: 'icmp',
      endpoint: '10.244.1.7',
      ip: '10.244.1.7',
    },
    'a ping endpoint has no port',
  );
  t.equal(parseEndpointChain(serviceChain('default/web/tcp/p80')), undefined, 'a service chain is not one');
  t.equal(parseEndpointChain('endpoint-lowercase-default/web/tcp/p80__10.0.0.1/80'), undefined, 'not a hash');
  // every endpoint chain a rendered service has parses to that service
  const eps = endpointsFor(svc({ ports: [{ protocol: 'UDP', port: 53, targetPort: 5353, name: 'dns' }] }), [
    pod('a', '10.244.1.2', { app: 'web' }),
    pod('b', '10.244.2.9', { app: 'web' }),
  ]);
  const parsed = [
    ...renderService(
      svc({ ports: [{ protocol: 'UDP', port: 53, targetPort: 5353, name: 'dns' }] }),
      eps,
      ctx,
    ).chains.keys(),
  ]
    .map(parseEndpointChain)
    .filter((x) => x !== undefined);
  t.same(parsed.map((p) => `${p.namespace}/${p.service} ${p.protocol} ${p.endpoint}`).sort(), [
    'default/web udp 10.244.1.2/5353',
    'default/web udp 10.244.2.9/5353',
  ]);
});

t.test('a statement memo changes no rule, and shares what recurs', async (t) => {
  const memo = new StatementMemo();
  const ctx = { clusterCidr: { addr: '10.244.0.0', len: 16 }, node: 'w1' };
  const svc = (name: string, ip: string) => ({
    apiVersion: 'v1' as const,
    kind: 'Service' as const,
    metadata: { name, namespace: 'default', uid: name, creationTimestamp: '' },
    spec: {
      type: 'NodePort' as const,
      clusterIP: ip,
      ports: [{ protocol: 'TCP' as const, port: 80, targetPort: 8000, nodePort: 30080 }],
      sessionAffinity: 'None' as const,
    },
  });
  const eps = (name: string) => ({
    apiVersion: 'v1' as const,
    kind: 'Endpoints' as const,
    metadata: { name, namespace: 'default' },
    subsets: [
      {
        addresses: [
          { ip: '10.244.1.2', nodeName: 'w1' },
          { ip: '10.244.2.3', nodeName: 'w2' },
        ],
        ports: [],
      },
    ],
  });
  const plain = ['a', 'b'].map((n, i) => renderService(svc(n, `10.96.0.${i + 10}`), eps(n) as never, ctx));
  const shared = ['a', 'b'].map((n, i) =>
    renderService(svc(n, `10.96.0.${i + 10}`), eps(n) as never, ctx, 4, memo),
  );
  const json = (f: Fragment) => JSON.stringify([[...f.chains], [...f.sets], [...f.elements]]);
  t.same(shared.map(json), plain.map(json), 'the same chains, rules, sets and elements');
  const dnatOf = (f: Fragment) =>
    [...f.chains.values()]
      .flat()
      .flat()
      .find((s) => 'dnat' in s)!;
  t.equal(dnatOf(shared[0]), dnatOf(shared[1]), "one DNAT statement for both services' endpoint");
  t.ok(Object.isFrozen(dnatOf(shared[0])), 'frozen');
  t.not(dnatOf(plain[0]), dnatOf(plain[1]), 'without a memo: statements of their own');
});
