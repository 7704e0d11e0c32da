// Topology spec -> Model, from YAML text and from the TypeScript builder: interface names,
// L2 segments, subnets and addresses, gateways, routes, and located errors.
import t, { type Test } from 'tap';
import { Topology } from '../../src/model/builder.js';
import { TopologyError } from '../../src/model/errors.js';
import type { Model } from '../../src/model/model.js';
import { YamlSource } from '../../src/model/source.js';
import { builtinTopology } from '../../src/model/topos.js';
import { validate } from '../../src/model/validate.js';
import { buildPlan } from '../../src/plan/plan.js';
import { formatCidr, formatIp } from '../../src/util/ipv4.js';

// builder errors point at the .ts call sites, as the CLI reports them
process.setSourceMapsEnabled(true);

function fromYaml(text: string, simName = 'unit'): Model {
  const { source, value } = YamlSource.parse('test.yml', text);
  return validate(value, source, { simName });
}

function fromBuilder(build: (t: Topology) => void, simName = 'unit'): Model {
  const topo = new Topology(simName, 'test');
  build(topo);
  return validate(topo.toSpec(), topo.source, { simName });
}

/** node:iface -> "a.b.c.d/len" for every interface with an address. */
function addresses(m: Model): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of m.nodes.values())
    for (const i of n.ifaces)
      if (i.addr) out[`${n.name}:${i.name}`] = `${formatIp(i.addr.ip)}/${i.addr.prefix}`;
  return out;
}

function ifnames(m: Model, node: string): string[] {
  return m.nodes.get(node)!.ifaces.map((i) => i.name);
}

function segmentOf(m: Model, node: string, iface = 'eth1') {
  const i = m.nodes.get(node)!.ifaces.find((x) => x.name === iface)!;
  return m.segments[i.segment];
}

/** The TopologyError a thunk throws (fails the test when it throws nothing or something else). */
function topologyError(t: Test, fn: () => unknown): TopologyError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TopologyError) return err;
    throw err;
  }
  t.fail('expected a TopologyError');
  return new TopologyError([]);
}

/** The line of the caller of this function (for builder call-site checks). */
function nextLine(): number {
  const frame = new Error().stack!.split('\n')[2];
  return Number(/:(\d+):\d+\)?$/.exec(frame)![1]) + 1;
}

t.test('interface names: explicit names first, then the next free ethN in link order', async (t) => {
  const m = fromYaml(`
name: x
nodes:
  r1: {kind: router}
  h1: {kind: host}
  h2: {kind: host}
  h3: {kind: host}
links:
  - endpoints: [r1, h1]
  - endpoints: ["r1:eth1", h2]
  - endpoints: [r1, "h3:uplink"]
  - endpoints: ["r1:eth5", "h2:eth2"]
`);
  t.same(
    ifnames(m, 'r1'),
    ['eth2', 'eth1', 'eth3', 'eth5'],
    'eth1 is taken explicitly, so the first link gets eth2',
  );
  t.same(ifnames(m, 'h2'), ['eth1', 'eth2']);
  t.same(ifnames(m, 'h3'), ['uplink']);
  t.same(
    m.links.map((l) => l.ends.map((e) => `${e.node}:${e.name}`).join('-')),
    ['r1:eth2-h1:eth1', 'r1:eth1-h2:eth1', 'r1:eth3-h3:uplink', 'r1:eth5-h2:eth2'],
  );
  const peer = m.nodes.get('h1')!.ifaces[0].peer;
  t.same(peer, { node: 'r1', name: 'eth2' }, 'each interface knows its peer');
});

t.test('switches joined by links form one L2 segment: a linear topology is one subnet', async (t) => {
  const m = fromYaml(`
name: x
nodes:
  s1: {kind: switch}
  s2: {kind: switch}
  s3: {kind: switch}
  h1: {kind: host}
  h2: {kind: host}
  h3: {kind: host}
links:
  - endpoints: [s1, s2]
  - endpoints: [s2, s3]
  - endpoints: [h1, s1]
  - endpoints: [h2, s2]
  - endpoints: [h3, s3]
`);
  const seg = segmentOf(m, 'h1');
  t.equal(segmentOf(m, 'h3'), seg, 'h1 and h3 share a segment across two switch-switch links');
  t.same(seg.switches, ['s1', 's2', 's3']);
  t.same(
    seg.ifaces.map((i) => i.node),
    ['h1', 'h2', 'h3'],
    'switch ports are not addressed members',
  );
  t.equal(m.segments.filter((s) => s.ifaces.length > 0).length, 1, 'one addressed subnet');
  t.equal(formatCidr(seg.subnet), '10.0.0.0/24', 'from the default pool');
  t.same(addresses(m), { 'h1:eth1': '10.0.0.1/24', 'h2:eth1': '10.0.0.2/24', 'h3:eth1': '10.0.0.3/24' });
  t.equal(m.nodes.get('s1')!.ifaces.filter((i) => i.addr).length, 0, 'switch ports carry no address');
});

