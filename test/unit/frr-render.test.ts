// frr.conf rendered from a topology's intent (src/features/frr/render*.ts), checked line for
// line: OSPF areas, interfaces, passive and point-to-point, timers and BFD; BGP neighbours by
// name, address and loopback, networks, redistribution, route reflection; static routes and
// the router id. The topologies and the expected configs are in fixtures/frr-render (the
// configs as netsim rendered them before render.ts was split).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { needsBfd, renderConfig, routerIdOf } from '../../src/features/frr/render.js';
import { bgpNeighbors } from '../../src/features/frr/render-bgp.js';
import { ospfInterfaces } from '../../src/features/frr/render-ospf.js';
import { frrSetup } from '../../src/features/frr/setup.js';
import type { FrrRouterSpec } from '../../src/features/frr/spec.js';
import { IssueSink, type Path } from '../../src/model/errors.js';
import { PROJECT_ROOT } from '../../src/model/load.js';
import type { Model, NodeModel } from '../../src/model/model.js';
import { YamlSource } from '../../src/model/source.js';
import { validate } from '../../src/model/validate.js';

const fixture = (name: string) =>
  readFileSync(join(PROJECT_ROOT, 'test', 'unit', 'fixtures', 'frr-render', name), 'utf8');

function fromYaml(text: string): Model {
  const { source, value } = YamlSource.parse('render.yml', text);
  return validate(value, source, { simName: 'render' });
}

function node(model: Model, name: string): NodeModel {
  const n = model.nodes.get(name);
  if (!n) throw new Error(`no node ${name}`);
  return n;
}

/** Renders with every report collected as "path: message". */
function render(model: Model, name: string): { config?: string; reports: string[] } {
  const reports: string[] = [];
  const config = renderConfig(node(model, name), model, (path: Path, message: string) =>
    reports.push(`${path.join('.')}: ${message}`),
  );
  return { config, reports };
}

t.test('OSPF: areas, costs, passive and point-to-point interfaces, static routes', async (t) => {
  const model = fromYaml(fixture('ospf.yml'));
  t.equal(
    render(model, 'r1').config,
    fixture('ospf-r1.conf'),
    'r1: static routes first (via by address and by node, distance clamped to 1..255), every interface and lo in area 0',
  );
  t.equal(
    render(model, 'r2').config,
    fixture('ospf-r2.conf'),
    'r2: per-interface area, cost, network type and passive; timers and bfd on the active ones',
  );
  t.equal(
    render(model, 'r3').config,
    fixture('ospf-r3.conf'),
    'r3: listed interfaces with the global cost; passive towards a host',
  );
  t.same(render(model, 'r1').reports, [], 'nothing to report');
  t.same(
    ospfInterfaces(node(model, 'r1'), model, () => t.fail('no report expected')),
    [
      { name: 'eth1', area: '0.0.0.0', cost: undefined, passive: false, network: 'point-to-point' },
      { name: 'eth2', area: '0.0.0.0', cost: undefined, passive: false, network: undefined },
      { name: 'lo', area: '0.0.0.0', cost: undefined, passive: true, network: undefined },
    ],
    'r1: p2p towards r2 alone, broadcast on the LAN with r2 (another OSPF speaker), lo passive',
  );
  t.equal(routerIdOf(node(model, 'r1')), '172.16.0.1', 'the loopback when no routerId is given');
  t.equal(routerIdOf(node(model, 'r2')), '2.2.2.2', 'routerId when given');
  t.equal(routerIdOf(node(model, 'r3')), '10.0.23.2', 'else the first address');
  t.equal(routerIdOf(node(model, 's1')), undefined, 'none without any address');
});

