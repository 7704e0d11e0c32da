// The probe's result from recorded socat output, the trace's conclusion, and the text format
// of a recorded trace (client -> service web, DNAT to web1).
import t from 'tap';
import { conclude } from '../../src/features/trace/explain/outcome.js';
import { formatTrace, formatTraceJson } from '../../src/features/trace/format.js';
import { markRules, parseTrace } from '../../src/features/trace/nft.js';
import { pingProbeResult, tcpProbeResult } from '../../src/features/trace/probe.js';
import type { TraceResult } from '../../src/features/trace/types.js';
import { fixture, jsonFixture } from '../lib/trace-fixtures.js';

const tcp = { proto: 'tcp' as const, saddr: '10.244.185.3', sport: 45001 };

t.test('socat: answered, timed out, refused', async (t) => {
  const ok = tcpProbeResult(
    { code: 0, stdout: fixture('service-probe.stdout'), stderr: '' },
    'socat ...',
    12,
    tcp,
  );
  t.same(ok, {
    command: 'socat ...',
    result: 'answered',
    detail: 'connected, answered "web1"',
    ms: 12,
    from: '10.244.185.3:45001',
  });
  const lost = tcpProbeResult(
    { code: 1, stdout: '', stderr: fixture('policy-probe.stderr') },
    'socat ...',
    1000,
    tcp,
  );
  t.equal(lost.result, 'timeout');
  t.equal(lost.detail, 'connecting to AF=2 10.244.115.2:8000: Connection timed out');
  const refused = tcpProbeResult(
    {
      code: 1,
      stdout: '',
      stderr: '2026/12/06 17:00:55 socat[1] E connect(5, AF=2 10.0.1.2:81, 16): Connection refused\n',
    },
    'socat ...',
    3,
    tcp,
  );
  t.equal(refused.result, 'refused');
});

t.test('ping: reply, unreachable', async (t) => {
  const icmp = { proto: 'icmp' as const, saddr: '10.0.0.1', icmpId: 77 };
  const reply = pingProbeResult(
    { code: 0, stdout: '64 bytes from 10.0.1.2: icmp_seq=1 ttl=62 time=0.128 ms\n', stderr: '' },
    'ping ...',
    1,
    icmp,
  );
  t.equal(reply.detail, 'echo reply in 0.128 ms');
  t.equal(reply.from, '10.0.0.1 (icmp id 77)');
  const unreach = pingProbeResult(
    { code: 1, stdout: 'From 10.0.0.2 icmp_seq=1 Destination Net Unreachable\n', stderr: '' },
    'ping ...',
    1,
    icmp,
  );
  t.same(
    [unreach.result, unreach.detail],
    ['unreachable', 'From 10.0.0.2 icmp_seq=1 Destination Net Unreachable'],
  );
});

t.test('the mark rules match the probe as the monitor printed it', async (t) => {
  const [plain] = markRules(tcp);
  t.equal(plain, 'ip saddr 10.244.185.3 tcp sport 45001 tcp flags & (fin|syn|rst|ack) == syn');
  const marked = parseTrace(fixture('service-monitor-client.txt')).filter((e) => e.type === 'rule');
  t.match(
    marked[0]?.text,
    /^ip saddr 10\.244\.185\.3 tcp sport 45001 tcp flags syn \/ fin,syn,rst,ack meta nftrace set 1$/,
  );
  t.equal(marked[0]?.verdict, 'continue');
});

t.test('conclusion and text of a recorded trace', async (t) => {
  const r = jsonFixture<TraceResult>('result-client-web.json');
  t.same(
    conclude(r.probe, r.target, {
      hops: r.hops,
      delivered: { node: 'web1', ip: '10.244.185.2' },
      dnat: r.dnat,
    }),
    {
      outcome: 'delivered',
      summary: 'delivered to web1 (DNAT 10.96.0.1:80 -> 10.244.185.2:8000): connected, answered "web1"',
    },
  );
  const dropped = conclude({ ...r.probe, result: 'timeout', detail: 'Connection timed out' }, r.target, {
    hops: r.hops,
    drop: { node: 'C0w2', reason: 'dropped by NetworkPolicy: ...' },
  });
  t.same(dropped, { outcome: 'dropped', summary: 'dropped at C0w2: dropped by NetworkPolicy: ...' });
  t.same(conclude({ ...r.probe, result: 'timeout', detail: 'no reply' }, r.target, { hops: [] }), {
    outcome: 'unknown',
    summary: 'no answer (no reply); not seen anywhere',
  });
  const text = formatTrace(r).split('\n');
  t.match(
    text[0],
    /^trace client -> web \(service default\/web 10\.96\.0\.1:80\), TCP from 10\.244\.185\.3:\d+$/,
  );
  t.ok(text.includes(' 3. web1 (pod)  in eth0'), 'the third hop is web1');
  t.ok(
    text.includes(
      '      dnat      DNAT 10.96.0.1:80 -> 10.244.185.2:8000 (conntrack: the reply comes from there)',
    ),
    'steps are indented with their kind',
  );
  t.equal(text.at(-2), `result: delivered: ${r.summary}`);
  t.same(JSON.parse(formatTraceJson(r)), r, '--json is the result itself');
});
