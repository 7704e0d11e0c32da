// The parsers of vtysh's output (src/features/frr/show-*.ts, splitSections in vtysh.ts), read
// from output recorded on a running network (FRR 8.4.4; see fixtures/vtysh, recorded by
// test/lib/record-vtysh.ts): r1 -p2p- r2 in eBGP, r1..r4 on one OSPF LAN, r3 and r4 route
// reflector clients of r2, r3's stub in area 1.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseZebraClients } from '../../src/features/frr/converge-zebra.js';
import {
  parseBgpNeighbors,
  parseBgpSummary,
  parseBgpTable,
  pendingBgpUpdates,
} from '../../src/features/frr/show-bgp.js';
import { parseJsonSequence } from '../../src/features/frr/show-json.js';
import {
  parseOspfInterfaces,
  parseOspfNeighbors,
  parseRouterLsas,
} from '../../src/features/frr/show-ospf.js';
import { parseRoutes } from '../../src/features/frr/show-route.js';
import { splitSections } from '../../src/features/frr/vtysh.js';
import { PROJECT_ROOT } from '../../src/model/load.js';

const fixture = (name: string) =>
  readFileSync(join(PROJECT_ROOT, 'test', 'unit', 'fixtures', 'vtysh', name), 'utf8');

t.test('the fixtures come from FRR 8.4', async (t) => {
  t.match(fixture('frr-version.out'), /^FRRouting 8\.4\./);
});

t.test('parseJsonSequence: one value per document vtysh printed', async (t) => {
  const one = fixture('r1-ospf-neighbor.out');
  t.equal(parseJsonSequence(one).length, 1, 'one daemon answered');
  t.equal(parseJsonSequence(`${one}\n${one}`).length, 2, 'two instances: two documents');
  t.same(
    parseJsonSequence('{"a":"}{\\"["}[1,{"b":2}]'),
    [{ a: '}{"[' }, [1, { b: 2 }]],
    'brackets inside strings do not count',
  );
  t.same(parseJsonSequence('% Unknown command'), [], 'an error message is no document');
});

t.test('show ip ospf neighbor json (r1): the same router on two interfaces, DR roles', async (t) => {
  t.same(parseOspfNeighbors(fixture('r1-ospf-neighbor.out')), [
    {
      routerId: '10.255.0.2',
      state: 'Full',
      role: '-',
      address: '10.0.12.2',
      iface: 'eth1',
      instance: undefined,
    },
    {
      routerId: '10.255.0.2',
      state: '2-Way',
      role: 'DROther',
      address: '10.0.0.2',
      iface: 'eth2',
      instance: undefined,
    },
    {
      routerId: '10.255.0.3',
      state: 'Full',
      role: 'Backup',
      address: '10.0.0.3',
      iface: 'eth2',
      instance: undefined,
    },
    {
      routerId: '10.255.0.4',
      state: 'Full',
      role: 'DR',
      address: '10.0.0.4',
      iface: 'eth2',
      instance: undefined,
    },
  ]);
  // a second ospfd instance prints its own document, tagged with its number
  const tagged = fixture('r1-ospf-neighbor.out').replace('{', '{"ospfInstance":2,');
  t.same(
    parseOspfNeighbors(tagged).map((n) => n.instance),
    [2, 2, 2, 2],
    'neighbours of an instance carry its number',
  );
});

t.test('show ip ospf interface json (r1): p2p, LAN, passive stub, loopback', async (t) => {
  t.same(parseOspfInterfaces(fixture('r1-ospf-interface.out')), [
    {
      name: 'eth1',
      up: true,
      area: '0.0.0.0',
      networkType: 'POINTOPOINT',
      state: 'Point-To-Point',
      address: '10.0.12.1',
      prefixLen: 30,
      passive: false,
      drAddress: undefined,
      bdrAddress: undefined,
      instance: undefined,
    },
    {
      name: 'eth2',
      up: true,
      area: '0.0.0.0',
      networkType: 'BROADCAST',
      state: 'DROther',
      address: '10.0.0.1',
      prefixLen: 24,
      passive: false,
      drAddress: '10.0.0.4',
      bdrAddress: '10.0.0.3',
      instance: undefined,
    },
    {
      name: 'eth3',
      up: true,
      area: '0.0.0.0',
      networkType: 'BROADCAST',
      state: 'DR',
      address: '192.168.1.1',
      prefixLen: 24,
      passive: true,
      drAddress: '192.168.1.1',
      bdrAddress: undefined,
      instance: undefined,
    },
    {
      name: 'lo',
      up: true,
      area: '0.0.0.0',
      networkType: 'LOOPBACK',
      state: 'Loopback',
      address: '10.255.0.1',
      prefixLen: 32,
      passive: false,
      drAddress: undefined,
      bdrAddress: undefined,
      instance: undefined,
    },
  ]);
});

