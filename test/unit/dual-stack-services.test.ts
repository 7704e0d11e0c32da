// Dual-stack Services without a kernel: the API server's rules for ipFamilies/ipFamilyPolicy
// (defaults, the primary family, located errors), endpoints of both families, kube-proxy's
// `ip6 kube-proxy` table beside `ip kube-proxy`, and NetworkPolicy's `ip6 netsim-policy`.
import t from 'tap';
import { parseEndpointChain } from '../../src/features/k8s/agent/chain-names.js';
import { renderPolicies } from '../../src/features/k8s/agent/policy.js';
import {
  diffFragments,
  fullSync,
  renderService,
  serviceChain,
  skeleton,
} from '../../src/features/k8s/agent/proxy-rules.js';
import { describeService } from '../../src/features/k8s/kubectl/describe.js';
import { formatEndpoints } from '../../src/features/k8s/kubectl/printers.js';
import { endpointSlicesOf } from '../../src/features/k8s/kubectl/slices.js';
import type { PodObject } from '../../src/features/k8s/registry.js';
import { endpointsFor } from '../../src/features/k8s/services/controller.js';
import type { ServiceObject } from '../../src/features/k8s/services/objects.js';
import {
  checkService,
  ipBlockProblems,
  resolveFamilies,
  type ServiceRanges,
  type ServiceSpec,
  serviceCidr6Problem,
  serviceRangesOf,
} from '../../src/features/k8s/services/schema.js';

const single: ServiceRanges = serviceRangesOf({ serviceCidr: '10.96.0.0/12' });
const dual: ServiceRanges = serviceRangesOf({
  serviceCidr: '10.96.0.0/12',
  serviceCidr6: 'fd00:10:96::/112',
});
const ports = [{ port: 80, targetPort: 8000 }];

/** The families and policy a spec resolves to, and its problems as `field: message`. */
function resolve(spec: Partial<ServiceSpec>, ranges = dual) {
  const problems: string[] = [];
  const r = resolveFamilies({ ports, ...spec }, ranges, (f, m) => problems.push(`${f.join('.')}: ${m}`));
  return { policy: r.policy, families: r.families, ips: r.ips, problems };
}