t.test('two switches not linked are two segments with two subnets', async (t) => {
  const m = fromBuilder((b) => {
    b.switch('s1');
    b.switch('s2');
    b.link(b.host('h1'), 's1');
    b.link(b.host('h2'), 's2');
    b.link(b.router('r1'), 's1');
    b.link('r1', 's2');
  });
  t.not(segmentOf(m, 'h1'), segmentOf(m, 'h2'));
  t.same(addresses(m), {
    'h1:eth1': '10.0.0.1/24',
    'h2:eth1': '10.0.1.1/24',
    'r1:eth1': '10.0.0.2/24',
    'r1:eth2': '10.0.1.2/24',
  });
});

t.test('point-to-point links get /30s from addressing.p2p', async (t) => {
  const m = fromYaml(`
name: x
addressing: {p2p: 172.16.8.0/24}
nodes:
  r1: {kind: router}
  r2: {kind: router}
  r3: {kind: router}
links:
  - endpoints: [r1, r2]
  - endpoints: [r2, r3]
`);
  t.same(
    m.segments.map((s) => formatCidr(s.subnet)),
    ['172.16.8.0/30', '172.16.8.4/30'],
  );
  t.same(addresses(m), {
    'r1:eth1': '172.16.8.1/30',
    'r2:eth1': '172.16.8.2/30',
    'r2:eth2': '172.16.8.5/30',
    'r3:eth1': '172.16.8.6/30',
  });
  const dflt = fromBuilder((b) => b.link(b.host('a'), b.host('b')));
  t.equal(formatCidr(dflt.segments[0].subnet), '10.255.0.0/30', 'the default p2p pool');
});

t.test('a LAN of 500 hosts gets a /23; lanPrefix sets the smallest LAN', async (t) => {
  const m = fromBuilder((b) => {
    b.switch('s1');
    b.link(b.router('r1'), 's1');
    for (let i = 1; i <= 500; i++) b.link(b.host(`h${i}`), 's1');
  });
  const seg = segmentOf(m, 'h1');
  t.ok(seg.subnet.prefix <= 23, `prefix /${seg.subnet.prefix} holds 501 interfaces`);
  t.equal(formatCidr(seg.subnet), '10.0.0.0/23');
  const ips = Object.values(addresses(m));
  t.equal(ips.length, 501);
  t.equal(new Set(ips).size, 501, 'every address unique');
  t.equal(addresses(m)['h500:eth1'], '10.0.1.245/23', 'addresses continue past .255 into the second /24');

  const small = fromYaml(`
name: x
addressing: {lanPrefix: 26, pool: 192.168.50.0/24}
nodes:
  s1: {kind: switch}
  s2: {kind: switch}
  h1: {kind: host}
  h2: {kind: host}
links:
  - endpoints: [h1, s1]
  - endpoints: [h2, s2]
`);
  t.same(
    small.segments.map((s) => formatCidr(s.subnet)),
    ['192.168.50.0/26', '192.168.50.64/26'],
    'lanPrefix 26 from the pool 192.168.50.0/24',
  );
});

t.test('explicit subnets, link ipv4 and the node ip shorthand', async (t) => {
  const m = fromYaml(`
name: x
nodes:
  s1: {kind: switch, subnet: 10.1.1.0/24}
  s2: {kind: switch}
  h1: {kind: host}
  h2: {kind: host}
  h3: {kind: host, ip: 10.9.9.9/16}
  r1: {kind: router}
  r2: {kind: router}
links:
  - endpoints: [h1, s1]
    ipv4: [10.1.1.2/24, null]
  - endpoints: [h2, s1]
  - endpoints: [h3, s2]
  - endpoints: [r1, r2]
    subnet: 192.168.77.0/29
  - endpoints: [r1, s2]
`);
  t.equal(formatCidr(segmentOf(m, 'h1').subnet), '10.1.1.0/24', 'the switch subnet');
  t.equal(formatCidr(segmentOf(m, 'h3').subnet), '10.9.0.0/16', 'the subnet of the ip shorthand');
  t.same(addresses(m), {
    'h1:eth1': '10.1.1.2/24',
    'h2:eth1': '10.1.1.1/24',
    'h3:eth1': '10.9.9.9/16',
    'r1:eth1': '192.168.77.1/29',
    'r1:eth2': '10.9.0.1/16',
    'r2:eth1': '192.168.77.2/29',
  });
  t.equal(addresses(m)['h2:eth1'], '10.1.1.1/24', 'allocation fills around explicit addresses');
});

