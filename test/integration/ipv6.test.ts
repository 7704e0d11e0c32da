// IPv6 through the kernel: a dual-stack routed lab answers on both families between every
// pair, with addresses usable at once (no DAD, no RA-made addresses); static IPv6 routes carry
// the traffic (without one it stops); an IPv6-only lab with /127 links has no IPv4 at all.
import t from 'tap';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';

const DUAL = `
name: x
addressing: {family: dual}
nodes:
  lan1: {kind: switch}
  lan2: {kind: switch, subnet6: "fd00:beef::/64"}
  r1: {kind: router}
  h1: {kind: host}
  h2: {kind: host}
  h3: {kind: host, ip6: "fd00:beef::33/64"}
links:
  - endpoints: [r1, lan1]
  - endpoints: [r1, lan2]
  - endpoints: [h1, lan1]
  - endpoints: [h2, lan1]
  - endpoints: [h3, lan2]
`;

const ONLY6 = `
name: x
addressing: {family: ipv6, p2pPrefix6: 127}
nodes:
  h1: {kind: host}
  r1: {kind: router, routes: [{dst: "fd00:0:ff::4/127", via: r2}]}
  r2: {kind: router, routes: [{dst: "fd00:0:ff::/127", via: "fd00:0:ff::2"}]}
  h2: {kind: host}
links:
  - endpoints: [h1, r1]
  - endpoints: [r1, r2]
  - endpoints: [r2, h2]
`;

if (requireRoot(t)) {
  t.test('dual stack: every pair answers on both families, at once', async (t) => {
    const sim = await up(t, modelFromYaml(DUAL));
    const names = ['h1', 'h2', 'h3', 'r1'];
    t.same(
      names.map((n) => [n, sim.node(n).ip6]),
      [
        ['h1', 'fd00::2'],
        ['h2', 'fd00::3'],
        ['h3', 'fd00:beef::33'],
        ['r1', 'fd00::1'],
      ],
      'addresses: a /64 from pool6 per LAN, the given subnet6 and ip6 kept',
    );
    // right after the build: no address may still be tentative (DAD) or come from an RA
    for (const n of names) {
      const addrs = await sim.node(n).cmd('ip -6 -o addr show');
      t.notMatch(addrs, /tentative|dadfailed/, `${n}: no tentative address`);
      t.notMatch(addrs, /dynamic|mngtmpaddr/, `${n}: no address from a router advertisement`);
    }
    for (const a of names)
      for (const b of names) {
        if (a === b) continue;
        const v6 = await sim.node(a).exec(`ping -6 -c1 -W2 ${sim.node(b).ip6}`);
        const v4 = await sim.node(a).exec(`ping -4 -c1 -W2 ${sim.node(b).ip}`);
        t.ok(
          v6.exitCode === 0 && v4.exitCode === 0,
          `${a} -> ${b} on IPv6 (${v6.exitCode}) and IPv4 (${v4.exitCode})`,
        );
      }
    const route = await sim.node('h3').cmd('ip -6 route show default');
    t.match(route, /^default via fd00:beef::1 dev eth1/, "h3's IPv6 default route: r1 on its LAN");
    const hops = await sim.node('h1').exec(`ping -6 -c1 -W2 ${sim.node('h3').ip6}`);
    t.match(hops.stdout, /ttl=63/, 'the reply crossed r1 (hop limit 64 - 1)');
    t.equal(
      (await sim.node('r1').cmd('sysctl -n net.ipv6.conf.all.forwarding')).trim(),
      '1',
      'r1 forwards IPv6',
    );
    t.equal(
      (
        await sim.node('h1').cmd('sysctl -n net.ipv6.conf.eth1.accept_dad net.ipv6.conf.eth1.accept_ra')
      ).trim(),
      '0\n0',
      "h1's interface: DAD and RAs off",
    );
  });

  t.test('IPv6 only: /127 links, static routes by name and address, no IPv4', async (t) => {
    const sim = await up(t, modelFromYaml(ONLY6));
    const h1 = sim.node('h1');
    const h2 = sim.node('h2');
    t.same(
      [h1.ip, h1.ip6, h2.ip6],
      [undefined, 'fd00:0:ff::', 'fd00:0:ff::5'],
      'addresses from p2p6, /127s (both of each used)',
    );
    t.notMatch(await h1.cmd('ip -4 -o addr show dev eth1'), /inet /, 'no IPv4 address');
    const ping = await h1.exec(`ping -6 -c1 -W2 ${h2.ip6}`);
    t.equal(ping.exitCode, 0, 'h1 reaches h2 across both routers');
    t.match(ping.stdout, /ttl=62/, 'through two routers');
    t.match(
      await sim.node('r1').cmd('ip -6 route show fd00:0:ff::4/127'),
      /via fd00:0:ff::3 dev eth2/,
      '"via: r2" resolved to r2\'s IPv6 address on the shared link',
    );
    t.equal(
      (await sim.node('r2').exec('ip -6 route del fd00:0:ff::/127')).exitCode,
      0,
      "r2's route back removed",
    );
    t.not(
      (await h1.exec(`ping -6 -c1 -W1 ${h2.ip6}`)).exitCode,
      0,
      'without it the replies have no way back',
    );
  });
}
