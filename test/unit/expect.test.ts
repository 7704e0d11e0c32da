// The expectation grammar of `expect:` entries (src/model/expect.ts): every form, and the
// errors a wrong entry gets, located at its line through validation.
import t from 'tap';
import { TopologyError } from '../../src/model/errors.js';
import { parseExpectation } from '../../src/model/expect.js';
import { YamlSource } from '../../src/model/source.js';
import { validate } from '../../src/model/validate.js';

t.test('the forms', async (t) => {
  t.match(parseExpectation('c1 -> web:80 reachable'), {
    kind: 'reach',
    src: 'c1',
    dst: 'web',
    port: 80,
    want: 'reachable',
  });
  t.match(parseExpectation('c3 -> c1 blocked'), {
    kind: 'reach',
    src: 'c3',
    dst: 'c1',
    port: undefined,
    want: 'blocked',
  });
  t.match(parseExpectation('PC1 -> 10.10.10.2 unreachable'), {
    kind: 'reach',
    dst: '10.10.10.2',
    want: 'unreachable',
  });
  t.match(parseExpectation('  c1  ->  default/web:8080   reachable '), { dst: 'default/web', port: 8080 });
  // IPv6 addresses: alone, or in brackets with a port
  t.match(parseExpectation('h1 -> fd00:61:2::2 reachable'), { dst: 'fd00:61:2::2', port: undefined });
  t.match(parseExpectation('h1 -> [fd00:61:2::2]:8080 blocked'), { dst: 'fd00:61:2::2', port: 8080 });
  t.match(parseExpectation('h1 -> [::1] unreachable'), { dst: '::1', port: undefined });
  t.match(parseExpectation('r1 ospf neighbors 2'), { kind: 'ospf', router: 'r1', neighbors: 2 });
  t.match(parseExpectation('ospf r1 neighbors 0'), { kind: 'ospf', router: 'r1', neighbors: 0 });
  t.match(parseExpectation('r1 ospf6 neighbors 2'), { kind: 'ospf6', router: 'r1', neighbors: 2 });
  t.match(parseExpectation('ospf6 r3 neighbors 1'), { kind: 'ospf6', router: 'r3', neighbors: 1 });
  t.match(parseExpectation('bgp r2 established'), { kind: 'bgp', router: 'r2', established: undefined });
  t.match(parseExpectation('r2 bgp established 3'), { kind: 'bgp', router: 'r2', established: 3 });
});

t.test('syntax errors', async (t) => {
  t.throws(
    () => parseExpectation('c1 => c2 reachable'),
    /unknown expectation "c1 => c2 reachable" \(the forms are:/,
  );
  t.throws(() => parseExpectation('c1 -> c2'), /unknown expectation/);
  t.throws(() => parseExpectation('c1 -> c2 reachble'), /"reachble" is not an outcome/);
  t.throws(() => parseExpectation('c1 -> c2:0 reachable'), /port 0 is outside 1\.\.65535/);
  t.throws(
    () => parseExpectation('c1 -> c2: reachable'),
    /"c2:" is not <dst>, <dst>:<port> or \[<ipv6>\]:<port>/,
  );
  t.throws(
    () => parseExpectation('h1 -> [fd00::g]:80 reachable'),
    /"fd00::g" in "\[fd00::g\]:80" is not an IPv6 address/,
  );
  // without brackets a last group is part of the address (fd00::2:80 is an address)
  t.match(parseExpectation('h1 -> fd00::2:80 reachable'), { dst: 'fd00::2:80', port: undefined });
  t.throws(
    () => parseExpectation('r1 ospf neighbors two'),
    /the neighbour count is a whole number, got "two"/,
  );
  t.throws(() => parseExpectation(''), /an empty expectation/);
});

const topo = (expect: string) => `name: e
nodes:
  h1: {kind: host}
  r1: {kind: router}
  s1: {kind: switch}
  C0:
    kind: cluster
    underlay: s1
    pods: {c1: {worker: w1}}
    services: {web: {selector: {app: web}, ports: [{port: 80, targetPort: 8000}]}}
links:
  - endpoints: [h1, s1]
  - endpoints: [r1, s1]
expect:
${expect}`;

function errors(expect: string): string[] {
  const { source, value } = YamlSource.parse('e.yml', topo(expect));
  try {
    validate(value, source);
    return [];
  } catch (err) {
    if (!(err instanceof TopologyError)) throw err;
    return err.issues.map((i) => `${i.pos?.line}: ${i.message}`);
  }
}

t.test('names are checked against the topology, errors at the entry line', async (t) => {
  const { source, value } = YamlSource.parse(
    'e.yml',
    topo(
      '  - c1 -> web:80 reachable\n  - h1 -> web.default:80 blocked\n  - r1 ospf neighbors 1\n  - C0w1 bgp established\n  - h1 -> 10.1.2.3 unreachable\n  - h1 -> [fd00::9]:80 unreachable',
    ),
  );
  const m = validate(value, source);
  t.equal(m.expectations?.length, 6, 'six typed expectations');
  t.same(errors('  - c1 -> web:80 reachable\n  - c9 -> web:80 reachable'), [
    '16: unknown node "c9" in "c9 -> web:80 reachable" (nodes: h1, r1, s1, C0e1, C0e2, C0e3, C0w1, C0w2, C0w3, c1)',
  ]);
  t.same(errors('  - c1 -> nosuch:80 reachable'), [
    '15: unknown destination "nosuch" in "c1 -> nosuch:80 reachable": not a node, a pod, a service or an IPv4 or IPv6 address',
  ]);
  t.same(errors('  - c1 -> web reachable'), [
    '15: "web" is a service: give its port, e.g. c1 -> web:80 reachable',
  ]);
  t.same(errors('  - h1 ospf neighbors 1'), ['15: "h1" is a host, not a router running OSPF']);
  t.same(errors('  - h1 ospf6 neighbors 1'), ['15: "h1" is a host, not a router running OSPFv3']);
  t.same(errors('  - s1 -> h1 reachable'), ['15: "s1" is a switch: it sends no packets of its own']);
});