t.test('allocated subnets avoid explicit ones', async (t) => {
  const m = fromYaml(`
name: x
nodes:
  s1: {kind: switch}
  s2: {kind: switch, subnet: 10.0.0.0/24}
  h1: {kind: host}
  h2: {kind: host}
links:
  - endpoints: [h1, s1]
  - endpoints: [h2, s2]
`);
  t.equal(formatCidr(segmentOf(m, 'h1').subnet), '10.0.1.0/24', 'the explicit 10.0.0.0/24 is skipped');
});

t.test('a user pool that contains the p2p range gives no overlapping subnets', async (t) => {
  const m = fromYaml(`
name: x
addressing: {pool: 10.0.0.0/29, p2p: 10.0.0.0/29, lanPrefix: 30}
nodes:
  s1: {kind: switch}
  h1: {kind: host}
  r1: {kind: router}
  r2: {kind: router}
links:
  - endpoints: [h1, s1]
  - endpoints: [r1, r2]
`);
  t.same(
    m.segments.map((s) => formatCidr(s.subnet)),
    ['10.0.0.0/30', '10.0.0.4/30'],
  );
});

t.test('default gateway: a router on the host segment, or the gateway field by name', async (t) => {
  const m = fromYaml(`
name: x
nodes:
  s1: {kind: switch}
  h1: {kind: host}
  h2: {kind: host, gateway: r2}
  h3: {kind: host}
  r1: {kind: router}
  r2: {kind: router}
links:
  - endpoints: [h1, s1]
  - endpoints: [h2, s1]
  - endpoints: [r1, s1]
  - endpoints: [r2, s1]
  - endpoints: [h3, s1]
`);
  const plan = buildPlan(m);
  const routes = (node: string) => plan.script(m.nodes.get(node)!.ns).ip.filter((l) => l.startsWith('route'));
  const r1 = addresses(m)['r1:eth1'].split('/')[0];
  const r2 = addresses(m)['r2:eth1'].split('/')[0];
  t.same(routes('h1'), [`route replace default via ${r1}`], 'the first router on the segment');
  t.same(routes('h2'), [`route replace default via ${r2}`], 'gateway: r2 resolves to its address');
  t.same(routes('r1'), [], 'routers get no automatic default route');

  const lonely = fromBuilder((b) => b.link(b.host('a'), b.switch('s')));
  t.same(
    buildPlan(lonely)
      .script(lonely.nodes.get('a')!.ns)
      .ip.filter((l) => l.startsWith('route')),
    [],
    'no router, no default route',
  );
});

t.test('routes via a node name use its address on the shared segment', async (t) => {
  const m = fromBuilder((b) => {
    b.host('h1', {
      routes: [
        { dst: '10.50.0.0/16', via: 'r1' },
        { dst: 'default', via: 'r1', metric: 5 },
      ],
    });
    b.router('r1', { routes: [{ dst: '10.60.0.0/16', via: '10.255.0.6' }] });
    b.router('r2');
    b.link('h1', 'r1');
    b.link('r1', 'r2');
  });
  const plan = buildPlan(m);
  const r1 = addresses(m)['r1:eth1'].split('/')[0];
  t.same(
    plan.script(m.nodes.get('h1')!.ns).ip.filter((l) => l.startsWith('route')),
    [`route replace 10.50.0.0/16 via ${r1}`, `route replace default via ${r1} metric 5`],
    'an explicit default route replaces the automatic one',
  );
  t.same(
    plan.script(m.nodes.get('r1')!.ns).ip.filter((l) => l.startsWith('route')),
    ['route replace 10.60.0.0/16 via 10.255.0.6'],
  );
});

