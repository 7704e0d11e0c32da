// The pure parts of `netsim check` and `netsim save`: which nodes each ping matrix holds, and
// where save writes by default for an imported containerlab lab.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { defaultSaveDir } from '../../src/features/clab/save.js';
import type { NodeState } from '../../src/runtime/state.js';
import { checkFamilies, checkMatrices, firstIp } from '../../src/surfaces/cli/check.js';

const node = (name: string, kind: string, extra: Partial<NodeState> = {}, addr = '10.0.0.1/24') =>
  ({
    name,
    kind,
    ns: `netsim-x-${name}`,
    pingable: kind !== 'pod' && kind !== 'switch',
    ifaces: [{ name: 'eth1', addr: addr || undefined, peer: 's1:p1' }],
    ...extra,
  }) as NodeState;

const NODES: NodeState[] = [
  node('s1', 'switch', {}, ''),
  node('h1', 'host'),
  node('h2', 'host', {}, ''),
  node('r1', 'router'),
  node('C0w1', 'worker', { cluster: 'C0' }),
  node('C0e1', 'etcd', { cluster: 'C0' }),
  node('zz', 'pod', { cluster: 'C0', parent: 'C0w1' }),
  node('aa', 'pod', { cluster: 'C0', parent: 'C0w1' }),
  node('x', 'pod', { cluster: 'C1', parent: 'C1w1' }),
];

const shape = (all: boolean) =>
  checkMatrices(NODES, all).map((m) => `${m.name}: ${m.nodes.map((n) => n.name).join(' ')}`);

t.test('checkMatrices: hosts (with workers, etcd), pods per cluster; --all adds routers', async (t) => {
  t.same(
    shape(false),
    ['hosts: h1 C0w1 C0e1', 'pods:C0: aa zz', 'pods:C1: x'],
    'addressless nodes and switches left out; pods by name within their cluster',
  );
  t.same(shape(true), ['hosts+routers: h1 r1 C0w1 C0e1', 'pods:C0: aa zz', 'pods:C1: x']);
  t.same(
    checkMatrices([...NODES].reverse(), false).map((m) => m.name),
    ['hosts', 'pods:C0', 'pods:C1'],
    "clusters by name, whatever order the state file lists their pods in (C1's came first in one CI run)",
  );
  t.same(checkMatrices([node('h1', 'host')], false).length, 1, 'no pods: the hosts matrix alone');
  t.same(checkMatrices([], false), [], 'nothing addressed: no matrix');
});

t.test('checkMatrices per family: the nodes with an address of it; checkFamilies', async (t) => {
  const dual = (name: string, kind: string, v4: string | undefined, v6: string | undefined) =>
    ({
      ...node(name, kind, {}, ''),
      ifaces: [{ name: 'eth1', addr: v4, addr6: v6, peer: 's1:p1' }],
    }) as NodeState;
  const nodes = [
    dual('h1', 'host', '10.0.0.1/24', 'fd00::1/64'),
    dual('h2', 'host', undefined, 'fd00::2/64'),
    dual('h3', 'host', '10.0.0.3/24', undefined),
    dual('r1', 'router', '10.0.0.254/24', 'fd00::fe/64'),
  ];
  const names = (ms: ReturnType<typeof checkMatrices>) =>
    ms.map((m) => `${m.name}/${m.family}: ${m.nodes.map((n) => n.name).join(' ')}`);
  t.same(names(checkMatrices(nodes, false, 4)), ['hosts/4: h1 h3']);
  t.same(names(checkMatrices(nodes, false, 6)), ['hosts/6: h1 h2']);
  t.same(names(checkMatrices(nodes, true, 6)), ['hosts+routers/6: h1 h2 r1']);
  t.equal(firstIp(nodes[0], 6), 'fd00::1', 'the address without its prefix');
  t.equal(firstIp(nodes[0]), '10.0.0.1', 'IPv4 by default');
  t.same(checkFamilies(undefined, nodes), [4, 6], 'default: the families the nodes have');
  t.same(checkFamilies(undefined, [nodes[2]]), [4], 'IPv4 only');
  t.same(checkFamilies(undefined, [nodes[1]]), [6], 'IPv6 only');
  t.same(checkFamilies(undefined, []), [4], 'nothing addressed: IPv4 (an empty check)');
  t.same(checkFamilies('both', [nodes[2]]), [4, 6], 'both, even where one has no node');
  t.same(checkFamilies('6', nodes), [6]);
  t.throws(() => checkFamilies('5', nodes), /--family is 4, 6 or both/);
});

t.test('defaultSaveDir: clab-<lab>/ (or the lab prefix) beside a .clab.yml', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-save-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const lab = (file: string, head: string) => {
    writeFileSync(join(dir, file), `${head}\ntopology:\n  nodes:\n    r1: {kind: linux}\n`);
    return join(dir, file);
  };
  t.equal(defaultSaveDir(lab('tri.clab.yml', 'name: tri'), 'simname'), join(dir, 'clab-tri'));
  t.equal(defaultSaveDir(lab('p.clab.yaml', 'name: tri\nprefix: lab'), 'simname'), join(dir, 'lab-tri'));
  t.equal(defaultSaveDir(lab('e.clab.yml', 'name: tri\nprefix: ""'), 'simname'), join(dir, 'tri'));
  t.equal(defaultSaveDir(lab('n.yml', 'name: tri'), 'simname'), join(dir, 'netsim-simname'));
});
