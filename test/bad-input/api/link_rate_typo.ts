// expect: rate like 10mbit
// path: links[0].rate
// line: 9
import type { Topology } from '../../../src/model/builder.js';

export default (t: Topology) => {
  const h1 = t.host('h1');
  const h2 = t.host('h2');
  t.link(h1, h2, { rate: '10 megabit' });
};