t.test('show ip ospf database router json (r3): router-LSAs of two areas', async (t) => {
  const { routerIds, lsas } = parseRouterLsas(fixture('r3-ospf-database-router.out'));
  t.same(routerIds, ['10.255.0.3'], 'our own router id');
  t.same(
    lsas.map((l) => `${l.area} ${l.advRouter} ${l.seq} ${l.links.length}`),
    [
      '0.0.0.0 10.255.0.1 8000000b 5',
      '0.0.0.0 10.255.0.2 80000009 4',
      '0.0.0.0 10.255.0.3 80000008 2',
      '0.0.0.0 10.255.0.4 80000008 3',
      '0.0.0.1 10.255.0.3 80000003 1',
    ],
    'one LSA per router in area 0, r3 alone in area 1',
  );
  t.same(
    lsas[0].links,
    [
      {
        type: 'another Router (point-to-point)',
        neighborRouterId: '10.255.0.2',
        interfaceAddress: '10.0.12.1',
        network: undefined,
        mask: undefined,
      },
      {
        type: 'Stub Network',
        neighborRouterId: undefined,
        interfaceAddress: undefined,
        network: '10.0.12.0',
        mask: '255.255.255.252',
      },
      {
        type: 'a Transit Network',
        neighborRouterId: undefined,
        interfaceAddress: '10.0.0.1',
        network: undefined,
        mask: undefined,
      },
      {
        type: 'Stub Network',
        neighborRouterId: undefined,
        interfaceAddress: undefined,
        network: '192.168.1.0',
        mask: '255.255.255.0',
      },
      {
        type: 'Stub Network',
        neighborRouterId: undefined,
        interfaceAddress: undefined,
        network: '10.255.0.1',
        mask: '255.255.255.255',
      },
    ],
    "r1's links: p2p to r2 with its stub, the LAN, h1's subnet, the loopback",
  );
});

t.test('show bgp summary json (r2): AS, router id, three established peers', async (t) => {
  t.same(parseBgpSummary(fixture('r2-bgp-summary.out')), {
    routerId: '10.255.0.2',
    as: 65002,
    peers: [
      {
        peer: '10.0.0.3',
        remoteAs: 65002,
        state: 'Established',
        pfxRcd: 0,
        pfxSnt: 2,
        uptimeMs: 40000,
        description: 'r3',
      },
      {
        peer: '10.0.0.4',
        remoteAs: 65002,
        state: 'Established',
        pfxRcd: 1,
        pfxSnt: 2,
        uptimeMs: 40000,
        description: 'r4',
      },
      {
        peer: '10.0.12.1',
        remoteAs: 65001,
        state: 'Established',
        pfxRcd: 1,
        pfxSnt: 2,
        uptimeMs: 40000,
        description: 'r1',
      },
    ],
  });
  t.same(parseBgpSummary('{}'), { routerId: '', as: 0, peers: [] }, 'bgpd with no session: nothing');
});

t.test('show bgp neighbors json (r2): state and End-of-RIB', async (t) => {
  const text = fixture('r2-bgp-neighbors.out');
  t.same(parseBgpNeighbors(text), [
    { peer: '10.0.0.3', remoteAs: 65002, state: 'Established', initialUpdateDone: true, description: 'r3' },
    { peer: '10.0.0.4', remoteAs: 65002, state: 'Established', initialUpdateDone: true, description: 'r4' },
    { peer: '10.0.12.1', remoteAs: 65001, state: 'Established', initialUpdateDone: true, description: 'r1' },
  ]);
  // the same output while r1's table is still coming: its End-of-RIB not yet received
  const doc = JSON.parse(text) as Record<
    string,
    { gracefulRestartInfo?: { endOfRibRecv?: Record<string, boolean> } }
  >;
  const eor = doc['10.0.12.1'].gracefulRestartInfo?.endOfRibRecv;
  t.ok(eor && Object.keys(eor).length > 0, 'FRR reports End-of-RIB per address family');
  for (const k of Object.keys(eor ?? {})) eor![k] = false;
  t.same(
    parseBgpNeighbors(JSON.stringify(doc)).map((n) => n.initialUpdateDone),
    [true, true, false],
    'a peer without End-of-RIB has not finished its initial update',
  );
});

t.test('show bgp ipv4 unicast update-groups (r2): nothing pending, then what is', async (t) => {
  const text = fixture('r2-bgp-update-groups.out');
  t.same(pendingBgpUpdates(text), [], 'converged: no timer, no queue, empty advertise lists');
  const busy = text
    .replace('Coalesce Time: 0', 'Coalesce Time: 1000 (Running)')
    .replace('Packet queue length: 0', 'Packet queue length: 3')
    .replace(/Advertise list: empty(?![\s\S]*Update-group 2)/, 'Advertise list: 192.168.9.0/24');
  t.same(pendingBgpUpdates(busy), [
    'Update-subgroup 2: coalesce timer running',
    'Update-subgroup 2: 3 packets queued',
    'Update-subgroup 2: routes waiting to be advertised',
  ]);
});

