// containerlab files: the documented forms (short and long links, defaults/kinds/groups
// inheritance, binds with clab's magic variables, ${VAR} expansion), the mapping to netsim
// kinds, and export followed by import giving the same topology.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { exportClab } from '../../src/features/clab/export.js';
import { expandVars, parseClab } from '../../src/features/clab/file.js';
import { CLAB_MTU, importClab, importClabFile, netsimYaml } from '../../src/features/clab/import.js';
import { parseMapping } from '../../src/features/clab/mapping.js';
import { interfaceAddresses } from '../../src/features/frr/interfaces.js';
import { TopologyError } from '../../src/model/errors.js';
import { loadTopology, PROJECT_ROOT } from '../../src/model/load.js';
import type { Model } from '../../src/model/model.js';
import { buildPlan } from '../../src/plan/plan.js';
import { formatIp } from '../../src/util/ipv4.js';
import { modelFromYaml } from '../lib/harness.js';

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-clab-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// biome-ignore-start lint/suspicious/noTemplateCurlyInString: containerlab's own ${VAR} syntax
t.test('${VAR} expansion: set, default, unset', async (t) => {
  const env = { IMG: 'alpine:3', EMPTY: '' };
  t.equal(expandVars('image: ${IMG}', env), 'image: alpine:3');
  t.equal(expandVars('image: ${NOPE:=busybox}', env), 'image: busybox');
  t.equal(expandVars('image: ${EMPTY:-busybox}', env), 'image: busybox');
  t.equal(expandVars('x: "${NOPE}"', env), 'x: ""');
  t.equal(expandVars('a\n${IMG}\nb', env).split('\n').length, 3, 'lines stay where they were');
});
// biome-ignore-end lint/suspicious/noTemplateCurlyInString: containerlab's own ${VAR} syntax

t.test('inheritance: node > group > kind > defaults; env/labels merge; binds by destination', async (t) => {
  const lab = parseClab(
    '/labs/x/lab.clab.yml',
    `name: inh
topology:
  defaults:
    kind: linux
    env: {A: d, B: d}
    labels: {tier: default}
    binds: [defaults.txt:/etc/shared.txt, common.txt:/common.txt]
    exec: [echo defaults]
  kinds:
    linux:
      image: alpine:3
      env: {B: k, C: k}
      binds: [kind.txt:/etc/shared.txt]
  groups:
    spines:
      labels: {role: spine}
      env: {C: g}
      exec: [echo group]
  nodes:
    s1: {group: spines, env: {D: n}, binds: ['__clabNodeDir__/cfg:/cfg', '/abs/__clabNodeName__.conf:/x.conf:ro']}
    h1: {image: busybox}
`,
  );
  const s1 = lab.nodes.get('s1')!;
  t.equal(s1.kind, 'linux', 'kind from the defaults');
  t.equal(s1.image, 'alpine:3', "image from the kind's settings");
  t.same(s1.env, { A: 'd', B: 'k', C: 'g', D: 'n' }, 'env merges, the nearer layer wins');
  t.same(s1.labels, { tier: 'default', role: 'spine' }, 'labels merge');
  t.same(
    s1.exec.map((e) => e.line),
    ['echo defaults', 'echo group'],
    'exec lines concatenate in order',
  );
  const binds = Object.fromEntries(s1.binds.map((b) => [b.dst, b.src]));
  t.equal(binds['/etc/shared.txt'], '/labs/x/kind.txt', 'a bind to the same destination is replaced');
  t.equal(binds['/common.txt'], '/labs/x/common.txt', 'relative sources resolve against the file');
  t.equal(binds['/cfg'], '/labs/x/clab-inh/s1/cfg', '__clabNodeDir__ = clab-<lab>/<node>');
  t.equal(binds['/x.conf'], '/abs/s1.conf', '__clabNodeName__');
  t.equal(s1.binds.find((b) => b.dst === '/x.conf')?.mode, 'ro');
  t.equal(lab.nodes.get('h1')!.image, 'busybox', "the node's own field wins");
  t.same(
    lab.source.locate(s1.binds.find((b) => b.dst === '/etc/shared.txt')!.path).line,
    13,
    "a bind remembers its line (the kind's)",
  );
});

