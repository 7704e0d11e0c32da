// expect: not an IPv4 CIDR like 10.0.0.1/24
// path: nodes.h2.ip
// line: 9
import type { Topology } from '../../../src/model/builder.js';

export default (t: Topology) => {
  const s1 = t.switch('s1', { subnet: '10.0.0.0/24' });
  t.link(t.host('h1', { ip: '10.0.0.10/24' }), s1);
  t.link(t.host('h2', { ip: '10.0.0.11/40' }), s1);
};