t.test('show bgp ipv4 unicast json (r3): learned over the route reflector', async (t) => {
  t.same(parseBgpTable(fixture('r3-bgp-ipv4.out')), [
    {
      prefix: '192.168.1.0/24',
      asPath: [65001],
      nexthop: '10.0.12.1',
      best: true,
      valid: true,
      originatorId: undefined,
      clusterList: [],
      peer: '10.0.0.2',
    },
    {
      prefix: '192.168.4.0/24',
      asPath: [],
      nexthop: '10.0.0.4',
      best: true,
      valid: true,
      originatorId: undefined,
      clusterList: [],
      peer: '10.0.0.2',
    },
  ]);
});

t.test(
  'show bgp ipv4 unicast PREFIX json (r3): originator and cluster list of a reflected route',
  async (t) => {
    t.same(parseBgpTable(fixture('r3-bgp-prefix.out')), [
      {
        prefix: '192.168.4.0/24',
        asPath: [],
        nexthop: '10.0.0.4',
        best: true,
        valid: true,
        originatorId: '10.255.0.4',
        clusterList: ['10.255.0.2'],
        peer: '10.0.0.2',
      },
    ]);
  },
);

t.test('show ip route json (r3): every route, selected or not', async (t) => {
  const routes = parseRoutes(fixture('r3-route.out'));
  t.equal(routes.length, 14);
  t.same(
    routes.filter((r) => r.selected).map((r) => `${r.prefix} ${r.protocol} ${r.distance}/${r.metric}`),
    [
      '10.0.0.0/24 connected 0/0',
      '10.0.12.0/30 ospf 110/20',
      '10.255.0.1/32 ospf 110/10',
      '10.255.0.2/32 ospf 110/10',
      '10.255.0.3/32 connected 0/0',
      '10.255.0.4/32 ospf 110/10',
      '192.168.1.0/24 ospf 110/20',
      '192.168.3.0/24 connected 0/0',
      '192.168.4.0/24 ospf 110/20',
    ],
    'the selected ones: connected, then OSPF over iBGP (110 < 200)',
  );
  t.same(
    routes.find((r) => r.prefix === '10.0.12.0/30')?.nexthops,
    [
      { ip: '10.0.0.1', iface: 'eth1', active: true },
      { ip: '10.0.0.2', iface: 'eth1', active: true },
    ],
    'ECMP: both ends of the p2p link, over the LAN',
  );
  t.same(
    routes.filter((r) => r.protocol === 'bgp').map((r) => [r.prefix, r.selected, r.installed, r.distance]),
    [
      ['192.168.1.0/24', false, false, 200],
      ['192.168.4.0/24', false, false, 200],
    ],
    'iBGP routes lose to OSPF',
  );
});

t.test('vtysh -E output split per command (r1)', async (t) => {
  const commands = ['show ip route json', 'show bgp summary json'];
  const sections = splitSections(fixture('r1-sections.out'), commands);
  t.same([...sections.keys()], commands, 'one section per command, in order');
  t.equal(parseRoutes(sections.get(commands[0])!).length, 14, "r1's RIB");
  t.same(
    parseBgpSummary(sections.get(commands[1])!).peers.map((p) => `${p.peer} ${p.state}`),
    ['10.0.12.2 Established'],
    "r1's one session",
  );
  t.same([...splitSections('', commands).keys()], [], 'no echo: no section');
});

t.test('show zebra client summary (FRR 8.4): the connected daemons', async (t) => {
  const head = [
    'Name      Connect Time    Last Read  Last Write      IPv4 Routes           IPv6 Routes',
    '-'.repeat(90),
  ];
  const foot = 'Routes column shows (added+updated)/deleted';
  const two = [
    ...head,
    'static        00:00:02     00:00:02    00:00:02          1/0                   0/0         ',
    'ospf          00:00:02     00:00:01    00:00:02          6/0                   0/0         ',
    foot,
    '',
  ].join('\n');
  t.same(parseZebraClients(two), ['static', 'ospf']);
  const instance = [
    ...head,
    'ospf[200:0]    00:00:04     00:00:03    00:00:01          1/0                   0/0         ',
    'ldp[0:1]      00:00:04     00:00:04    00:00:04          0/0                   0/0         ',
    foot,
  ].join('\n');
  t.same(parseZebraClients(instance), ['ospf[200:0]', 'ldp[0:1]'], "ospfd -n 200, and ldpd's second session");
  // right after zebra restarted: nobody yet
  t.same(parseZebraClients([...head, foot, ''].join('\n')), []);
  t.same(parseZebraClients(''), [], 'no output at all');
});