t.test('BGP: neighbours by name, address and loopback; networks; route reflection', async (t) => {
  const model = fromYaml(fixture('bgp.yml'));
  for (const name of ['r1', 'r2', 'r3', 'r4'])
    t.same(render(model, name).reports, [], `${name}: nothing to report`);
  t.equal(
    render(model, 'r1').config,
    fixture('bgp-r1.conf'),
    'r1: eBGP by name and by address, networks by CIDR and lo',
  );
  t.equal(
    render(model, 'r2').config,
    fixture('bgp-r2.conf'),
    'r2: OSPF underlay, timers, RR client with next-hop-self and bfd, a multihop session to a loopback, a network by interface',
  );
  t.equal(render(model, 'r3').config, fixture('bgp-r3.conf'), 'r3: iBGP to r2 on the shared subnet');
  t.equal(
    render(model, 'r4').config,
    fixture('bgp-r4.conf'),
    'r4: eBGP to a loopback: update-source and multihop',
  );
  t.same(
    bgpNeighbors(node(model, 'r2'), model, () => t.fail('no report expected')).map((n) => [
      n.addr,
      n.asn,
      n.node,
      n.multihop,
    ]),
    [
      ['10.0.12.1', 65001, 'r1', false],
      ['10.0.23.2', 65002, 'r3', false],
      ['172.16.0.4', 65004, 'r4', true],
    ],
    'r2 reaches r1 and r3 on shared subnets, r4 at its loopback',
  );
  t.equal(needsBfd(node(model, 'r2')), true, 'a neighbour with bfd needs bfdd');
  t.equal(needsBfd(node(model, 'r1')), false, 'no bfd anywhere: no bfdd');
  const sink = new IssueSink(model.source);
  t.same(
    frrSetup(node(model, 'r2'), model, sink)?.daemons.runs.map((r) => r.daemon),
    ['zebra', 'staticd', 'ospfd', 'bgpd', 'bfdd'],
    'r2 runs zebra, staticd, ospfd, bgpd and bfdd',
  );
  t.same(
    frrSetup(node(model, 'r4'), model, sink)?.daemons.runs.map((r) => r.daemon),
    ['zebra', 'staticd', 'bgpd'],
    'r4 runs zebra, staticd and bgpd',
  );
  t.same(sink.issues, [], 'no issues');
});

t.test('a router without ospf or bgp renders nothing', async (t) => {
  const model = fromYaml(`name: s
nodes:
  r1: {kind: router, routes: [{dst: 10.9.0.0/16, via: r2}]}
  r2: {kind: router}
links:
  - endpoints: [r1, r2]
`);
  t.same(render(model, 'r1'), { config: undefined, reports: [] });
  t.equal(frrSetup(node(model, 'r1'), model, new IssueSink(model.source)), undefined, 'and has no FRR setup');
});

t.test('problems are reported at the field that caused them', async (t) => {
  const model = fromYaml(fixture('bgp.yml'));
  // a validated model, then intent no validation would let through: what render reports
  const r2 = node(model, 'r2');
  const spec = r2.spec as FrrRouterSpec;
  spec.ospf = { timers: { hello: 5, dead: 5 }, interfaces: ['eth9', 'eth1', 'eth1'] };
  spec.bgp = {
    asn: 65002,
    neighbors: ['nowhere', 'r2', { peer: 'r1', asn: 65009 }, 'h2', 'r3', 'r3'],
    networks: ['10.1.2.3/16', 'eth7'],
    timers: { hold: 2 },
  };
  t.same(render(model, 'r2').reports, [
    'nodes.r2.ospf.interfaces.0: r2 has no interface eth9 (its interfaces: eth1, eth2, eth3, lo)',
    'nodes.r2.ospf.interfaces.2: interface eth1 is listed twice',
    'nodes.r2.ospf.timers.dead: the dead interval (5) must be longer than the hello interval (5)',
    'nodes.r2.bgp.timers.hold: the hold time (2) must be 0 or at least 3 and longer than keepalive (1)',
    'nodes.r2.bgp.neighbors.0: unknown node "nowhere" (give a router name, a cluster name or an IPv4 or IPv6 address)',
    'nodes.r2.bgp.neighbors.1: r2 cannot peer with itself',
    'nodes.r2.bgp.neighbors.2.asn: r1 is in AS 65001, not 65009',
    "nodes.r2.bgp.neighbors.3: give the peer's AS number (asn:): h2 has no bgp section",
    'nodes.r2.bgp.neighbors.5: r3 (10.0.23.2) is listed twice',
    'nodes.r2.bgp.networks.0: 10.1.2.3/16 has host bits set: the network is 10.1.0.0/16',
    'nodes.r2.bgp.networks.1: "eth7" is neither a network like 10.1.0.0/24 nor an interface of r2 (eth1, eth2, eth3)',
  ]);
});
