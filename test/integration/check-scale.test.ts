// `netsim check --sample` at scale, through the kernel: 1,000 hosts on one switch answer every
// one of 1,000 sampled pairs. A correct lab answers every pair; when each source was an fping
// of its own, 32 at a time, their first packets' ARP requests (each copied by the bridge to
// every port, every copy through the sending CPU's backlog queue) overflowed the backlog and a
// few pairs failed (3 of 1,000 here, 36 of 1,000 on 5,041 hosts). Also IPv6 sampled pairs
// (ND instead of ARP), and a host that drops echo requests fails exactly its pairs, also when
// failed pairs are pinged again (--recheck), while a host that lost only the first requests
// answers then.
import t from 'tap';
import { runNetsim } from '../lib/cli.js';
import { modelFromBuilder, modelFromYaml, requireRoot, uniqueName, up } from '../lib/harness.js';

interface CheckJson {
  pairs: number;
  passed: number;
  failed: number;
  rechecked?: { pairs: number; answered: number };
  results: { src: string; dst: string; ok: boolean; retried?: boolean; family: number }[];
}

const check = async (name: string, ...args: string[]) => {
  const r = await runNetsim(['check', '--sim', name, '--json', ...args], { timeoutMs: 120_000 });
  return { code: r.code, stderr: r.stderr, json: JSON.parse(r.stdout || '{}') as CheckJson };
};

if (requireRoot(t)) {
  t.test('1,000 hosts on one switch: 1,000 sampled pairs all answer', async (t) => {
    const name = uniqueName('cks');
    await up(
      t,
      modelFromBuilder((topo) => {
        topo.switch('s1');
        for (let i = 1; i <= 1000; i++) topo.link(topo.host(`h${i}`), 's1');
      }, name),
    );
    const r = await check(name, '--sample', '1000', '--seed', '1');
    t.equal(r.code, 0, r.stderr);
    t.match(r.json, { pairs: 1000, passed: 1000, failed: 0 }, 'every sampled pair answers');
    t.same(
      r.json.results.filter((x) => !x.ok).map((x) => `${x.src}->${x.dst}`),
      [],
      'no pair failed',
    );
  });

  t.test('IPv6 sampled pairs; a host dropping echo requests fails exactly its pairs', async (t) => {
    const name = uniqueName('ck6');
    const hosts = Array.from({ length: 12 }, (_, i) => `h${i + 1}`);
    const sim = await up(
      t,
      modelFromYaml(
        `name: ck6
addressing: {family: dual}
nodes:
  s1: {kind: switch}
${hosts.map((h) => `  ${h}: {kind: host}`).join('\n')}
links:
${hosts.map((h) => `  - endpoints: [${h}, s1]`).join('\n')}
`,
        name,
      ),
    );
    const both = await check(name, '--family', 'both', '--sample', '40', '--seed', '7');
    t.equal(both.code, 0, both.stderr);
    t.match(both.json, { pairs: 80, passed: 80, failed: 0 }, '40 pairs of each family answer');
    await sim
      .node('h3')
      .exec(
        'nft add table inet f; nft add chain inet f in "{ type filter hook input priority 0; }"; nft add rule inet f in icmp type echo-request drop; nft add rule inet f in icmpv6 type echo-request drop',
      );
    const dropped = await check(name, '--family', 'both', '--sample', '100', '--seed', '7');
    const failed = dropped.json.results.filter((x) => !x.ok);
    t.equal(dropped.code, 1, 'check fails');
    t.ok(failed.length > 0, 'some pairs towards h3 were sampled');
    t.ok(
      failed.every((x) => x.dst === 'h3'),
      'only pairs towards h3 fail',
    );
    t.equal(
      failed.length,
      dropped.json.results.filter((x) => x.dst === 'h3').length,
      'every sampled pair towards h3 fails',
    );

    // --recheck pings failed pairs again: h4 drops exactly the echo requests of the first
    // pass (3 per pair: the request and 2 retries; the same seed, the same pairs), so its pairs
    // answer on retry; h3's still fail
    const toH4 = (f: number) => dropped.json.results.filter((x) => x.dst === 'h4' && x.family === f).length;
    await sim
      .node('h4')
      .exec(
        `nft add table inet g; nft add chain inet g in "{ type filter hook input priority 0; }"; nft add rule inet g in icmp type echo-request numgen inc mod 1000000000 "<" ${3 * toH4(4)} drop; nft add rule inet g in icmpv6 type echo-request numgen inc mod 1000000000 "<" ${3 * toH4(6)} drop`,
      );
    const again = await check(
      name,
      '--family',
      'both',
      '--sample',
      '100',
      '--seed',
      '7',
      '--recheck',
      '--timeout',
      '0.3',
    );
    const res = again.json.results;
    t.equal(again.code, 1, 'check still fails');
    t.same(
      res.filter((x) => !x.ok).map((x) => `${x.src}->${x.dst}/${x.family}`),
      failed.map((x) => `${x.src}->${x.dst}/${x.family}`),
      'the pairs towards h3 fail after the recheck too',
    );
    const h4 = res.filter((x) => x.dst === 'h4');
    t.ok(h4.length > 0 && h4.every((x) => x.ok && x.retried), 'every pair towards h4 answered on retry');
    t.ok(
      res.filter((x) => x.retried).every((x) => x.dst === 'h4'),
      'no other pair needed the retry',
    );
    t.same(
      again.json.rechecked,
      { pairs: failed.length + h4.length, answered: h4.length },
      'rechecked pairs counted',
    );
    t.match(again.stderr, /answered when pinged again/, 'the recheck says what it did');
  });
}
