// expect: unknown node "r7"
// path: nodes.h1.routes[0].via
// line: 8
import type { Topology } from '../../../src/model/builder.js';

export default (t: Topology) => {
  const r1 = t.router('r1');
  const h1 = t.host('h1', { routes: [{ dst: '10.9.0.0/16', via: 'r7' }] });
  t.link(h1, r1);
};