t.test('defaults: SingleStack of the primary family; dual-stack policies add the other', async (t) => {
  t.same(resolve({}), { policy: 'SingleStack', families: [4], ips: [undefined], problems: [] });
  t.same(resolve({}, single).families, [4]);
  t.same(resolve({ ipFamilyPolicy: 'PreferDualStack' }).families, [4, 6]);
  t.same(
    resolve({ ipFamilyPolicy: 'PreferDualStack' }, single),
    {
      policy: 'PreferDualStack',
      families: [4],
      ips: [undefined],
      problems: [],
    },
    'PreferDualStack on a single-stack cluster: one family, no error',
  );
  t.same(resolve({ ipFamilyPolicy: 'RequireDualStack' }).families, [4, 6]);
  t.same(
    resolve({ ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv6'] }).families,
    [6, 4],
    'IPv6 primary',
  );
  t.same(resolve({ ipFamilies: ['IPv6'] }).families, [6], 'SingleStack IPv6');
  t.equal(
    resolve({ ipFamilies: ['IPv6', 'IPv4'] }).policy,
    'RequireDualStack',
    'two families: RequireDualStack',
  );
  t.same(resolve({ clusterIPs: ['fd00:10:96::20', '10.96.0.20'] }), {
    policy: 'RequireDualStack',
    families: [6, 4],
    ips: ['fd00:10:96::20', '10.96.0.20'],
    problems: [],
  });
  t.same(resolve({ clusterIP: 'fd00:10:96::7', ipFamilyPolicy: 'PreferDualStack' }).families, [6, 4]);
});

t.test('errors name the field: a family the cluster lacks, a policy it cannot give', async (t) => {
  t.same(resolve({ ipFamilyPolicy: 'RequireDualStack' }, single).problems, [
    'ipFamilyPolicy: RequireDualStack needs a dual-stack cluster, and this one has IPv4 only (give the cluster podCidr6 and serviceCidr6)',
  ]);
  t.same(resolve({ ipFamilies: ['IPv6'] }, single).problems, [
    'ipFamilies.0: IPv6 is not configured on this cluster (it has no serviceCidr6)',
  ]);
  t.same(resolve({ clusterIP: 'fd00:10:96::5' }, single).problems, [
    'clusterIP: IPv6 is not configured on this cluster (it has no serviceCidr6)',
  ]);
  t.same(resolve({ ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'SingleStack' }).problems, [
    'ipFamilyPolicy: SingleStack takes one family: PreferDualStack or RequireDualStack take two',
  ]);
  t.same(resolve({ ipFamilies: ['IPv4'], clusterIP: 'fd00:10:96::5' }).problems, [
    'ipFamilies.0: IPv4 does not match fd00:10:96::5, an IPv6 address',
  ]);
  t.same(resolve({ ipFamilies: ['IPv6', 'IPv6'] }).problems.slice(0, 1), [
    'ipFamilies.1: IPv6 is listed twice: two families are IPv4 and IPv6',
  ]);
  t.same(resolve({ clusterIPs: ['10.96.0.5', '10.96.0.6'] }).problems, [
    'clusterIPs.1: two ClusterIPs of one family (IPv4): one per family',
  ]);
  t.same(resolve({ clusterIPs: ['10.96.0.5', 'fd00:99::1'] }).problems, [
    'clusterIPs.1: fd00:99::1 is outside the IPv6 service CIDR fd00:10:96::/112',
  ]);
  t.same(resolve({ clusterIP: '10.96.0.5', clusterIPs: ['10.96.0.6'] }).problems, [
    'clusterIPs.0: clusterIPs[0] must be clusterIP (10.96.0.5)',
  ]);
  // IPv4 messages as before dual-stack
  t.same(resolve({ clusterIP: '10.200.0.1' }, single).problems, [
    'clusterIP: 10.200.0.1 is outside the service CIDR 10.96.0.0/12',
  ]);
  t.same(resolve({ clusterIP: 'web' }, single).problems, ['clusterIP: "web" is not an IPv4 address']);
  const all: string[] = [];
  checkService('web', { ports, ipFamilyPolicy: 'RequireDualStack' }, single, (f) => all.push(f.join('.')));
  t.same(all, ['ipFamilyPolicy'], 'checkService reports it too');
});

t.test('serviceCidr6 and ipBlock CIDRs are checked', async (t) => {
  t.equal(serviceCidr6Problem('fd00:10:96::/112'), undefined);
  t.match(serviceCidr6Problem('10.96.0.0/12'), /is not an IPv6 network/);
  t.match(serviceCidr6Problem('fd00:10:96::1/112'), /host bits set: the network is fd00:10:96::\/112/);
  t.match(serviceCidr6Problem('fd00::/48'), /a \/64 to \/120, not \/48/);
  t.same(ipBlockProblems({ cidr: 'fd00:10:244:1::/64', except: ['fd00:10:244:1::5/128'] }), []);
  t.same(ipBlockProblems({ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }), []);
  t.same(
    ipBlockProblems({ cidr: 'fd00:10:244:1::/64', except: ['10.1.0.0/16', 'fd00:10:244:2::/80', 'x'] }),
    [
      [['except', 0], '10.1.0.0/16 is not a strict subset of cidr fd00:10:244:1::/64'],
      [['except', 1], 'fd00:10:244:2::/80 is not a strict subset of cidr fd00:10:244:1::/64'],
      [['except', 2], '"x" is not a CIDR'],
    ],
  );
  t.match(ipBlockProblems({ cidr: 'fd00::/200' })[0][1], /is not a CIDR/);
});

const pod = (name: string, ips: string[], node = 'C0w1'): PodObject =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: name, labels: { app: 'web' }, creationTimestamp: '' },
    spec: { nodeName: node },
    status: { phase: 'Running', podIP: ips[0], podIPs: ips.map((ip) => ({ ip })), netns: 'x' },
  }) as PodObject;
const pods = [
  pod('a', ['10.244.1.2', 'fd00:10:244:1::2']),
  pod('b', ['10.244.2.2', 'fd00:10:244:2::2'], 'C0w2'),
];
const svc = (spec: Partial<ServiceObject['spec']>): ServiceObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default', uid: 'u', creationTimestamp: '' },
  spec: {
    type: 'NodePort',
    clusterIP: '10.96.0.5',
    clusterIPs: ['10.96.0.5', 'fd00:10:96::5'],
    ipFamilies: ['IPv4', 'IPv6'],
    ipFamilyPolicy: 'RequireDualStack',
    selector: { app: 'web' },
    ports: [{ protocol: 'TCP', port: 80, targetPort: 8000, nodePort: 30080 }],
    sessionAffinity: 'None',
    externalTrafficPolicy: 'Cluster',
    ...spec,
  },
});
const ctx = {
  clusterCidr: { addr: '10.244.0.0', len: 16 },
  clusterCidr6: { addr: 'fd00:10:244::', len: 56 },
  node: 'C0w1',
};
const text = (x: unknown) => JSON.stringify(x);

