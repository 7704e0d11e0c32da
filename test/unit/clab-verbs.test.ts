// The pure parts of exec/save: which nodes a selection names, and a running-config as a file.
import t from 'tap';
import { asConfigFile } from '../../src/features/clab/save.js';
import type { SimState } from '../../src/runtime/state.js';
import { selectNodes } from '../../src/surfaces/cli/exec-many.js';

const node = (name: string, kind: string, labels?: Record<string, string>) => ({
  name,
  kind,
  ns: `netsim-x-${name}`,
  pingable: true,
  labels,
  ifaces: [],
});
const state = {
  name: 'x',
  nodes: [node('r1', 'router', { role: 'core' }), node('h1', 'host', { role: 'edge' }), node('h2', 'host')],
} as unknown as SimState;

t.test('selectNodes: names, labels (all must match), kinds; errors', async (t) => {
  const names = (sel: Parameters<typeof selectNodes>[1]) => selectNodes(state, sel).map((n) => n.name);
  t.same(names({ nodes: ['h2', 'r1'] }), ['h2', 'r1'], 'named, in the order given');
  t.same(names({ nodes: [], kind: ['host'] }), ['h1', 'h2']);
  t.same(names({ nodes: [], label: ['role=edge'], kind: ['host'] }), ['h1']);
  t.same(names({ nodes: ['h2'], label: ['role=core'] }), ['h2', 'r1'], 'named and labelled: both');
  t.throws(() => names({ nodes: ['nope'] }), /no node "nope" in x \(nodes: r1, h1, h2\)/);
  t.throws(() => names({ nodes: [], kind: ['pod'] }), /no node of x has kind pod/);
  t.throws(() => names({ nodes: [], label: ['role'] }), /--label: "role" is not KEY=VALUE/);
});

t.test('asConfigFile: without the banner, with the node as hostname', async (t) => {
  const shown =
    'Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4\nhostname vm\n!\nend\n';
  t.equal(asConfigFile(shown, 'r1'), '!\nfrr version 8.4\nhostname r1\n!\nend\n');
});
