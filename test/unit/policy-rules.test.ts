// NetworkPolicy as nftables without a kernel: the exact rules renderPolicies writes into
// table `ip netsim-policy` for the pods of one worker (agent/policy.ts).
import t from 'tap';
import {
  type NetworkPolicyObject,
  policyTypes,
  renderPolicies,
} from '../../src/features/k8s/agent/policy.js';
import type { Command } from '../../src/features/k8s/agent/proxy-rules.js';
import type { PodObject } from '../../src/features/k8s/registry.js';

const NODE = 'C0w1';
const tbl = { family: 'ip', table: 'netsim-policy' };

const pod = (
  name: string,
  ip: string,
  labels: Record<string, string>,
  opts: { namespace?: string; node?: string; phase?: 'Running' | 'Pending'; deleting?: boolean } = {},
): PodObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    namespace: opts.namespace ?? 'default',
    uid: name,
    labels,
    creationTimestamp: '',
    ...(opts.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
  },
  spec: { nodeName: opts.node ?? NODE },
  status: { phase: opts.phase ?? 'Running', podIP: ip, netns: `netsim-x-${NODE}-${name}` },
});

const policy = (
  spec: NetworkPolicyObject['spec'],
  name = 'p',
  namespace = 'default',
): NetworkPolicyObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace },
  spec,
});

// expression builders, spelled as the nftables JSON they stand for
const saddr = { payload: { protocol: 'ip', field: 'saddr' } };
const daddr = { payload: { protocol: 'ip', field: 'daddr' } };
const eq = (left: unknown, right: unknown) => ({ match: { op: '==', left, right } });
const ne = (left: unknown, right: unknown) => ({ match: { op: '!=', left, right } });
const prefix = (addr: string, len: number) => ({ prefix: { addr, len } });
const proto = (p: string) => eq({ meta: { key: 'l4proto' } }, p);
const dport = (n: number) => eq({ payload: { protocol: 'th', field: 'dport' } }, n);
const ret = { return: null };
const dropAll = [{ counter: { packets: 0, bytes: 0 } }, { drop: null }];
const jump = (target: string) => ({ jump: { target } });

/** The fixed head of the table: recreate it, the forward chain, replies of allowed flows pass. */
const HEAD: Command[] = [
  { add: { table: { family: 'ip', name: 'netsim-policy' } } },
  { delete: { table: { family: 'ip', name: 'netsim-policy' } } },
  { add: { table: { family: 'ip', name: 'netsim-policy' } } },
  { add: { chain: { ...tbl, name: 'forward', type: 'filter', hook: 'forward', prio: 0, policy: 'accept' } } },
  {
    add: {
      rule: {
        ...tbl,
        chain: 'forward',
        expr: [
          { match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } },
          { accept: null },
        ],
      },
    },
  },
];

const chain = (name: string): Command => ({ add: { chain: { ...tbl, name } } });
const rule = (chainName: string, expr: unknown[]): Command => ({
  add: { rule: { ...tbl, chain: chainName, expr } },
});

const web1 = pod('web1', '10.244.1.2', { app: 'web' });
const web2 = pod('web2', '10.244.2.2', { app: 'web' }, { node: 'C0w2' });
const client = pod('client', '10.244.1.3', { role: 'client' });
const other = pod('other', '10.244.2.3', { role: 'client' }, { node: 'C0w2' });
const monitor = pod('mon', '10.244.2.4', { app: 'prom' }, { namespace: 'monitoring', node: 'C0w2' });
const pods = [web1, web2, client, other, monitor];

t.test('no policy: only the fixed head, every pod allowed everything', async (t) => {
  t.strictSame(renderPolicies(NODE, pods, []), HEAD);
});

t.test('a policy that selects no pod here changes nothing', async (t) => {
  const p = policy({ podSelector: { matchLabels: { app: 'db' } }, ingress: [] });
  t.strictSame(renderPolicies(NODE, pods, [p]), HEAD);
  const elsewhere = policy({ podSelector: {}, ingress: [] }, 'p', 'monitoring');
  t.strictSame(renderPolicies(NODE, pods, [elsewhere]), HEAD, "another namespace's policy");
});

t.test('ingress from a podSelector: those pods of the namespace, on any worker', async (t) => {
  const p = policy({
    podSelector: { matchLabels: { app: 'web' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }] }],
  });
  t.strictSame(renderPolicies(NODE, pods, [p]), [
    ...HEAD,
    chain('ingress-default/web1'),
    rule('ingress-default/web1', [eq(saddr, { set: ['10.244.1.3', '10.244.2.3'] }), ret]),
    rule('ingress-default/web1', dropAll),
    rule('forward', [eq(daddr, '10.244.1.2'), jump('ingress-default/web1')]),
  ]);
});

t.test('ingress from a namespaceSelector, with ports', async (t) => {
  const p = policy({
    podSelector: { matchLabels: { app: 'web' } },
    ingress: [
      {
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
        ports: [{ port: 9100 }, { protocol: 'UDP', port: 53 }, { protocol: 'UDP' }],
      },
    ],
  });
  const mon = eq(saddr, { set: ['10.244.2.4'] });
  t.strictSame(renderPolicies(NODE, pods, [p]).slice(HEAD.length), [
    chain('ingress-default/web1'),
    rule('ingress-default/web1', [mon, proto('tcp'), dport(9100), ret]),
    rule('ingress-default/web1', [mon, proto('udp'), dport(53), ret]),
    rule('ingress-default/web1', [mon, proto('udp'), ret]),
    rule('ingress-default/web1', dropAll),
    rule('forward', [eq(daddr, '10.244.1.2'), jump('ingress-default/web1')]),
  ]);
});