t.test('links: short and long form, MTU, addresses; kinds map onto netsim kinds', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'r1'));
  writeFileSync(
    join(dir, 'r1', 'frr.conf'),
    'frr defaults traditional\n!\ninterface eth1\n ip address 10.0.12.1/30\n!\ninterface lo\n ip address 10.9.9.1/32\n!\n',
  );
  writeFileSync(join(dir, 'r1', 'daemons'), 'bgpd=yes\n');
  const file = join(dir, 'lab.clab.yml');
  writeFileSync(
    file,
    `name: my-lab
topology:
  nodes:
    r1:
      kind: linux
      image: frrouting/frr
      binds: [r1/frr.conf:/etc/frr/frr.conf, r1/daemons:/etc/frr/daemons]
    r2: {kind: linux}
    sw: {kind: ceos}
    br: {kind: bridge}
    h1: {kind: linux, exec: ["ip route add 10.0.0.0/8 via 10.0.1.1"]}
  links:
    - endpoints: ["r1:eth1", "r2:eth1"]
      ipv4: [null, 10.0.12.2/30]
    - type: veth
      mtu: 1500
      endpoints:
        - {node: r2, interface: eth2, ipv4: 10.0.1.1/24}
        - {node: sw, interface: eth1}
    - endpoints: ["h1:eth1", "sw:eth2"]
    - endpoints: ["sw:eth3", "br:eth1"]
`,
  );
  const { model, notes } = await loadTopology(file);
  t.equal(model.name, 'my_lab', 'the lab name made a valid simulation name');
  const kind = (n: string) => model.nodes.get(n)!.kind;
  t.same(
    ['r1', 'r2', 'sw', 'br', 'h1'].map(kind),
    ['router', 'host', 'switch', 'switch', 'host'],
    'FRR binds -> router, linux -> host, ceos and bridge -> switch',
  );
  const addr = (n: string, i: string) => {
    const a = model.nodes.get(n)!.ifaces.find((x) => x.name === i)!.addr;
    return a ? `${formatIp(a.ip)}/${a.prefix}` : undefined;
  };
  t.equal(addr('r1', 'eth1'), '10.0.12.1/30', "r1's address from its frr.conf");
  t.equal(addr('r2', 'eth1'), '10.0.12.2/30', 'short-form link ipv4');
  t.equal(addr('r2', 'eth2'), '10.0.1.1/24', 'long-form endpoint ipv4');
  t.equal(addr('h1', 'eth1'), undefined, 'no address is invented (containerlab adds none)');
  t.equal(model.links[0].spec.mtu, CLAB_MTU, "containerlab's default MTU");
  t.equal(model.links[1].spec.mtu, 1500, 'a given MTU');
  t.same(model.nodes.get('h1')!.spec.exec, ['ip route add 10.0.0.0/8 via 10.0.1.1'], 'exec lines are kept');
  t.ok(
    notes?.some((n) => n.includes('image')),
    'container-only fields are listed as not emulated',
  );
  // `netsim import -o`: a netsim YAML topology that loads to the same model
  const out = join(dir, 'sub', 'lab.yml');
  mkdirSync(join(dir, 'sub'));
  writeFileSync(out, netsimYaml(importClabFile(file).spec, join(dir, 'sub'), file));
  const again = await loadTopology(out);
  t.same(shape(again.model), shape(model), 'the imported YAML file gives the same topology');
  t.match(readFileSync(out, 'utf8'), /config: \.\.\/r1\/frr\.conf/, 'FRR paths relative to the written file');
});

