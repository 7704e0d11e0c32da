// FRR for IPv6, without daemons: frr.conf rendered for dual-stack and IPv6-only topologies
// (OSPFv3 next to OSPFv2 in each interface block, BGP IPv6 sessions and networks in
// `address-family ipv6 unicast`, router ids derived without IPv4), the daemons that need,
// the problems reported at their field, and the parsers of ospf6d's JSON (FRR 8.4's output).
// The expected configs are in fixtures/frr-render (each passed FRR 8.4's `vtysh --dryrun`).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { daemonsForConfig } from '../../src/features/frr/daemons.js';
import { renderConfig, routerIdOf } from '../../src/features/frr/render.js';
import { bgpNeighbors } from '../../src/features/frr/render-bgp.js';
import { frrSetup } from '../../src/features/frr/setup.js';
import {
  ospf6PassiveInConfig,
  parseOspf6Interfaces,
  parseOspf6Neighbors,
  parseOspf6RouterId,
  parseOspf6RouterLsas,
} from '../../src/features/frr/show-ospf6.js';
import { IssueSink, TopologyError } from '../../src/model/errors.js';
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

function render(model: Model, name: string): { config?: string; reports: string[] } {
  const reports: string[] = [];
  const config = renderConfig(node(model, name), model, (path, message) =>
    reports.push(`${path.join('.')}: ${message}`),
  );
  return { config, reports };
}

function daemons(model: Model, name: string): string[] | undefined {
  return frrSetup(node(model, name), model, new IssueSink(model.source))?.daemons.runs.map((r) => r.daemon);
}

/** The messages of the TopologyError validating `text` throws. */
function problems(text: string): string[] {
  try {
    fromYaml(text);
  } catch (err) {
    if (err instanceof TopologyError) return err.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw err;
  }
  return [];
}

t.test('dual-stack: OSPFv2 and OSPFv3, IPv4 and IPv6 BGP sessions', async (t) => {
  const model = fromYaml(fixture('dual.yml'));
  t.same(render(model, 'r1').reports, [], 'r1: nothing to report');
  t.equal(
    render(model, 'r1').config,
    fixture('dual-r1.conf'),
    'r1: router ospf and router ospf6, both families in each interface block (lo with loopback6), a session per family to each neighbour, networks by interface, lo and IPv6 CIDR, redistribute ospf6 in IPv6',
  );
  t.equal(
    render(model, 'r3').config,
    fixture('dual-r3.conf'),
    'r3: ipv6 route for an IPv6 destination, ipv6 ospf6 passive and cost, a neighbour by IPv6 address (compressed) in IPv6 unicast only',
  );
  t.same(
    bgpNeighbors(node(model, 'r1'), model, () => t.fail('no report expected')).map((n) => [
      n.addr,
      n.family,
      n.node,
    ]),
    [
      ['10.255.0.2', 4, 'r2'],
      ['fd00:0:ff::2', 6, 'r2'],
      ['10.255.0.9', 4, 'r3'],
      ['fd00:0:ff:2::1', 6, 'r3'],
    ],
    "r1 peers with each neighbour's IPv4 and IPv6 address on the shared link",
  );
  t.same(
    daemons(model, 'r1'),
    ['zebra', 'staticd', 'ospfd', 'ospf6d', 'bgpd', 'bfdd'],
    'r1 runs ospfd and ospf6d',
  );
});

t.test('IPv6-only: OSPFv3 alone, derived router ids, BGP without IPv4 unicast', async (t) => {
  const model = fromYaml(fixture('v6only.yml'));
  for (const name of ['r1', 'r2', 'r3'])
    t.same(render(model, name).reports, [], `${name}: nothing to report`);
  t.equal(
    render(model, 'r1').config,
    fixture('v6only-r1.conf'),
    'r1: no router ospf, router id 0.0.0.1, iBGP to a loopback6 with update-source, no IPv4 unicast',
  );
  t.equal(render(model, 'r2').config, fixture('v6only-r2.conf'), 'r2: OSPFv3 on its two links');
  t.equal(routerIdOf(node(model, 'r2'), model), '0.0.0.2', 'the second router: 0.0.0.2');
  t.equal(routerIdOf(node(model, 'r3'), model), '3.3.3.3', 'an explicit routerId stays');
  t.equal(routerIdOf(node(model, 'r2')), undefined, 'without the model: none (no IPv4 address)');
  t.same(daemons(model, 'r2'), ['zebra', 'staticd', 'ospf6d'], 'no ospfd without IPv4');
  t.same(daemons(model, 'r1'), ['zebra', 'staticd', 'ospf6d', 'bgpd'], 'r1: ospf6d and bgpd');
});

