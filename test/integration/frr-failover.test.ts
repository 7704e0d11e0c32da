// OSPF failover with real FRR: h1 - r1 == r2 - h2 with a cheap primary link r1-r2 and a
// dear backup path through r3. A steady ping from h1 to h2 measures the outage when the
// primary fails: (1) the link goes down (both ends lose carrier, ospfd reacts at once);
// (2) the link silently drops everything while carrier stays up, so only the dead interval
// (the timers netsim renders by default: hello 1 s, dead 4 s) notices it.
import t from 'tap';
import { OSPF_DEFAULT_TIMERS } from '../../src/features/frr/spec.js';
import type { SimNode } from '../../src/runtime/node.js';
import { contains, networkOf, parseCidr, parseIp } from '../../src/util/ipv4.js';
import { sleep, waitFor } from '../../src/util/wait.js';
import { requireFrr, router } from '../lib/frr.js';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';

const FAILOVER = `
name: x
nodes:
  r1: {kind: router, ospf: {area: 0, interfaces: {eth1: {cost: 10}, eth2: {cost: 100}, eth3: {passive: true}}}}
  r2: {kind: router, ospf: {area: 0, interfaces: {eth1: {cost: 10}, eth2: {cost: 100}, eth3: {passive: true}}}}
  r3: {kind: router, ospf: {area: 0, cost: 100}}
  h1: {kind: host}
  h2: {kind: host}
links:
  - endpoints: [r1, r2]
  - endpoints: [r1, r3]
  - endpoints: [r2, r3]
  - endpoints: [r1, h1]
  - endpoints: [r2, h2]
`;

const INTERVAL_S = 0.02;

/**
 * Pings `dst` from `src` every 20 ms; once it answers steadily runs `during`, and goes on for
 * `tail` ms after; returns the longest run of lost replies in seconds, and the counts.
 */
async function outage(src: SimNode, dst: string, during: () => Promise<void>, tail = 1500) {
  const proc = src.spawn(`exec ping -n -i ${INTERVAL_S} -W 1 ${dst}`);
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const done = new Promise<void>((r) => proc.on('close', () => r()));
  const replies = () => [...out.matchAll(/icmp_seq=(\d+)/g)].map((m) => Number(m[1]));
  await waitFor(() => replies().length >= 25, { what: `${dst} to answer 25 pings`, timeoutMs: 5000 });
  const t0 = performance.now();
  await during();
  const actionMs = performance.now() - t0;
  // a fixed time on purpose: the outage is what is measured, so the ping runs on long enough
  // for any outage the checks accept to end inside it
  await sleep(tail);
  proc.kill('SIGINT');
  await done;
  const seqs = replies();
  // from ping's summary on SIGINT: replies missing at the end count as lost too (but the
  // one that may still have been in flight)
  const sent = Number(/(\d+) packets transmitted/.exec(out)?.[1] ?? Math.max(0, ...seqs));
  let gap = Math.max(0, sent - Math.max(0, ...seqs) - 1);
  for (let i = 1; i < seqs.length; i++) gap = Math.max(gap, seqs[i] - seqs[i - 1] - 1);
  return { lostSeconds: gap * INTERVAL_S, received: seqs.length, sent, actionMs };
}