t.test('errors in a clab file point at its own fields and lines', async (t) => {
  const bad = (text: string) => {
    try {
      importClab(parseClab('/l/x.clab.yml', text));
    } catch (err) {
      if (err instanceof TopologyError) return err.issues[0];
      throw err;
    }
    return undefined;
  };
  const i = bad(
    'name: x\ntopology:\n  nodes:\n    a: {kind: linux}\n  links:\n    - endpoints: ["a:eth1", "macvlan:enp0s3"]\n',
  );
  t.match(i?.message, /host's network/);
  t.same(i?.path, ['topology', 'links', 0, 'endpoints', 1]);
  t.equal(i?.pos?.line, 6);
  const j = bad(
    'name: x\ntopology:\n  nodes:\n    a: {kind: linux}\n  links:\n    - endpoints: ["a:eth1"]\n',
  );
  t.match(j?.message, /exactly 2 endpoints/);
  const k = bad('name: x\ntopology:\n  nodes:\n    a: {image: alpine}\n');
  t.match(k?.message, /no kind/);
});

t.test('address mapping files and frr.conf interface addresses', async (t) => {
  const m = parseMapping('# comment\nh1 10.0.3.10/25 10.0.3.1\n\nh2 10.0.3.11/25 10.0.3.1\n');
  t.same('entries' in m && m.entries.map((e) => [e.node, e.line]), [
    ['h1', 2],
    ['h2', 4],
  ]);
  t.same(
    parseMapping('h1 10.0.3.10 10.0.3.1\n'),
    { badLine: 1, text: 'h1 10.0.3.10 10.0.3.1' },
    'a CIDR is required',
  );
  t.same(
    interfaceAddresses(
      'interface eth1\n ip address 10.0.0.1/30\n ip address 10.0.0.5/30\n!\ninterface eth2 vrf x\n ip address 1.1.1.1/24\nexit\ninterface eth3\n ip ospf area 0\n',
    ),
    [{ iface: 'eth1', cidr: '10.0.0.1/30', line: 2 }],
    'the first address per interface; VRF interfaces skipped',
  );
});

function shape(model: Model) {
  return {
    nodes: [...model.nodes.values()]
      .map((n) => ({
        name: n.name,
        kind: n.kind,
        ifaces: n.ifaces
          .map((i) => `${i.name}=${i.addr ? `${formatIp(i.addr.ip)}/${i.addr.prefix}` : '-'}`)
          .sort(),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    links: model.links.map((l) => l.ends.map((e) => `${e.node}:${e.name}`).join(' ')).sort(),
  };
}

t.test('export --clab then import gives the same topology', async (t) => {
  const dir = tempDir(t);
  const src = join(dir, 'lab.yml');
  writeFileSync(
    src,
    `name: rt
nodes:
  r1: {kind: router, ospf: {area: 0}}
  r2: {kind: router, ospf: {area: 0}}
  r3: {kind: router, routes: [{dst: 10.50.0.0/16, via: r1}]}
  s1: {kind: switch}
  h1: {kind: host}
  h2: {kind: host}
links:
  - endpoints: [r1, r2]
  - endpoints: [r1, r3]
  - endpoints: [r1, s1]
  - endpoints: [h1, s1]
  - {endpoints: [h2, r2], ipv4: [10.0.7.20/24, 10.0.7.1/24], mtu: 1400}
`,
  );
  const { model } = await loadTopology(src);
  const out = join(dir, 'out', 'rt.clab.yml');
  mkdirSync(join(dir, 'out'));
  const res = exportClab(model, out, { write: true });
  writeFileSync(out, res.yaml);
  t.match(res.yaml, /kind: linux/);
  t.match(
    res.yaml,
    /\.\/r1\/frr\.conf:\/etc\/frr\/frr\.conf/,
    'a rendered frr.conf is bound from next to the file',
  );
  t.equal(res.files.length, 4, 'frr.conf and daemons of r1 and r2');
  const back = await loadTopology(out);
  t.same(shape(back.model), shape(model), 'same nodes, kinds, interfaces, addresses and links');
  t.equal(back.model.links.find((l) => l.ends[0].node === 'h2')?.spec.mtu, 1400, 'MTU kept');
  t.match(
    back.model.nodes.get('r3')!.spec.exec,
    ['ip route replace 10.50.0.0/16 via 10.255.0.5'],
    "a static router's routes travel as exec lines",
  );
});

t.test('an import adds no address and no route: hosts addressed by exec lines only', async (t) => {
  const lab = join(PROJECT_ROOT, 'test/fixtures/clab-exec-addressed/ospf-triangle.clab.yml');
  const { model } = await loadTopology(lab, { simName: 'tri' });
  const plan = buildPlan(model);
  const pc1 = plan.script(model.nodes.get('PC1')!.ns).ip;
  t.same(pc1, ['link set lo up', 'link set eth1 up'], 'PC1: its link up, nothing else (no default gateway)');
  t.same(
    model.nodes.get('PC1')!.spec.exec,
    [
      'ip link set eth1 up',
      'ip addr add 192.168.11.2/24 dev eth1',
      'ip route add 10.0.0.0/8 via 192.168.11.1 dev eth1',
      'ip route add 192.168.0.0/16 via 192.168.11.1 dev eth1',
    ],
    "its exec lines, in the lab's order",
  );
  // netsim's own topologies keep their automatic gateway; addressing.automatic false drops it
  const topo = (extra: string) =>
    modelFromYaml(`name: gw
${extra}nodes:
  h1: {kind: host}
  r1: {kind: router}
links:
  - {endpoints: [h1, r1], ipv4: [192.168.1.2/24, 192.168.1.1/24]}
`);
  const routesOf = (m: Model) =>
    buildPlan(m)
      .script(m.nodes.get('h1')!.ns)
      .ip.filter((l) => l.startsWith('route'));
  t.same(
    routesOf(topo('')),
    ['route replace default via 192.168.1.1'],
    'a netsim host gets its default gateway',
  );
  t.same(routesOf(topo('addressing: {automatic: false}\n')), [], 'not with addressing.automatic false');
});