t.test('endpoints: an address per family the service has', async (t) => {
  const ips = (s: ServiceObject) => endpointsFor(s, pods).subsets[0].addresses.map((a) => a.ip);
  t.same(ips(svc({})), ['10.244.1.2', '10.244.2.2', 'fd00:10:244:1::2', 'fd00:10:244:2::2']);
  t.same(ips(svc({ clusterIPs: ['fd00:10:96::5'], clusterIP: 'fd00:10:96::5', ipFamilies: ['IPv6'] })), [
    'fd00:10:244:1::2',
    'fd00:10:244:2::2',
  ]);
  t.same(
    ips(svc({ clusterIPs: undefined, ipFamilies: undefined })),
    ['10.244.1.2', '10.244.2.2'],
    'an IPv4 service',
  );
});

t.test('the ip6 table: same structure as ip, IPv6 addresses, icmpv6 rejects', async (t) => {
  const names = (cmds: ReturnType<typeof skeleton>) =>
    cmds.map((c) => {
      const [op, v] = Object.entries(c)[0];
      const [kind, obj] = Object.entries(v)[0] as [string, { name?: string; chain?: string }];
      return `${op} ${kind} ${obj.name ?? obj.chain}`;
    });
  t.same(names(skeleton(6)), names(skeleton(4)), 'same sets, maps, chains and rules in the same order');
  const six = text(skeleton(6));
  t.notMatch(six, /"ip"|ipv4_addr|"icmp"/, 'nothing of IPv4 in it');
  t.match(six, /"family":"ip6","table":"kube-proxy"/);
  t.match(six, /"reject":\{"type":"icmpv6","expr":"port-unreachable"\}/);
  t.match(six, /"prefix":\{"addr":"::1","len":128\}/, 'NodePorts not on loopback');
  const sync = fullSync([], 6);
  t.same(sync[0], { add: { table: { family: 'ip6', name: 'kube-proxy' } } });
});

