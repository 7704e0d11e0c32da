// The chaos soak's reading of its traffic (bench/soak-traffic.ts): ping -D -O lines, the HTTP
// loop's lines and iperf3's timestamped intervals become samples; runs of failures become
// outages from the first failure to the next answer.
import t from 'tap';
import { outages, parseSamples } from '../../bench/soak-traffic.js';

t.test('ping -D -O: replies, no answer yet, a late reply, unreachable', async (t) => {
  const text = [
    'PING 10.244.1.3 (10.244.1.3) 56(84) bytes of data.',
    '[1765093012.100000] 64 bytes from 10.244.1.3: icmp_seq=1 ttl=62 time=0.2 ms',
    '[1765093012.300000] no answer yet for icmp_seq=2',
    '[1765093012.500000] no answer yet for icmp_seq=3',
    '[1765093012.600000] 64 bytes from 10.244.1.3: icmp_seq=3 ttl=62 time=900 ms',
    '[1765093012.700000] From 192.168.1.1 icmp_seq=4 Destination Host Unreachable',
    '[1765093012.900000] 64 bytes from 10.244.1.3: icmp_seq=5 ttl=62 time=0.2 ms',
  ].join('\n');
  t.same(parseSamples('ping', text), [
    { t: 1765093012100, ok: true },
    { t: 1765093012300, ok: false },
    { t: 1765093012500, ok: true },
    { t: 1765093012700, ok: false },
    { t: 1765093012900, ok: true },
  ]);
});

t.test('the HTTP loop and iperf3 intervals', async (t) => {
  t.same(parseSamples('http', '1765093012100 ok\n1765093012400 fail 28\n1765093012700 ok\n'), [
    { t: 1765093012100, ok: true },
    { t: 1765093012400, ok: false },
    { t: 1765093012700, ok: true },
  ]);
  const iperf = [
    '1765093012 [  5] local 10.245.2.4 port 40000 connected to 10.245.3.3 port 5201',
    '1765093013 [ ID] Interval           Transfer     Bitrate         Retr  Cwnd',
    '1765093013 [  5]   0.00-1.00   sec  2.50 MBytes  21.0 Mbits/sec    0   1.12 MBytes       ',
    '1765093014 [  5]   1.00-2.00   sec  0.00 Bytes  0.00 bits/sec    2   1.41 KBytes       ',
    '1765093015 [  5]   2.00-3.00   sec  2.38 MBytes  19.9 Mbits/sec    0   1.12 MBytes       ',
    '1765093015 [  5]   0.00-3.00   sec  4.88 MBytes  13.4 Mbits/sec    2             sender',
  ].join('\n');
  t.same(parseSamples('iperf', iperf), [
    { t: 1765093013000, ok: true },
    { t: 1765093014000, ok: false },
    { t: 1765093015000, ok: true },
  ]);
});

t.test('outages: from the first failure to the next answer', async (t) => {
  const s = (t: number, ok: boolean) => ({ t, ok });
  t.same(outages([s(0, true), s(200, false), s(400, false), s(600, true), s(800, false)]), [
    { from: 200, to: 600, lost: 2 },
    { from: 800, to: 800, lost: 1 },
  ]);
  t.same(outages([s(0, true), s(1, true)]), [], 'none');
});
