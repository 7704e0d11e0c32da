// expect: unknown node "h9"
// path: links[1].endpoints[1]
// line: 11
import type { Topology } from '../../../src/model/builder.js';

export default (t: Topology) => {
  const s1 = t.switch('s1');
  const h1 = t.host('h1');
  t.host('h2');
  t.link(h1, s1);
  t.link(s1, 'h9');
};
