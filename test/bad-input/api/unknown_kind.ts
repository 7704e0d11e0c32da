// expect: unknown kind "firewall"
// path: nodes.fw1.kind
// line: 8
import type { Topology } from '../../../src/model/builder.js';

export default (t: Topology) => {
  const h1 = t.host('h1');
  const fw = t.node('fw1', 'firewall');
  t.link(h1, fw);
};
