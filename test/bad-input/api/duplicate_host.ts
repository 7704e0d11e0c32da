// expect: duplicate node name "h1"
// path: nodes.h1
// line: 9
import type { Topology } from '../../../src/model/builder.js';

export default (t: Topology) => {
  t.switch('s1');
  t.link(t.host('h1'), 's1');
  t.link(t.host('h1'), 's1');
};
