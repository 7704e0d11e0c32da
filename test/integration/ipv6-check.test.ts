// IPv6 in the user-facing surfaces, through the kernel: a dual-stack routed lab (two LANs and a
// router) where `netsim check` pairs every host on both families and all pass, then an nft rule
// in one host dropping echo requests over IPv6 from another fails exactly that pair, in the
// IPv6 matrix only; the REPL's `-6` commands (`h1 ping -6 h3`, `ping6`, `pingall -6`, `dump`);
// the web view's node details and /metrics with both families; and an IPv6-only lab
// (addressing.family: ipv6) pinging across its router.
import t from 'tap';
import { simMetrics } from '../../src/surfaces/metrics/registry.js';
import { nodeDetails } from '../../src/surfaces/web/snapshot.js';
import { runNetsim } from '../lib/cli.js';
import { modelFromYaml, requireRoot, uniqueName, up } from '../lib/harness.js';
import { repl } from '../lib/repl.js';

const ROUTED = (family: string) => `name: v6
addressing: {family: ${family}}
nodes:
  s1: {kind: switch}
  s2: {kind: switch}
  r1: {kind: router}
  h1: {kind: host}
  h2: {kind: host}
  h3: {kind: host}
  h4: {kind: host}
links:
  - endpoints: [h1, s1]
  - endpoints: [h2, s1]
  - endpoints: [r1, s1]
  - endpoints: [h3, s2]
  - endpoints: [h4, s2]
  - endpoints: [r1, s2]
`;

interface CheckJson {
  families: number[];
  pairs: number;
  passed: number;
  failed: number;
  nodes: { name: string; ip: string; family: number; matrix: string }[];
  matrices: { name: string; family: number; pairs: number; passed: number; failed: number }[];
  results: { src: string; dst: string; dstIp: string; ok: boolean; matrix: string; family: number }[];
}

const check = async (name: string, ...args: string[]) => {
  const r = await runNetsim(['check', '--sim', name, '--json', ...args]);
  return { code: r.code, stderr: r.stderr, json: JSON.parse(r.stdout || '{}') as CheckJson };
};