t.test('an unnumbered neighbour: one session on the link, both families', async (t) => {
  const model = fromYaml(`name: un
addressing: {family: dual}
nodes:
  r1: {kind: router, bgp: {asn: 65001, neighbors: [{peer: r2, unnumbered: true}], networks: [eth2]}}
  r2: {kind: router, bgp: {asn: 65002, neighbors: [{peer: r1, unnumbered: true}]}}
  h1: {kind: host}
links:
  - endpoints: [r1, r2]
  - endpoints: [r1, h1]
`);
  const conf = render(model, 'r1').config ?? '';
  t.match(
    conf,
    /\n neighbor eth1 interface remote-as 65002\n neighbor eth1 description r2\n/,
    'neighbor IFNAME interface',
  );
  t.match(
    conf,
    /address-family ipv4 unicast\n {2}network 10\.255\.0\.4\/30\n exit-address-family/,
    'IPv4 unicast stays active (the traditional default) for it',
  );
  t.match(
    conf,
    /address-family ipv6 unicast\n {2}network fd00:0:ff:1::\/64\n {2}neighbor eth1 activate\n/,
    'and IPv6 unicast',
  );
  t.notMatch(conf, /neighbor 10\.|neighbor fd00/, 'no session to a global address');
  t.same(
    problems(`name: un
addressing: {family: dual}
nodes:
  r1: {kind: router, bgp: {asn: 65001, neighbors: [{peer: r2, unnumbered: true}]}}
  r2: {kind: router, bgp: {asn: 65002}}
  r3: {kind: router}
  s1: {kind: switch}
links:
  - endpoints: [r1, s1]
  - endpoints: [r2, s1]
  - endpoints: [r3, s1]
`),
    [
      "nodes.r1.bgp.neighbors.0.unnumbered: an unnumbered session runs on a link between two nodes; r1's eth1 to r2 is a LAN",
    ],
  );
});

t.test('a derived router id skips ids other routers use', async (t) => {
  const model = fromYaml(`name: ids
addressing: {family: ipv6}
nodes:
  r1: {kind: router, ospf: {}}
  r2: {kind: router, routerId: 0.0.0.1, ospf: {}}
links:
  - endpoints: [r1, r2]
`);
  t.equal(routerIdOf(node(model, 'r1'), model), '0.0.0.2', 'r1 would be 0.0.0.1, which r2 has');
});

t.test('IPv6 problems are reported at their field', async (t) => {
  t.same(
    problems(`name: p
addressing: {family: ipv6}
nodes:
  r1: {kind: router, bgp: {asn: 1, neighbors: [r3], networks: ["fd00:1::1/64"]}}
  r2: {kind: router}
  r3: {kind: router, bgp: {asn: 3, neighbors: [r1]}}
links:
  - endpoints: [r1, r2]
  - endpoints: [r2, r3]
`),
    [
      'nodes.r1.bgp.neighbors.0: r3 shares no subnet with r1 and has no loopback to peer with (give it loopback6: <ipv6>)',
      'nodes.r1.bgp.networks.0: fd00:1::1/64 has host bits set: the network is fd00:1::/64',
      'nodes.r3.bgp.neighbors.0: r1 shares no subnet with r3 and has no loopback to peer with (give it loopback6: <ipv6>)',
    ],
  );
  const msgs = problems(`name: p
addressing: {family: dual}
nodes:
  r1: {kind: router, loopback6: "fd00:0:ff::2", bgp: {asn: 1, neighbors: [r2]}}
  r2: {kind: router, loopback6: "fd00:9::2", bgp: {asn: 1, neighbors: [r1]}}
  r3: {kind: router, loopback6: "fd00:9::2"}
links:
  - endpoints: [r1, r2]
`);
  t.same(
    msgs,
    [
      'nodes.r1.loopback6: address fd00:0:ff::2 is already used by r2:eth1',
      'nodes.r1.loopback6: fd00:0:ff::2 is inside a link subnet: a loopback needs an address of its own',
      'nodes.r2.loopback6: address fd00:9::2 is already used by the loopback6 of r3',
      'nodes.r3.loopback6: address fd00:9::2 is already used by the loopback6 of r2',
    ],
    'a loopback6 is an address of its own',
  );
});

