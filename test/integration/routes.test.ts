// Static routing through two routers in a chain: the routes from the topology are what
// carries the traffic (deleting one breaks the path; putting it back restores it).
import t from 'tap';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';

const TOPOLOGY = `
name: x
nodes:
  h1: {kind: host}
  h2: {kind: host}
  h3: {kind: host}
  s1: {kind: switch, subnet: 10.1.0.0/24}
  r1:
    kind: router
    routes:
      - {dst: 10.2.0.0/24, via: r2}        # a next hop given as a node name
  r2:
    kind: router
    routes:
      - {dst: 10.1.0.0/24, via: 10.9.0.1}  # and as an address
links:
  - endpoints: [h1, s1]
  - endpoints: [h3, s1]
  - endpoints: [r1, s1]
  - endpoints: [r1, r2]
    ipv4: [10.9.0.1/30, 10.9.0.2/30]
  - endpoints: [h2, r2]
    subnet: 10.2.0.0/24
`;

if (requireRoot(t)) {
  t.test('host - router - router - host with static routes', async (t) => {
    const sim = await up(t, modelFromYaml(TOPOLOGY));
    const h1 = sim.node('h1');
    const h2 = sim.node('h2');
    t.match(h2.ip, /^10\.2\.0\./, 'h2 sits on the link subnet given in the topology');

    const r1Routes = await sim.node('r1').cmd('ip route show 10.2.0.0/24');
    t.match(
      r1Routes,
      /10\.2\.0\.0\/24 via 10\.9\.0\.2 dev eth2/,
      '"via: r2" resolved to r2\'s address on the shared link',
    );
    const r2Routes = await sim.node('r2').cmd('ip route show 10.1.0.0/24');
    t.match(r2Routes, /10\.1\.0\.0\/24 via 10\.9\.0\.1/, 'the route via an address');

    const ping = await h1.exec(`ping -c1 -W1 ${h2.ip}`);
    t.equal(ping.exitCode, 0, 'h1 pings h2 across both routers');
    t.match(ping.stdout, /ttl=62/, 'the reply crossed two routers (ttl 64 - 2)');
    t.ok(await sim.pingPair('h3', 'h2'), 'h3 (same LAN as h1) too');
    t.equal((await sim.pingAll()).failed, 0, 'the full matrix passes, routers included');

    // take r1's route away: h1's packets for 10.2.0.0/24 have nowhere to go
    const del = await sim.node('r1').exec('ip route del 10.2.0.0/24');
    t.equal(del.exitCode, 0, 'route removed from r1');
    const broken = await h1.exec(`ping -c1 -W1 ${h2.ip}`);
    t.not(broken.exitCode, 0, 'without the route h1 no longer reaches h2');
    t.match(
      broken.stdout,
      /Unreachable|100% packet loss/,
      'r1 reports the network unreachable (or the ping is lost)',
    );
    t.equal(
      (await sim.node('r1').exec(`ping -c1 -W1 ${sim.node('r2').ip}`)).exitCode,
      0,
      'r1 still reaches r2 directly',
    );

    // the route back (as the topology had it): traffic flows again
    await sim.node('r1').exec('ip route add 10.2.0.0/24 via 10.9.0.2');
    t.equal((await h1.exec(`ping -c1 -W1 ${h2.ip}`)).exitCode, 0, 'route restored: h1 reaches h2 again');

    // and the return route matters as much: without r2's, the echo request arrives but no reply comes back
    await sim.node('r2').exec('ip route del 10.1.0.0/24');
    t.not((await h1.exec(`ping -c1 -W1 ${h2.ip}`)).exitCode, 0, 'without the return route the ping fails');
  });
}