if (requireRoot(t) && requireFrr(t)) {
  t.test('OSPF failover from the primary link to the backup path', async (t) => {
    const sim = await up(t, modelFromYaml(FAILOVER));
    await sim.waitConverged({ timeout: 20000 });
    const r1 = router(sim, 'r1');
    const h1 = sim.node('h1');
    const h2ip = sim.node('h2').ip!;
    const viaPrimary = async () => / dev eth1 /.test(await r1.cmd(`ip route get ${h2ip}`));
    t.ok(await viaPrimary(), 'r1 sends to h2 over the cheap link r1-r2 (eth1)');
    const { hello, dead } = OSPF_DEFAULT_TIMERS;

    const cut = await outage(h1, h2ip, async () => {
      await sim.setLink('r1', 'r2', 'down');
    });
    t.comment(
      `link down: ${cut.lostSeconds.toFixed(2)} s without replies (${cut.received} of ${cut.sent} received)`,
    );
    t.ok(cut.received > 50, 'the ping ran through the failure');
    t.ok(cut.lostSeconds < 1.5, `traffic moved to r3 within 1.5 s (${cut.lostSeconds.toFixed(2)} s)`);
    t.match(await r1.cmd(`ip route get ${h2ip}`), / dev eth2 /, 'r1 now sends over eth2, through r3');
    t.match(
      await r1.vtysh(`show ip route ${h2ip}`),
      /Known via "ospf"[\s\S]*\* \S+, via eth2/,
      "FRR's route to h2 is OSPF's, through r3",
    );

    await sim.setLink('r1', 'r2', 'up');
    await sim.waitConverged({ timeout: 20000 });
    t.ok(await viaPrimary(), 'back on the primary after link up');

    // zebra crashes and is started again (the soak's FRR fault, or `kill r1 zebra` and a
    // start): the daemons that outlived it start again with it, as watchfrr does, and
    // converge returns only once they are zebra's clients again and their routes are back in
    // zebra and in the kernel (it used to return at once, with OSPF's routes gone from zebra)
    await r1.killDaemon('zebra');
    await r1.startDaemons();
    await sim.waitConverged({ timeout: 30000 });
    const clients = await r1.vtysh('show zebra client summary');
    t.match(clients, /^ospf\s/m, 'right after converge: ospfd is a client of the new zebra');
    t.match(clients, /^static\s/m, 'and staticd');
    const covers = (prefix: string) => {
      const c = parseCidr(prefix);
      return c !== undefined && contains(networkOf(c.ip, c.prefix), parseIp(h2ip)!);
    };
    const h2route = (await r1.routes('ospf')).find((r) => r.selected && covers(r.prefix));
    t.ok(h2route?.installed, "zebra has OSPF's route to h2's subnet again, in the kernel (FIB)", {
      routes: await r1.vtysh('show ip route'),
    });
    const kernel = await r1.cmd(`ip -4 route show ${h2route?.prefix ?? h2ip}`);
    t.match(
      kernel,
      /proto ospf .*dev eth1|dev eth1 .*proto ospf/,
      `the kernel routes ${h2route?.prefix} over eth1, OSPF's`,
    );
    t.ok(await viaPrimary(), 'h2 is reached over the primary link');
    const ping = await h1.exec(`ping -c 2 -W 1 -i 0.2 ${h2ip}`);
    t.equal(ping.exitCode, 0, 'h1 reaches h2 right after converge');

    // carrier stays up but nothing gets through: only OSPF's dead interval can tell
    const drop = (n: string) =>
      sim
        .node(n)
        .cmd(
          `nft add table netdev cut && nft 'add chain netdev cut in { type filter hook ingress device "eth1" priority 0 ; policy drop ; }'`,
        );
    const silent = await outage(
      h1,
      h2ip,
      async () => {
        await Promise.all([drop('r1'), drop('r2')]);
      },
      (dead + 2) * 1000,
    );
    t.comment(
      `silent failure (hello ${hello} s, dead ${dead} s, spf throttle 0/50/500 ms): ${silent.lostSeconds.toFixed(2)} s without replies`,
    );
    t.ok(
      silent.lostSeconds >= dead - hello - 0.5,
      'the outage lasts about the dead interval (not detected at once)',
    );
    t.ok(
      silent.lostSeconds < dead + 1,
      `traffic moved within dead + 1 s (${silent.lostSeconds.toFixed(2)} s)`,
    );
    t.match(await r1.cmd(`ip route get ${h2ip}`), / dev eth2 /, 'r1 sends over eth2 again');
  });
}
