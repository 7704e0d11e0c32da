// IPv6 in topologies: which families a topology has, automatic /64s and addresses, explicit
// ones checked with located errors, and the plan's lines (nodad, DAD/RA sysctls, ::/0 routes).
import t, { type Test } from 'tap';
import { TopologyError } from '../../src/model/errors.js';
import type { Model } from '../../src/model/model.js';
import { YamlSource } from '../../src/model/source.js';
import { validate } from '../../src/model/validate.js';
import { buildPlan } from '../../src/plan/plan.js';
import { formatIp } from '../../src/util/ipv4.js';
import { formatCidr6, formatIp6 } from '../../src/util/ipv6.js';

function fromYaml(text: string): Model {
  const { source, value } = YamlSource.parse('six.yml', text);
  return validate(value, source, { simName: 'six' });
}

function addrs(m: Model): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const n of m.nodes.values())
    for (const i of n.ifaces) {
      const a = [
        i.addr && `${formatIp(i.addr.ip)}/${i.addr.prefix}`,
        i.addr6 && `${formatIp6(i.addr6.ip)}/${i.addr6.prefix}`,
      ];
      if (a[0] || a[1]) out[`${n.name}:${i.name}`] = a.filter((x): x is string => Boolean(x));
    }
  return out;
}

function issues(t: Test, text: string): [number | undefined, string, string][] {
  try {
    fromYaml(text);
  } catch (err) {
    if (err instanceof TopologyError)
      return err.issues.map((i) => [i.pos?.line, i.path.join('.'), i.message]);
    throw err;
  }
  t.fail('expected a TopologyError');
  return [];
}

const ROUTED = `name: six
nodes:
  lan1: {kind: switch}
  r1: {kind: router}
  h1: {kind: host}
  h2: {kind: host}
links:
  - endpoints: [r1, lan1]
  - endpoints: [h1, lan1]
  - endpoints: [r1, h2]
`;

t.test('families: ipv4 unless asked or an IPv6 field is given', async (t) => {
  t.same(fromYaml(ROUTED).families, [4], 'a topology without IPv6 fields is IPv4 (as before)');
  t.same(fromYaml(ROUTED.replace('name: six', 'name: six\naddressing: {family: dual}')).families, [4, 6]);
  t.same(
    fromYaml(ROUTED.replace('h2: {kind: host}', 'h2: {kind: host, ip6: "fd00:9::2/64"}')).families,
    [4, 6],
    'an ip6 makes it dual',
  );
  t.same(fromYaml(ROUTED.replace('name: six', 'name: six\naddressing: {family: ipv6}')).families, [6]);
});

t.test('dual: a /64 per LAN from pool6, per p2p link from p2p6, addresses in link order', async (t) => {
  const m = fromYaml(ROUTED.replace('name: six', 'name: six\naddressing: {family: dual}'));
  t.same(addrs(m), {
    'r1:eth1': ['10.0.0.1/24', 'fd00::1/64'],
    'r1:eth2': ['10.255.0.1/30', 'fd00:0:ff::1/64'],
    'h1:eth1': ['10.0.0.2/24', 'fd00::2/64'],
    'h2:eth1': ['10.255.0.2/30', 'fd00:0:ff::2/64'],
  });
  t.same(
    m.segments.map((s) => s.subnet6 && formatCidr6(s.subnet6)),
    ['fd00::/64', 'fd00:0:ff::/64'],
  );
});

t.test('ipv6 only, /127 point-to-point links, explicit subnet6 and addresses kept', async (t) => {
  const m = fromYaml(`name: six
addressing: {family: ipv6, p2pPrefix6: 127, pool6: "fd12:3456::/48"}
nodes:
  lan1: {kind: switch, subnet6: "fd12:3456:0:9::/64"}
  r1: {kind: router}
  h1: {kind: host, ip6: "fd12:3456:0:9::99/64"}
  h2: {kind: host}
links:
  - endpoints: [r1, lan1]
  - endpoints: [h1, lan1]
  - endpoints: [r1, h2]
    ipv6: ["fd00:77::/127", null]
`);
  t.same(addrs(m), {
    'r1:eth1': ['fd12:3456:0:9::1/64'],
    'r1:eth2': ['fd00:77::/127'],
    'h1:eth1': ['fd12:3456:0:9::99/64'],
    'h2:eth1': ['fd00:77::1/127'],
  });
  const plan = buildPlan(m);
  const h2 = plan.script('netsim-six-h2');
  t.same(
    h2.ip.filter((l) => l.startsWith('addr') || l.startsWith('route')),
    ['addr add fd00:77::1/127 dev eth1 nodad', 'route replace ::/0 via fd00:77::'],
  );
  t.equal(h2.sysctls['net/ipv6/conf/eth1/accept_dad'], '0', 'DAD off on the interface');
  t.equal(h2.sysctls['net/ipv6/conf/default/accept_dad'], '0', 'and for interfaces made later');
  t.equal(h2.sysctls['net/ipv6/conf/all/accept_ra'], '0', 'no router advertisements');
  t.equal(plan.script('netsim-six-r1').sysctls['net.ipv6.conf.all.forwarding'], '1', 'routers forward IPv6');
});

