// `trace` of IPv6 probes through the real kernel, on a dual-stack routed lab: h1 - s1 - r1 -
// r2 - s2 - h2, static routes of both families (no FRR), addresses from the topology's pools.
// An ICMPv6 echo and a TCP connection are followed hop by hop with `ip -6 route get` and NDP's
// neighbour entries, seen by the inet trace tables in every namespace; an `inet` table's rule
// on r2 drops one and an `ip6` table's rule on r1 another, and the trace names each rule. Also
// `expect:` entries with IPv6 addresses checked by verify, the REPL verb and `netsim trace -6`
// in another process, the IPv4 trace of the same lab, bad input, and that no trace table is
// left behind.
import t from 'tap';
import { traceLive } from '../../src/features/trace/live.js';
import type { TraceResult } from '../../src/features/trace/trace.js';
import { verify } from '../../src/features/trace/verify.js';
import { Commands } from '../../src/surfaces/repl/commands.js';
import { waitFor } from '../../src/util/wait.js';
import { runCli } from '../lib/corpus.js';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';

const nodesOf = (r: TraceResult) => r.hops.map((h) => h.node);
const steps = (r: TraceResult, node: string, kind?: string) =>
  r.hops
    .filter((h) => h.node === node)
    .flatMap((h) => h.steps)
    .filter((s) => !kind || s.kind === kind);
/** A pattern that matches `s` as it is written. */
const re = (s: string) => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

