// Where a node's UTS/mount namespace files live: in its simulation's own directory (a tmpfs
// that teardown detaches whole), found from the network namespace's name alone.
import t from 'tap';
import { mntFile, NODE_NS_DIR, nodeNsDir, rootDir, simOfNamespace, utsFile } from '../../src/kernel/enter.js';
import { SIM_NAME_RE } from '../../src/model/spec.js';

t.test('the simulation of a namespace name', async (t) => {
  t.equal(simOfNamespace('netsim-lab1-h1'), 'lab1');
  t.equal(simOfNamespace('netsim-my_lab-C0w1-c1'), 'my_lab', 'a node name with dashes stays out of it');
  t.equal(simOfNamespace('netsim-lab--probe'), 'lab', "the feature probe's namespace");
  t.notOk(SIM_NAME_RE.test('a-b'), 'a simulation name has no dash (what makes the split unambiguous)');
});

t.test("a node's files are in its simulation's directory", async (t) => {
  t.equal(nodeNsDir('lab1'), `${NODE_NS_DIR}/lab1`);
  t.equal(utsFile('netsim-lab1-r-1'), `${NODE_NS_DIR}/lab1/netsim-lab1-r-1.uts`);
  t.equal(mntFile('netsim-lab1-h1'), `${NODE_NS_DIR}/lab1/netsim-lab1-h1.mnt`);
  t.equal(rootDir('netsim-lab1-h1'), `${NODE_NS_DIR}/lab1/netsim-lab1-h1.root`);
  t.not(utsFile('netsim-lab1-h1'), utsFile('netsim-lab2-h1'), 'two simulations never share a file');
});