t.test("a user's frr.conf: the daemons its IPv6 lines need", async (t) => {
  t.same(daemonsForConfig('interface eth1\n ipv6 ospf6 area 0\nexit\n'), ['zebra', 'staticd', 'ospf6d']);
  t.same(
    daemonsForConfig('router ospf6\n ospf6 router-id 1.1.1.1\nexit\ninterface eth1\n ipv6 ospf6 bfd\n'),
    ['zebra', 'staticd', 'ospf6d', 'bfdd'],
  );
  t.same(
    [
      ...ospf6PassiveInConfig(
        'interface eth1\n ipv6 ospf6 passive\nexit\ninterface eth2\n ipv6 ospf6 area 0\nexit\n',
      ),
    ],
    ['eth1'],
    'passive OSPFv3 interfaces of a frr.conf',
  );
});

t.test("ospf6d's JSON (FRR 8.4)", async (t) => {
  t.same(
    parseOspf6Neighbors(
      JSON.stringify({
        neighbors: [
          { neighborId: '2.2.2.2', state: 'Full', ifState: 'PointToPoint', interfaceName: 'eth1' },
          { neighborId: '3.3.3.3', state: 'Twoway', ifState: 'DROther', interfaceName: 'eth2' },
        ],
      }),
    ),
    [
      { routerId: '2.2.2.2', state: 'Full', role: 'PointToPoint', iface: 'eth1' },
      { routerId: '3.3.3.3', state: '2-Way', role: 'DROther', iface: 'eth2' },
    ],
    'neighbours by router id; Twoway is 2-Way',
  );
  t.same(
    parseOspf6Interfaces(
      JSON.stringify({
        eth1: {
          status: 'up',
          type: 'BROADCAST',
          operatingAsType: 'POINTOPOINT',
          attachedToArea: true,
          areaId: '0',
          ospf6InterfaceState: 'PointToPoint',
          dr: '0.0.0.0',
          bdr: '0.0.0.0',
          internetAddress: [
            { type: 'inet', address: '10.255.0.1/30' },
            { type: 'inet6', address: 'fe80::1/64' },
            { type: 'inet6', address: 'fd00:12::1/64' },
          ],
        },
        eth9: { status: 'up', type: 'BROADCAST', attachedToArea: false },
      }),
    ),
    [
      {
        name: 'eth1',
        up: true,
        area: '0.0.0.0',
        networkType: 'POINTOPOINT',
        state: 'PointToPoint',
        dr: '0.0.0.0',
        bdr: '0.0.0.0',
        addresses: ['fd00:12::1/64'],
      },
    ],
    'interfaces in an area only, the area dotted, global addresses',
  );
  t.equal(parseOspf6RouterId('{"routerId":"2.2.2.2","running":"00:00:08"}'), '2.2.2.2');
  t.same(
    parseOspf6RouterLsas(
      JSON.stringify({
        areaScopedLinkStateDb: [
          {
            areaId: '0',
            lsa: [
              {
                type: 'Router',
                linkStateId: '0.0.0.0',
                advertisingRouter: '1.1.1.1',
                lsSequenceNumber: 2147483651,
                lsaDescription: [{ type: 'Point-To-Point', neighborRouterId: '2.2.2.2' }],
              },
            ],
          },
        ],
      }),
    ),
    [
      {
        area: '0.0.0.0',
        advRouter: '1.1.1.1',
        key: '1.1.1.1/0.0.0.0#2147483651',
        links: [{ type: 'Point-To-Point', neighborRouterId: '2.2.2.2' }],
      },
    ],
    'router-LSAs with their links',
  );
});