t.test('addresses are deterministic, and YAML and the builder agree', async (t) => {
  const yaml = `
name: x
nodes:
  s1: {kind: switch}
  r1: {kind: router}
  r2: {kind: router}
  h1: {kind: host}
  h2: {kind: host}
links:
  - endpoints: [h1, s1]
  - endpoints: [r1, s1]
  - endpoints: [r1, r2]
  - endpoints: [h2, r2]
`;
  const a = fromYaml(yaml, 'one');
  const b = fromYaml(yaml, 'two');
  t.same(addresses(a), addresses(b), 'the same file twice');
  const c = fromBuilder((t) => {
    t.switch('s1');
    t.router('r1');
    t.router('r2');
    t.host('h1');
    t.host('h2');
    t.link('h1', 's1');
    t.link('r1', 's1');
    t.link('r1', 'r2');
    t.link('h2', 'r2');
  });
  t.same(addresses(c), addresses(a), 'the builder gives the same addresses');
  t.equal(a.nodes.get('h1')!.ns, 'netsim-one-h1', 'namespaces are named netsim-<sim>-<node>');
});

t.test('YAML errors: file, line, column, field path', async (t) => {
  const err = topologyError(t, () =>
    fromYaml(`name: x
nodes:
  h1: {kind: host}
  s1: {kind: switch}
links:
  - endpoints: [h1, s1]
  - endpoints: [h1, s9]
    mtu: 20
`),
  );
  t.equal(
    err.message,
    'test.yml:8:10: links[1].mtu: must be at least 68 (got number 20)',
    'schema errors stop validation before the semantic checks (the unknown node comes later)',
  );
  const err2 = topologyError(t, () =>
    fromYaml(`name: x
nodes:
  h1: {kind: host, colour: red}
  h2: {kind: host}
links:
  - endpoints: [h1, h9]
  - endpoints: [h2, h2]
`),
  );
  t.same(
    err2.issues.map((i) => [i.pos?.line, i.path.join('.')]),
    [
      [3, 'nodes.h1.colour'],
      [6, 'links.0.endpoints.1'],
      [7, 'links.1.endpoints'],
    ],
  );
  t.match(err2.issues[0].message, 'unknown field "colour" (allowed here: kind, labels');
  t.match(err2.issues[1].message, 'unknown node "h9"');
  t.match(err2.issues[2].message, 'cannot connect node "h2" to itself');
});

t.test('builder errors point at the call in the scenario', async (t) => {
  let dupLine = 0;
  const dup = topologyError(t, () =>
    fromBuilder((b) => {
      b.host('h1');
      dupLine = nextLine();
      b.host('h1');
    }),
  );
  t.same(
    dup.issues.map((i) => [i.pos?.line, i.path.join('.'), i.message]),
    [[dupLine, 'nodes.h1', 'duplicate node name "h1"']],
  );

  let linkLine = 0;
  const unknown = topologyError(t, () =>
    fromBuilder((b) => {
      b.host('h1');
      linkLine = nextLine();
      b.link('h1', 'h7');
    }),
  );
  t.equal(unknown.issues.length, 1);
  t.equal(unknown.issues[0].pos?.line, linkLine, 'the line of the link() call');
  t.match(unknown.issues[0].pos?.file, /validate\.test\.ts$/, 'in the test source');
  t.match(unknown.issues[0].message, 'unknown node "h7"');

  let hostLine = 0;
  const cidr = topologyError(t, () =>
    fromBuilder((b) => {
      hostLine = nextLine();
      b.host('h1', { ip: '10.0.0.1/99' });
      b.link('h1', b.host('h2'));
    }),
  );
  t.equal(cidr.issues[0].pos?.line, hostLine, 'the line of the host() call');
  t.same(cidr.issues[0].path, ['nodes', 'h1', 'ip']);
  t.match(cidr.issues[0].message, 'not an IPv4 CIDR');
});

t.test(
  'a switch with more links than a Linux bridge has ports is refused before anything is built',
  async (t) => {
    const build = (n: number) => {
      const topo = builtinTopology(`single,${n}`)!;
      return () => validate(topo.toSpec(), topo.source, { simName: 'big' });
    };
    t.equal(build(1023)().nodes.get('s1')!.ifaces.length, 1023, '1,023 ports: the most a bridge takes');
    const err = topologyError(t, build(1024));
    t.same(
      err.issues.map((i) => [i.path.join('.'), i.message]),
      [
        [
          'nodes.s1',
          'switch s1 has 1024 links, but a Linux bridge takes at most 1023 ports: spread them over several switches linked together (a tree: `tree,DEPTH,FANOUT`)',
        ],
      ],
    );
  },
);
