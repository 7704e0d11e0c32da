// containerlab's IPv6 fields on import and export: a link's `ipv6` list (one or two entries,
// "" for an end without one), an endpoint object's `ipv6`, the routers' frr.conf `ipv6
// address` lines (link-local ones left out), and export writing the links' `ipv6` lists back.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { parse } from 'yaml';
import { exportClab } from '../../src/features/clab/export.js';
import { interfaceAddresses6 } from '../../src/features/clab/frr-ipv6.js';
import { addressPair } from '../../src/features/clab/import-links.js';
import { loadTopology } from '../../src/model/load.js';
import { formatIp6 } from '../../src/util/ipv6.js';

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-clab6-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('interfaceAddresses6: the first global ipv6 address of each interface', async (t) => {
  const conf = [
    'frr defaults traditional',
    'interface eth1',
    ' ip address 10.0.0.1/24',
    ' ipv6 address fe80::1/64',
    ' ipv6 address fd00:1::1/64',
    ' ipv6 address fd00:1::99/64',
    'exit',
    '!',
    'interface eth2 vrf blue',
    ' ipv6 address fd00:2::1/64',
    'exit',
    'interface lo',
    ' ipv6 address 2001:db8::1/128 ! loopback',
    '!',
    ' ipv6 address fd00:9::1/64',
  ].join('\n');
  t.same(
    interfaceAddresses6(conf),
    [
      { iface: 'eth1', cidr: 'fd00:1::1/64', line: 5 },
      { iface: 'lo', cidr: '2001:db8::1/128', line: 13 },
    ],
    'link-local and secondary addresses, VRF interfaces and lines outside an interface left out',
  );
  t.same(
    interfaceAddresses6('interface eth1\n ipv6 address not-an-address/64\n'),
    [],
    'a malformed address is not taken',
  );
});

t.test("addressPair: containerlab's per-link list as one entry per end", async (t) => {
  t.same(addressPair(['fd00::1/64']), ['fd00::1/64', null], 'one entry: the second end has none');
  t.same(addressPair(['', 'fd00::2/64']), [null, 'fd00::2/64'], '"": no address on that end');
  t.same(addressPair(['', '']), undefined, 'nothing at all');
  t.same(addressPair(undefined), undefined);
  t.same(
    addressPair(['a', 'b', 'c']),
    ['a', 'b', 'c'],
    'three entries go on to validation, which names them',
  );
});

t.test('import: IPv6 from link lists, endpoints and frr.conf; export writes them back', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'r1'));
  writeFileSync(
    join(dir, 'r1', 'frr.conf'),
    'interface eth1\n ipv6 address fd00:1::1/64\n ip address 10.0.1.1/24\nexit\n',
  );
  writeFileSync(join(dir, 'r1', 'daemons'), 'zebra=yes\n');
  const file = join(dir, 'v6.clab.yml');
  writeFileSync(
    file,
    `name: v6
topology:
  nodes:
    r1: {kind: linux, binds: [r1/frr.conf:/etc/frr/frr.conf, r1/daemons:/etc/frr/daemons]}
    h1: {kind: linux, mgmt-ipv6: "2001:db8::11"}
    h2: {kind: linux}
  links:
    - endpoints: ["h1:eth1", "r1:eth1"]
      ipv4: [10.0.1.2/24]
      ipv6: ["fd00:1::2/64", ""]
    - type: veth
      endpoints:
        - {node: h2, interface: eth1, ipv6: "fd00:2::2/64"}
        - {node: r1, interface: eth2, ipv6: "fd00:2::1/64"}
`,
  );
  const { model, notes } = await loadTopology(file);
  const addr6 = (n: string, i: string) => {
    const a = model.nodes.get(n)!.ifaces.find((x) => x.name === i)!.addr6;
    return a ? `${formatIp6(a.ip)}/${a.prefix}` : undefined;
  };
  t.equal(addr6('h1', 'eth1'), 'fd00:1::2/64', "the link's ipv6 list");
  t.equal(addr6('r1', 'eth1'), 'fd00:1::1/64', 'r1\'s frr.conf ipv6 address line (the list\'s "" end)');
  t.equal(addr6('h2', 'eth1'), 'fd00:2::2/64', "an endpoint's ipv6");
  t.equal(addr6('r1', 'eth2'), 'fd00:2::1/64');
  t.same(model.families, [4, 6], 'IPv6 fields: dual-stack');
  t.ok(
    model.nodes.get('r1')!.ifaces[0].addr,
    'a one-entry ipv4 list addresses the first end; the frr.conf the other',
  );
  t.ok(
    (notes ?? []).some((n) => n.includes('mgmt-ipv6')),
    'mgmt-ipv6 is read, not emulated (a note)',
  );

  const out = exportClab(model, join(dir, 'back.clab.yml'));
  const back = parse(out.yaml) as { topology: { links: { ipv4?: unknown; ipv6?: unknown }[] } };
  t.same(
    back.topology.links.map((l) => l.ipv6),
    [
      ['fd00:1::2/64', 'fd00:1::1/64'],
      ['fd00:2::2/64', 'fd00:2::1/64'],
    ],
    "export: each link's IPv6 addresses as its ipv6 list",
  );
  t.same(back.topology.links[1].ipv4, undefined, 'no ipv4 list where the link has no IPv4');
});