t.test('a dual-stack service in both tables; DNAT to the endpoints of each family', async (t) => {
  const s = svc({});
  const eps = endpointsFor(s, pods);
  const v4 = renderService(s, eps, ctx, 4);
  const v6 = renderService(s, eps, ctx, 6);
  t.same([...v4.chains.keys()].length, [...v6.chains.keys()].length, 'as many chains');
  const v6text = text([...v6.chains.values()]);
  t.match(v6text, /"dnat":\{"addr":"fd00:10:244:1::2","port":8000\}/);
  t.match(v6text, /"dnat":\{"addr":"fd00:10:244:2::2","port":8000\}/);
  t.notMatch(v6text, /"10\.244\./, 'no IPv4 endpoint in the ip6 table');
  t.match(v6text, /"protocol":"ip6","field":"saddr"/);
  t.match(
    v6text,
    /"prefix":\{"addr":"fd00:10:244::","len":56\}/,
    'masquerade from outside the IPv6 pod network',
  );
  const el = [...v6.elements.values()].map((e) => `${e.map} ${text(e.key)}`);
  t.ok(el.includes('cluster-ips "fd00:10:96::5"'));
  t.ok(el.includes('service-ips {"concat":["fd00:10:96::5","tcp",80]}'));
  t.ok(el.includes('service-nodeports {"concat":["tcp",30080]}'), 'NodePort on IPv6 too');
  const epChains = [...v6.chains.keys()].filter((c) => c.startsWith('endpoint-'));
  t.same(
    epChains.map((c) => c.slice(c.indexOf('__'))),
    ['__fd00.10.244.1..2/8000', '__fd00.10.244.2..2/8000'],
    "kube-proxy's names: colons written as dots",
  );
  t.same(
    epChains.map((c) => parseEndpointChain(c)?.ip),
    ['fd00:10:244:1::2', 'fd00:10:244:2::2'],
    'and parsed back',
  );
  t.ok(v6.chains.has(serviceChain('default/web/tcp/p80')), 'the same service chain name in both tables');
  // a diff in the ip6 table addresses it
  t.match(text(diffFragments(undefined, v6, 6)[0]), /"family":"ip6"/);
  const sticky = renderService(
    svc({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }),
    eps,
    ctx,
    6,
  );
  t.match(text(diffFragments(undefined, sticky, 6)), /"type":"ipv6_addr","flags":\["timeout"\]/);
});

t.test('eTP Local: the external chain sends outside clients to this worker IPv6 endpoints', async (t) => {
  const s = svc({ externalTrafficPolicy: 'Local' });
  const f = renderService(s, endpointsFor(s, pods), ctx, 6);
  const local = [...f.chains].find(([c]) => c.startsWith('local-'))![1];
  t.match(text(local), /fd00\.10\.244\.1\.\.2/, 'the C0w1 endpoint');
  t.notMatch(text(local), /fd00\.10\.244\.2\.\.2/, 'not the C0w2 one');
  const ext = [...f.chains].find(([c]) => c.startsWith('external-'))![1];
  t.match(text(ext[0]), /"ip6","field":"saddr".*fd00:10:244::/, 'pods keep going cluster-wide');
  const itp = renderService(svc({ internalTrafficPolicy: 'Local' }), endpointsFor(s, pods), ctx, 6);
  const target = [...itp.elements.values()].find((e) => e.map === 'service-ips')!.value;
  t.match(text(target), /local-/, 'iTP Local: the IPv6 ClusterIP goes to the local chain');
});

t.test('single-family services stay out of the other table', async (t) => {
  const v4only = svc({ clusterIPs: ['10.96.0.5'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' });
  t.equal(renderService(v4only, endpointsFor(v4only, pods), ctx, 6).elements.size, 0);
  const v6only = svc({ clusterIP: 'fd00:10:96::9', clusterIPs: ['fd00:10:96::9'], ipFamilies: ['IPv6'] });
  t.equal(renderService(v6only, endpointsFor(v6only, pods), ctx, 4).elements.size, 0);
  t.ok(renderService(v6only, endpointsFor(v6only, pods), ctx, 6).elements.size > 0);
  const noV6 = { clusterCidr: ctx.clusterCidr };
  t.equal(renderService(svc({}), undefined, noV6, 6).elements.size, 0, 'no IPv6 pod network: no ip6 table');
  const none = renderService(svc({}), undefined, ctx, 6);
  t.same(
    [...none.elements.values()].map((e) => `${e.map} ${text(e.key)}`),
    [
      'cluster-ips "fd00:10:96::5"',
      'no-endpoint-services {"concat":["fd00:10:96::5","tcp",80]}',
      'no-endpoint-nodeports {"concat":["tcp",30080]}',
    ],
    'no endpoints: refused on IPv6 too',
  );
});

t.test('NetworkPolicy ipBlock with IPv6 CIDRs: in ip6 netsim-policy only', async (t) => {
  const policy = {
    apiVersion: 'networking.k8s.io/v1' as const,
    kind: 'NetworkPolicy' as const,
    metadata: { name: 'p', namespace: 'default' },
    spec: {
      podSelector: { matchLabels: { app: 'web' } },
      ingress: [
        {
          from: [
            { ipBlock: { cidr: 'fd00:0:1::/64', except: ['fd00:0:1::66/128'] } },
            { ipBlock: { cidr: '192.168.0.0/16' } },
          ],
        },
      ],
    },
  };
  const v6 = text(renderPolicies('C0w1', pods, [policy], new Map(), 6));
  const v4 = text(renderPolicies('C0w1', pods, [policy], new Map(), 4));
  t.match(v6, /"family":"ip6","name":"netsim-policy"/);
  t.match(
    v6,
    /"op":"==","left":\{"payload":\{"protocol":"ip6","field":"saddr"\}\},"right":\{"prefix":\{"addr":"fd00:0:1::","len":64\}\}/,
  );
  t.match(v6, /"op":"!=".*"right":\{"prefix":\{"addr":"fd00:0:1::66","len":128\}\}/);
  t.match(
    v6,
    /"right":"fd00:10:244:1::2"\}\},\{"jump":\{"target":"ingress-default\/a"\}\}/,
    "a's IPv6 address guarded",
  );
  t.notMatch(v6, /192\.168|10\.244/, 'no IPv4 in the ip6 table');
  t.notMatch(v4, /fd00/, 'no IPv6 in the ip table');
  t.match(v4, /192\.168\.0\.0/);
  // a pod with no IPv6 address has nothing in the ip6 table
  const v4pod = pod('c', ['10.244.1.9']);
  t.notMatch(text(renderPolicies('C0w1', [v4pod], [policy], new Map(), 6)), /ingress-default\/c/);
});

t.test(
  'kubectl views: a slice per family, IPv6 endpoints in brackets, describe lists both IPs',
  async (t) => {
    const s = svc({});
    const eps = endpointsFor(s, pods);
    const slices = endpointSlicesOf(s, eps);
    t.same(
      slices.map((x) => [x.addressType, x.endpoints.map((e) => e.addresses[0])]),
      [
        ['IPv4', ['10.244.1.2', '10.244.2.2']],
        ['IPv6', ['fd00:10:244:1::2', 'fd00:10:244:2::2']],
      ],
    );
    t.not(slices[0].metadata.name, slices[1].metadata.name, 'two names');
    t.equal(formatEndpoints(eps), '10.244.1.2:8000,10.244.2.2:8000,[fd00:10:244:1::2]:8000 + 1 more...');
    const d = describeService(s, eps);
    t.match(d, /IP Family Policy:\s+RequireDualStack/);
    t.match(d, /IP Families:\s+IPv4,IPv6/);
    t.match(d, /IPs:\s+10\.96\.0\.5,fd00:10:96::5/);
  },
);