t.test('namespaceSelector and podSelector together: both must match', async (t) => {
  const p = policy({
    podSelector: { matchLabels: { app: 'web' } },
    ingress: [
      {
        from: [
          {
            namespaceSelector: {},
            podSelector: { matchLabels: { role: 'client' } },
          },
        ],
      },
    ],
  });
  const out = renderPolicies(
    NODE,
    [...pods, pod('c2', '10.244.2.9', { role: 'client' }, { namespace: 'x' })],
    [p],
  );
  t.strictSame(
    out[HEAD.length + 1],
    rule('ingress-default/web1', [eq(saddr, { set: ['10.244.1.3', '10.244.2.3', '10.244.2.9'] }), ret]),
    'every namespace',
  );
});

t.test('egress to an ipBlock with exceptions', async (t) => {
  const p = policy({
    podSelector: { matchLabels: { role: 'client' } },
    policyTypes: ['Egress'],
    egress: [{ to: [{ ipBlock: { cidr: '10.96.0.0/12', except: ['10.96.0.10/32', '10.100.0.0/16'] } }] }],
  });
  t.strictSame(renderPolicies(NODE, pods, [p]).slice(HEAD.length), [
    chain('egress-default/client'),
    rule('egress-default/client', [
      eq(daddr, prefix('10.96.0.0', 12)),
      ne(daddr, prefix('10.96.0.10', 32)),
      ne(daddr, prefix('10.100.0.0', 16)),
      ret,
    ]),
    rule('egress-default/client', dropAll),
    rule('forward', [eq(saddr, '10.244.1.3'), jump('egress-default/client')]),
  ]);
});

t.test('default deny, allow all, and rules whose peers select nobody', async (t) => {
  const denyIn = policy({ podSelector: {}, ingress: [] });
  const out = renderPolicies(NODE, pods, [denyIn]).slice(HEAD.length);
  t.strictSame(
    out,
    [
      chain('ingress-default/web1'),
      rule('ingress-default/web1', dropAll),
      chain('ingress-default/client'),
      rule('ingress-default/client', dropAll),
      // the dispatch rules come after every pod's chain
      rule('forward', [eq(daddr, '10.244.1.2'), jump('ingress-default/web1')]),
      rule('forward', [eq(daddr, '10.244.1.3'), jump('ingress-default/client')]),
    ],
    'ingress: [] denies every new flow in, for every local pod of the namespace',
  );
  const allowAll = policy({ podSelector: { matchLabels: { app: 'web' } }, ingress: [{}] });
  t.strictSame(
    renderPolicies(NODE, pods, [allowAll]).slice(HEAD.length, HEAD.length + 3),
    [
      chain('ingress-default/web1'),
      rule('ingress-default/web1', [ret]),
      rule('ingress-default/web1', dropAll),
    ],
    'a rule without from allows everyone',
  );
  const nobody = policy({
    podSelector: { matchLabels: { app: 'web' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { role: 'nobody' } } }] }],
  });
  t.strictSame(
    renderPolicies(NODE, pods, [nobody]).slice(HEAD.length, HEAD.length + 2),
    [chain('ingress-default/web1'), rule('ingress-default/web1', dropAll)],
    'peers that select no pod allow nothing',
  );
});

t.test('egress is dispatched before ingress, both when a policy has egress rules', async (t) => {
  const both = policy({
    podSelector: { matchLabels: { app: 'web' } },
    ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }],
    egress: [{ ports: [{ protocol: 'UDP', port: 53 }] }],
  });
  t.strictSame(policyTypes(both), ['Ingress', 'Egress'], 'egress rules imply both types');
  t.strictSame(policyTypes(policy({ podSelector: {} })), ['Ingress'], 'otherwise Ingress only');
  t.strictSame(renderPolicies(NODE, pods, [both]).slice(HEAD.length), [
    chain('egress-default/web1'),
    rule('egress-default/web1', [proto('udp'), dport(53), ret]),
    rule('egress-default/web1', dropAll),
    chain('ingress-default/web1'),
    rule('ingress-default/web1', [eq(saddr, prefix('10.0.0.0', 8)), ret]),
    rule('ingress-default/web1', dropAll),
    rule('forward', [eq(saddr, '10.244.1.2'), jump('egress-default/web1')]),
    rule('forward', [eq(daddr, '10.244.1.2'), jump('ingress-default/web1')]),
  ]);
});

t.test('only running local pods get chains; terminating pods are no peers', async (t) => {
  const pending = pod('web3', '10.244.1.9', { app: 'web' }, { phase: 'Pending' });
  const leaving = pod('gone', '10.244.1.8', { role: 'client' }, { deleting: true });
  const p = policy({
    podSelector: { matchLabels: { app: 'web' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }] }],
  });
  const out = renderPolicies(NODE, [...pods, pending, leaving], [p]).slice(HEAD.length);
  t.strictSame(
    out.filter((c) => 'chain' in c.add).map((c) => (c.add.chain as { name: string }).name),
    ['ingress-default/web1'],
    'not the pending pod, not web2 on another worker',
  );
  t.strictSame(out[1], rule('ingress-default/web1', [eq(saddr, { set: ['10.244.1.3', '10.244.2.3'] }), ret]));
});