t.test('routes and gateway6: by address or node name, checked', async (t) => {
  const m = fromYaml(`name: six
addressing: {family: dual}
nodes:
  r1: {kind: router}
  h1: {kind: host, gateway6: r1, routes: [{dst: "fd00:99::/64", via: "fd00:0:ff::1"}, {dst: 10.9.0.0/16, via: r1}]}
links:
  - endpoints: [r1, h1]
`);
  const lines = buildPlan(m)
    .script('netsim-six-h1')
    .ip.filter((l) => l.startsWith('route'));
  t.same(lines, [
    'route replace fd00:99::/64 via fd00:0:ff::1',
    'route replace 10.9.0.0/16 via 10.255.0.1',
    'route replace ::/0 via fd00:0:ff::1',
    'route replace default via 10.255.0.1',
  ]);
  t.same(
    buildPlan(fromYaml(ROUTED)).script('netsim-six-h1').sysctls,
    {},
    'an IPv4 topology gets no IPv6 sysctls',
  );
});

t.test('bad IPv6 inputs: located at the field, with what is wrong', async (t) => {
  t.same(
    issues(
      t,
      `name: six
nodes:
  lan1: {kind: switch, subnet6: "fd00:1::/64"}
  h1: {kind: host, ip6: "fd00:2::5/64"}
  h2: {kind: host, ip6: "fd00:1::/64"}
  h3: {kind: host, ip6: "fd00:1::7/200"}
links:
  - endpoints: [h1, lan1]
  - endpoints: [h2, lan1]
  - endpoints: [h3, lan1]
`,
    ),
    [[6, 'nodes.h3.ip6', 'not an IPv6 CIDR like fd00:1::2/64']],
    'prefix out of range',
  );
  t.match(
    issues(
      t,
      `name: six
nodes:
  lan1: {kind: switch, subnet6: "fd00:1::/64"}
  h1: {kind: host, ip6: "fd00:2::5/64"}
  h2: {kind: host, ip6: "fd00:1::/64"}
links:
  - endpoints: [h1, lan1]
  - endpoints: [h2, lan1]
`,
    ),
    [
      [
        4,
        'nodes.h1.ip6',
        /address fd00:2::5\/64 is not in subnet fd00:1::\/64 of its L2 segment \(set by nodes\.lan1\.subnet6 at line 3\)/,
      ],
    ],
    'an address outside its subnet',
  );
  t.match(
    issues(
      t,
      `name: six
nodes:
  h1: {kind: host, ip6: "fd00:1::/64"}
  r1: {kind: router}
links:
  - endpoints: [h1, r1]
`,
    ),
    [
      [
        3,
        'nodes.h1.ip6',
        /address fd00:1:: is the subnet-router anycast address of fd00:1::\/64: use one from fd00:1::1/,
      ],
    ],
  );
  t.match(
    issues(
      t,
      `name: six\nnodes:\n  h2: {kind: host, gateway6: "fd00:5::1"}\n  r1: {kind: router}\nlinks:\n  - endpoints: [h2, r1]\n`,
    ),
    [[3, 'nodes.h2.gateway6', /next hop fd00:5::1 is not on any IPv6 subnet of h2/]],
  );
  t.match(
    issues(
      t,
      `name: six\naddressing: {family: ipv6}\nnodes:\n  h1: {kind: host, ip: 10.0.0.1/24}\n  h2: {kind: host}\nlinks:\n  - endpoints: [h1, h2]\n`,
    ),
    [[4, 'nodes.h1.ip', /addressing.family is ipv6: this topology has no IPv4/]],
    'an IPv4 field in an IPv6-only topology',
  );
  t.match(
    issues(
      t,
      `name: six\naddressing: {family: ipv4}\nnodes:\n  h1: {kind: host}\n  h2: {kind: host}\nlinks:\n  - endpoints: [h1, h2]\n    ipv6: ["fd00::1/64", "fd00::2/64"]\n`,
    ),
    [[8, 'links.0.ipv6', /addressing.family is ipv4: this topology has no IPv6/]],
    'an IPv6 field in an IPv4-only topology',
  );
  t.match(
    issues(
      t,
      `name: six\nnodes:\n  h1: {kind: host, ip6: "fd00::1/64"}\n  h2: {kind: host, ip6: "fd00::1/64"}\nlinks:\n  - endpoints: [h1, h2]\n`,
    ),
    [[4, 'nodes.h2.ip6', /address fd00::1 is already used by h1:eth1/]],
  );
});
