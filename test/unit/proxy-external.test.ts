// LoadBalancer addresses and traffic policies in kube-proxy's nftables shape, without a kernel;
// and MetalLB's layer-2 election of the announcing worker.
import t from 'tap';
import { renderService } from '../../src/features/k8s/agent/proxy-rules.js';
import { electAnnouncer } from '../../src/features/k8s/agent/speaker.js';
import type { EndpointsObject, ServiceObject } from '../../src/features/k8s/services/objects.js';

const svc = (over: Partial<ServiceObject['spec']>): ServiceObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default', uid: 'u', creationTimestamp: '' },
  spec: {
    type: 'LoadBalancer',
    clusterIP: '10.96.0.5',
    ports: [{ protocol: 'TCP', port: 80, targetPort: 8000, nodePort: 30080 }],
    sessionAffinity: 'None',
    ...over,
  },
  status: { loadBalancer: { ingress: [{ ip: '192.168.1.247' }] } },
});
const eps: EndpointsObject = {
  apiVersion: 'v1',
  kind: 'Endpoints',
  metadata: { name: 'web', namespace: 'default' },
  subsets: [
    {
      addresses: [
        { ip: '10.244.1.2', nodeName: 'C0w1' },
        { ip: '10.244.2.2', nodeName: 'C0w2' },
      ],
      ports: [{ port: 8000, protocol: 'TCP' }],
    },
  ],
};
const ctx = (node: string) => ({ clusterCidr: { addr: '10.244.0.0', len: 16 }, node });
const text = (x: unknown) => JSON.stringify(x);
const targetOf = (f: ReturnType<typeof renderService>, map: string, key: string) =>
  text([...f.elements.values()].find((e) => e.map === map && text(e.key).includes(key))?.value);

t.test('a LoadBalancer address is a service-ips element going to the external chain', async (t) => {
  const f = renderService(svc({}), eps, ctx('C0w1'));
  t.match(targetOf(f, 'service-ips', '192.168.1.247'), /external-[A-Z2-7]{8}-default\/web\/tcp\/p80/);
  t.match(targetOf(f, 'service-nodeports', '30080'), /external-/);
  t.match(targetOf(f, 'service-ips', '10.96.0.5'), /service-/, 'the ClusterIP goes to the service chain');
  const ext = [...f.chains].find(([c]) => c.startsWith('external-'))![1];
  t.match(text(ext[0]), /mark-for-masquerade/, 'policy Cluster: masqueraded');
  t.notOk(
    [...f.chains.keys()].some((c) => c.startsWith('local-')),
    'no local chain',
  );
});

t.test(
  'externalTrafficPolicy Local: short-circuit for pods and the node, else local endpoints',
  async (t) => {
    const f = renderService(svc({ externalTrafficPolicy: 'Local' }), eps, ctx('C0w1'));
    const ext = [...f.chains].find(([c]) => c.startsWith('external-'))![1].map(text);
    t.match(ext[0], /10\.244\.0\.0.*goto.*service-/, 'pods: cluster-wide');
    t.match(ext[1], /"saddr".*mark-for-masquerade/, 'the node itself: masqueraded');
    t.match(ext.at(-1), /goto.*local-/, 'the rest: local chain, not masqueraded');
    const local = text([...f.chains].find(([c]) => c.startsWith('local-'))![1]);
    t.match(local, /endpoint-.*10\.244\.1\.2/, "the local chain has C0w1's endpoint");
    t.notMatch(local, /10\.244\.2\.2/, "and not C0w2's");
    const on3 = renderService(svc({ externalTrafficPolicy: 'Local' }), eps, ctx('C0w3'));
    t.match(
      text([...on3.chains].find(([c]) => c.startsWith('local-'))![1]),
      /"drop"/,
      'no local endpoint: drop',
    );
  },
);

t.test('internalTrafficPolicy Local: the ClusterIP goes to the local chain', async (t) => {
  const f = renderService(
    svc({
      type: 'ClusterIP',
      internalTrafficPolicy: 'Local',
      ports: [{ protocol: 'TCP', port: 80, targetPort: 8000 }],
    }),
    eps,
    ctx('C0w2'),
  );
  t.match(targetOf(f, 'service-ips', '10.96.0.5'), /local-/);
  t.notOk(
    [...f.chains.keys()].some((c) => c.startsWith('external-')),
    'no external chain for a ClusterIP',
  );
});

t.test('no endpoints: the LoadBalancer address is refused too', async (t) => {
  const f = renderService(svc({}), undefined, ctx('C0w1'));
  t.match(targetOf(f, 'no-endpoint-services', '192.168.1.247'), /reject-chain/);
});

t.test("MetalLB's election: deterministic, spread over addresses, independent of order", async (t) => {
  const nodes = ['C0w1', 'C0w2', 'C0w3'];
  t.equal(electAnnouncer(nodes, '10.0.0.1'), electAnnouncer([...nodes].reverse(), '10.0.0.1'));
  const winners = new Set(Array.from({ length: 30 }, (_, i) => electAnnouncer(nodes, `10.0.0.${i + 1}`)));
  t.equal(winners.size, 3, 'every worker announces some addresses');
  const w = electAnnouncer(nodes, '10.0.0.1')!;
  const rest = nodes.filter((n) => n !== w);
  t.not(electAnnouncer(rest, '10.0.0.1'), w, 'without the winner, another one');
  t.equal(electAnnouncer([], '10.0.0.1'), undefined);
});
