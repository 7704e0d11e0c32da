// Link shaping measured with real traffic: tbf rate limits (iperf3 TCP through the link),
// and netem delay where the kernel has it.
import t from 'tap';
import { probeFeatures } from '../../src/kernel/features.js';
import { formatBps, iperf3 } from '../../src/runtime/iperf.js';
import { runDir } from '../../src/runtime/paths.js';
import { modelFromYaml, requireRoot, uniqueName, up } from '../lib/harness.js';

if (requireRoot(t)) {
  const features = await probeFeatures(runDir(), `netsim-${uniqueName('p')}--probe`);

  t.test('tbf: a 10mbit link carries about 10 Mbit/s of TCP, an unshaped one far more', async (t) => {
    const sim = await up(
      t,
      modelFromYaml(`
name: x
nodes:
  h1: {kind: host}
  h2: {kind: host}
  h3: {kind: host}
  h4: {kind: host}
links:
  - endpoints: [h1, h2]
    rate: 10mbit
  - endpoints: [h3, h4]
`),
    );
    const qdisc = await sim.node('h1').cmd('tc qdisc show dev eth1');
    t.match(qdisc, /tbf .*rate 10Mbit/, 'h1 eth1 has a tbf qdisc at 10Mbit');
    t.match(await sim.node('h2').cmd('tc qdisc show dev eth1'), /tbf .*rate 10Mbit/, 'and the other end too');

    const shaped = await iperf3(sim.node('h1'), sim.node('h2'), { seconds: 3 });
    t.comment(`h1 -> h2 (rate 10mbit): ${formatBps(shaped)}`);
    t.ok(shaped >= 7e6 && shaped <= 11e6, `shaped throughput ${formatBps(shaped)} is within 7..11 Mbit/s`);
    const reverse = await iperf3(sim.node('h2'), sim.node('h1'), { seconds: 2 });
    t.comment(`h2 -> h1 (rate 10mbit): ${formatBps(reverse)}`);
    t.ok(reverse >= 7e6 && reverse <= 11e6, `the other direction too (${formatBps(reverse)})`);

    const free = await iperf3(sim.node('h3'), sim.node('h4'), { seconds: 1 });
    t.comment(`h3 -> h4 (no rate): ${formatBps(free)}`);
    t.ok(free > 10 * shaped, `the unshaped link is more than 10x faster (${formatBps(free)})`);
  });

  t.test(
    'netem: delay shows in the round-trip time',
    { skip: features.netem ? false : 'kernel has no netem (sch_netem)' },
    async (t) => {
      const sim = await up(
        t,
        modelFromYaml(`
name: x
nodes:
  h1: {kind: host}
  h2: {kind: host}
  h3: {kind: host}
  h4: {kind: host}
links:
  - endpoints: [h1, h2]
    delay: 25ms
  - endpoints: [h3, h4]
`),
      );
      const rtt = async (a: string, b: string) => {
        const r = await sim.node(a).exec(`ping -c3 -i0.2 -W2 ${sim.node(b).ip}`);
        const m = /= ([\d.]+)\/([\d.]+)\/([\d.]+)/.exec(r.stdout);
        if (!m) throw new Error(`no rtt in ${r.stdout}${r.stderr}`);
        return Number(m[1]); // the minimum
      };
      const delayed = await rtt('h1', 'h2');
      // netem sits on both ends: 25 ms each way
      t.ok(delayed >= 50, `rtt over the 25ms link is at least 50 ms (${delayed} ms)`);
      t.ok(delayed < 200, `and not wildly more (${delayed} ms)`);
      const plain = await rtt('h3', 'h4');
      t.ok(plain < 5, `rtt over the plain link is small (${plain} ms)`);
    },
  );
}