if (requireRoot(t)) {
  t.test('dual-stack routed lab: check pairs every host on both families', async (t) => {
    const name = uniqueName('v6d');
    const sim = await up(t, modelFromYaml(ROUTED('dual'), name));
    const ip6 = (n: string) => sim.node(n).ip6!;
    t.match(ip6('h1'), /^fd00:/, 'hosts have an IPv6 address (the ULA pool)');

    const both = await check(name, '--family', 'both');
    t.equal(both.code, 0, `exit 0 ${both.stderr}`);
    t.same(both.json.families, [4, 6]);
    t.match(
      both.json,
      { pairs: 24, passed: 24, failed: 0 },
      '4 hosts, 12 ordered pairs per family, all pass',
    );
    t.same(
      both.json.matrices.map((m) => `${m.name}/${m.family}:${m.passed}/${m.pairs}`),
      ['hosts/4:12/12', 'hosts/6:12/12'],
      'one hosts matrix per family',
    );
    const r13 = both.json.results.filter((r) => r.src === 'h1' && r.dst === 'h3');
    t.same(
      r13.map((r) => [r.family, r.dstIp]),
      [
        [4, sim.node('h3').ip],
        [6, ip6('h3')],
      ],
      'each result says its family and the address of that family',
    );
    const dflt = await check(name);
    t.same(dflt.json.families, [4, 6], 'no --family: the families the topology has');
    t.equal(dflt.json.pairs, 24);
    const v6 = await check(name, '--family', '6');
    t.match(v6.json, { families: [6], pairs: 12, passed: 12 }, '--family 6: IPv6 alone');

    // h1 drops IPv6 echo requests from h3: only h3 -> h1, only over IPv6
    const drop = await runNetsim([
      'exec',
      '--sim',
      name,
      'h1',
      '--',
      'nft',
      `add table ip6 v6drop; add chain ip6 v6drop in { type filter hook input priority 0; }; add rule ip6 v6drop in ip6 saddr ${ip6('h3')} icmpv6 type echo-request drop`,
    ]);
    t.equal(drop.code, 0, `nft rule in h1 ${drop.stderr}`);
    const cut = await check(name, '--family', 'both', '--timeout', '0.5');
    t.equal(cut.code, 1, 'a failed pair: exit 1');
    t.same(
      cut.json.results.filter((r) => !r.ok).map((r) => `${r.src}->${r.dst} ${r.matrix}/${r.family}`),
      ['h3->h1 hosts/6'],
      'exactly h3 -> h1, in the IPv6 matrix',
    );
    t.same(
      cut.json.matrices.map((m) => `${m.name}/${m.family}:${m.failed}`),
      ['hosts/4:0', 'hosts/6:1'],
      'the IPv4 matrix all passes',
    );
    const text = await runNetsim(['check', '--sim', name, '--timeout', '0.5']);
    t.match(
      text.stdout,
      `FAIL h3 -> h1 (${ip6('h1')}) [hosts, IPv6]`,
      'the text names the family of the failed pair',
    );
    t.match(
      text.stdout,
      /^ {2}hosts IPv4: 12\/12 pairs reachable, 0 failed/m,
      'a line per matrix, with its family',
    );
    t.match(text.stdout, /^ {2}hosts IPv6: 11\/12 pairs reachable, 1 failed/m);
    t.match(text.stdout, new RegExp(`^${name}: 23/24 pairs reachable, 1 failed, .*, IPv4 and IPv6 \\(`, 'm'));

    const { run } = repl(sim);
    const p6 = await run('h1 ping -6 -c1 -W2 h4');
    t.equal(p6.code, 0, `h1 ping -6 h4 crosses r1 ${p6.err}`);
    t.match(p6.out, `PING ${ip6('h4')}`, 'h4 became its IPv6 address');
    const ping6 = await run('h2 ping6 -c1 -W2 h3');
    t.equal(ping6.code, 0, `ping6 ${ping6.err}`);
    t.match(ping6.out, `PING ${ip6('h3')}`);
    const p4 = await run('h1 ping -c1 -W2 h4');
    t.match(p4.out, `PING ${sim.node('h4').ip} `, 'without -6: the IPv4 address, as before');
    const all6 = await run('pingall -6 0.5');
    t.equal(all6.code, 1, 'pingall -6: the dropped pair fails');
    t.match(all6.out, /\(IPv6\)/);
    t.match(all6.out, /^h3 -> r1 X h2 h4$/m, 'h3 -> h1 fails (pingall pairs the router too)');
    t.match(all6.out, /\(19\/20 received\)/, 'the one pair of 20');
    const all4 = await run('pingall');
    t.equal(all4.code, 0, 'pingall (IPv4) passes');
    const dump = await run('dump');
    const h1 = sim.node('h1').intfs[0];
    t.match(dump.out, `eth1:${sim.node('h1').ip}/24+${ip6('h1')}/64`, 'dump: both addresses of an interface');
    t.ok(h1.addr6, 'the model has it');

    // the web view's node details and /metrics, read from the kernel: both families
    const metrics = simMetrics(sim);
    const details = await nodeDetails(sim, metrics.reader, 'h1');
    t.equal(details.ip6, ip6('h1'), "the web view's details: the node's IPv6 address");
    t.same(
      details.interfaces.find((i) => i.name === 'eth1')?.addrs,
      [`${sim.node('h1').ip}/24`, `${ip6('h1')}/64`],
      'eth1: its IPv4 and global IPv6 addresses (not the link-local one)',
    );
    t.ok(
      details.routes.some((r) => /^default via 10\./.test(r)) &&
        details.routes.some((r) => /^default via fd00:/.test(r)),
      `the web view's routes: both default routes (${details.routes.join('; ')})`,
    );
    t.notOk(
      details.routes.some((r) => r.startsWith('fe80:')),
      'without the link-local route every interface has',
    );
    const scraped = await metrics.text();
    const info = (family: number, address: string) =>
      new RegExp(
        `^netsim_interface_address_info\\{[^}]*node="h1",interface="eth1"[^}]*family="${family}",address="${address}"[^}]*\\} 1$`,
        'm',
      );
    t.match(scraped, info(4, `${sim.node('h1').ip}/24`), 'metrics: the IPv4 address of h1 eth1');
    t.match(scraped, info(6, `${ip6('h1')}/64`), 'metrics: its IPv6 address, family 6');
  });

  t.test('IPv6-only lab: hosts ping across the router', async (t) => {
    const name = uniqueName('v6o');
    const sim = await up(t, modelFromYaml(ROUTED('ipv6'), name));
    t.equal(sim.node('h1').ip, undefined, 'no IPv4 address');
    const { run } = repl(sim);
    const p = await run('h1 ping -c1 -W2 h3');
    t.equal(p.code, 0, `h1 ping h3 (no -6 needed: no IPv4) ${p.err}`);
    t.match(p.out, `PING ${sim.node('h3').ip6}`);
    const all = await run('pingall');
    t.equal(all.code, 0, 'pingall: every pair over IPv6');
    t.match(all.out, /\(20\/20 received\)/, 'hosts and the router');
    const c = await check(name);
    t.equal(c.code, 0, c.stderr);
    t.match(c.json, { families: [6], pairs: 12, passed: 12 }, 'check: the IPv6 matrix alone');
    const route = await sim.node('h3').cmd('ip -6 route show default');
    t.match(route, /^default via fd00:\S+ dev eth1/m, "h3's IPv6 default route: the router on its LAN");
  });
}
