// expect: a link cannot connect node "r1" to itself
// path: links[0].endpoints
// line: 8
import type { Topology } from '../../../src/model/builder.js';

export default (t: Topology) => {
  const r1 = t.router('r1');
  t.link(r1, r1);
};