if (requireRoot(t)) {
  t.test('trace over IPv6: routes, NDP, ip6 and inet tables', async (t) => {
    const model = modelFromYaml(`
name: t6
nodes:
  s1: {kind: switch, subnet: 10.61.1.0/24, subnet6: "fd00:61:1::/64"}
  s2: {kind: switch, subnet: 10.61.2.0/24, subnet6: "fd00:61:2::/64"}
  r1:
    kind: router
    routes:
      - {dst: 10.61.2.0/24, via: r2}
      - {dst: "fd00:61:2::/64", via: r2}
  r2:
    kind: router
    routes:
      - {dst: 10.61.1.0/24, via: r1}
      - {dst: "fd00:61:1::/64", via: r1}
  h1: {kind: host}
  h2:
    kind: host
    ip6: "fd00:61:2::20/64"
    exec:
      - socat TCP6-LISTEN:8080,fork,reuseaddr SYSTEM:'echo h2' >/dev/null 2>&1 &
links:
  - endpoints: [h1, s1]
  - endpoints: [r1, s1]
  - endpoints: [r1, r2]
  - endpoints: [r2, s2]
  - endpoints: [h2, s2]
expect:
  - h1 -> fd00:61:2::20 reachable
  - h1 -> [fd00:61:2::20]:8080 reachable
  - h1 -> fd00:61:9::1 unreachable
`);
    const sim = await up(t, model);
    const h1 = sim.node('h1');
    const r1 = sim.node('r1');
    const r2 = sim.node('r2');
    const h2ip6 = sim.node('h2').ip6!;
    t.equal(h2ip6, 'fd00:61:2::20', "h2's IPv6 address, as the topology gives it");
    await waitFor(async () => (await h1.exec(`ping -6 -c1 -W1 ${h2ip6}`)).exitCode === 0, {
      timeoutMs: 10000,
      what: 'h1 reaches h2 over IPv6',
    });
    await waitFor(
      async () => (await h1.exec(`socat -T1 - TCP6:[${h2ip6}]:8080,connect-timeout=1`)).exitCode === 0,
      { timeoutMs: 10000, what: "h2's TCP6 listener" },
    );

    t.test('an ICMPv6 echo, hop by hop', async (t) => {
      const r = await traceLive(sim, 'h1', 'h2', { family: 6 });
      t.equal(r.outcome, 'delivered', r.summary);
      t.equal(r.family, 6);
      t.equal(r.target.ip, h2ip6, "h2's IPv6 address");
      t.match(r.probe.command, /^ping -6 -I fd00:61:1::\S+ -n -c1 /, 'a ping -6 bound to the source');
      t.same(nodesOf(r), ['h1', 's1', 'r1', 'r2', 's2', 'h2']);
      t.ok(
        r.hops.filter((h) => h.kind !== 'switch').every((h) => h.seen === true),
        'the inet trace table saw it in every namespace',
      );
      const h1route = steps(r, 'h1', 'route')[0]?.text;
      t.match(
        h1route,
        /^route to fd00:61:2::\S+: via fd00:61:1::\S+ \(r1\) dev eth\d+; FIB entry default via/,
      );
      t.match(
        steps(r, 'r1', 'route')[0]?.text,
        /via fd00:\S+ \(r2\) dev eth\d+; FIB entry fd00:61:2::\/64 via fd00:\S+ dev eth\d+ proto boot/,
        "r1's static IPv6 route to r2",
      );
      t.match(steps(r, 'r2', 'route')[0]?.text, /FIB entry fd00:61:2::\/64 dev eth\d+ proto kernel/);
      const ndp = steps(r, 'h1', 'neighbour')[0]?.text;
      t.match(
        ndp,
        /^neighbour fd00:61:1::\S+ is [0-9a-f:]{17} \(\w+(,\w+)*; NDP, a router\) on eth\d+$/,
        'an NDP entry',
      );
      t.match(steps(r, 's1', 'bridge')[0]?.text, /bridge br0: FDB \S+ on port eth\d+ \(to r1:eth\d+\)/);
      t.match(steps(r, 'h2', 'deliver')[0]?.text, re(`${h2ip6} is local`));
      t.match(
        steps(r, 'r1', 'seen')[0]?.text,
        re(`nft trace: probe fd00:61:1::`),
        'the probe as the trace saw it',
      );
    });

    t.test('TCP to an IPv6 address given as the destination', async (t) => {
      const r = await traceLive(sim, 'h1', h2ip6, { port: 8080 });
      t.equal(r.family, 6, 'the address picks the family');
      t.equal(r.target.node, 'h2', 'the address is known as h2');
      t.equal(r.outcome, 'delivered', r.summary);
      t.match(r.probe.from, /^\[fd00:61:1::\S+\]:\d+$/);
      t.match(r.probe.detail, /answered "h2"/);
      t.match(steps(r, 'h2', 'deliver')[0]?.text, /delivered to h2 port 8080/);
    });

    t.test('expect: entries with IPv6 addresses, checked by verify', async (t) => {
      const report = await verify(sim, sim.model.expectations ?? [], { timeoutMs: 20000 });
      t.same(
        report.results.map((r) => [r.text, r.ok]),
        [
          ['h1 -> fd00:61:2::20 reachable', true],
          ['h1 -> [fd00:61:2::20]:8080 reachable', true],
          ['h1 -> fd00:61:9::1 unreachable', true],
        ],
        report.results.map((r) => r.detail).join(' | '),
      );
      t.match(
        report.results[2].detail,
        /unreachable: From fd00:61:1::\S+ icmp_seq=1 Destination unreachable: No route/,
      );
    });

    t.test('the same lab over IPv4 is traced as before', async (t) => {
      const r = await traceLive(sim, 'h1', 'h2');
      t.equal(r.family, 4);
      t.equal(r.outcome, 'delivered', r.summary);
      t.match(r.target.ip, /^10\.61\.2\./);
      t.match(
        steps(r, 'h1', 'neighbour')[0]?.text,
        /^neighbour 10\.61\.1\.\d+ is \S+ \(\w+(,\w+)*\) on eth\d+$/,
      );
    });

    t.test('dropped by a rule in an inet table, and by one in an ip6 table', async (t) => {
      await r2.cmd(
        `nft 'add table inet fw; add chain inet fw forward { type filter hook forward priority 0; policy accept; }; add rule inet fw forward ip6 daddr ${h2ip6} tcp dport 8080 counter drop'`,
      );
      const r = await traceLive(sim, 'h1', 'h2', { family: 6, port: 8080, timeoutMs: 1000 });
      t.equal(r.outcome, 'dropped', r.summary);
      t.equal(r.drop?.node, 'r2', 'dropped at r2');
      t.match(r.drop?.rule, re(`inet fw forward: ip6 daddr ${h2ip6} tcp dport 8080 counter packets`));
      t.match(r.drop?.reason, /^dropped by inet fw forward: /);
      t.notOk(nodesOf(r).includes('h2'), 'h2 never gets it');
      t.match(r.summary, /^dropped at r2: dropped by inet fw forward/);
      // the IPv4 probe is not matched by the rule: that table is of both families, the rule IPv6's
      const v4 = await traceLive(sim, 'h1', 'h2', { port: 8080, timeoutMs: 1000 });
      t.not(v4.drop?.node, 'r2', `IPv4 is not dropped by the IPv6 rule: ${v4.summary}`);

      await r1.cmd(
        `nft 'add table ip6 f6; add chain ip6 f6 forward { type filter hook forward priority 0; policy accept; }; add rule ip6 f6 forward icmpv6 type echo-request ip6 daddr ${h2ip6} drop'`,
      );
      const p = await traceLive(sim, 'h1', 'h2', { family: 6, timeoutMs: 1000 });
      t.equal(p.outcome, 'dropped', p.summary);
      t.equal(p.drop?.node, 'r1');
      t.match(p.drop?.rule, re(`ip6 f6 forward: icmpv6 type echo-request ip6 daddr ${h2ip6} drop`));
      t.same(nodesOf(p), ['h1', 's1', 'r1'], 'the path ends at r1');
      await r1.cmd('nft delete table ip6 f6');
      await r2.cmd('nft delete table inet fw');
    });

    t.test('the REPL verb and `netsim trace -6` from another process', async (t) => {
      let out = '';
      const cmds = new Commands(sim, { out: (x) => (out += x), err: (x) => (out += x) });
      t.equal(await cmds.run('trace h1 h2 -6'), 0, out);
      t.match(out, re(`trace h1 -> h2 (${h2ip6}), ICMPv6 echo from fd00:61:1::`));
      t.match(out, /result: delivered: delivered to h2/);
      out = '';
      t.equal(await cmds.run(`trace h1 [${h2ip6}]:8080`), 0, out);
      t.match(out, re(`trace h1 -> ${h2ip6} ([${h2ip6}]:8080 (h2)), TCP from [fd00:61:1::`));
      const cli = await runCli(['trace', 'h1', 'h2', '8080', '-6', '--sim', sim.name, '--json'], {
        timeoutMs: 30000,
      });
      t.equal(cli.code, 0, cli.stderr);
      const j = JSON.parse(cli.stdout) as TraceResult;
      t.same([j.family, j.target.ip, j.outcome], [6, h2ip6, 'delivered']);
    });

    t.test('bad input: a family the destination is not', async (t) => {
      await t.rejects(
        traceLive(sim, 'h1', '10.61.2.2', { family: 6 }),
        /-6 asks for IPv6, but 10\.61\.2\.2 is an IPv4 address/,
      );
      const cli = await runCli(['trace', 'h1', h2ip6, '-4', '--sim', sim.name], { timeoutMs: 30000 });
      t.equal(cli.code, 1);
      t.match(cli.stderr, /-4 asks for IPv4, but fd00:61:2::\S+ is an IPv6 address/);
      let err = '';
      const cmds = new Commands(sim, { out: () => {}, err: (x) => (err += x) });
      t.equal(await cmds.run('trace h1 h2 -4 -6'), 1);
      t.match(err, /-4 and -6 together: pick one family/);
    });

    t.test('nothing left behind: no inet trace tables', async (t) => {
      for (const n of [...sim.nodes.values()].filter((x) => x.kind !== 'switch'))
        t.notMatch(await n.cmd('nft list tables'), /netsim-trace/, `${n.name}: no trace table`);
    });
  });
}
