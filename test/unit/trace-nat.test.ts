// trace's NAT layer from recorded kube-proxy state: the service-ips map (alone and inside the
// whole ruleset), `nft monitor trace` of a probe to the service on the client's worker, and
// the conntrack entry that says which endpoint the DNAT chose.
import t from 'tap';
import {
  conntrackArgs,
  explainDnat,
  masqueradeStep,
  parseConntrack,
  parseServiceIps,
} from '../../src/features/trace/explain/nat.js';
import { explainRules, interesting, passesOf } from '../../src/features/trace/explain/rules.js';
import { parseTrace } from '../../src/features/trace/nft.js';
import { pickServicePort } from '../../src/features/trace/resolve.js';
import { fixture } from '../lib/trace-fixtures.js';

const CLIENT = '10.244.185.3';
const TABLE = 'netsim-trace-45001';
const web = { ip: '10.96.0.1', proto: 'tcp', port: 80, name: 'default/web' };

t.test('service-ips: the service behind each VIP and port', async (t) => {
  t.same(parseServiceIps(fixture('w1-service-ips.json')), [web]);
  t.same(parseServiceIps(fixture('w1-ruleset.json')), [web], 'the same from the whole ruleset');
  t.same(parseServiceIps('not json'), [], 'nothing from garbage');
  t.same(pickServicePort('default/web', [web], undefined), web, 'no port asked: the TCP port');
  t.throws(
    () => pickServicePort('default/web', [web], 81),
    /service default\/web has no port 81 \(ports: 80\/tcp\)/,
  );
});

t.test('conntrack: the reply tuple names the endpoint', async (t) => {
  t.same(conntrackArgs({ proto: 'tcp', saddr: CLIENT, sport: 45001 }), [
    '-L',
    '-p',
    'tcp',
    '--orig-port-src',
    '45001',
    '--orig-src',
    CLIENT,
  ]);
  const ct = parseConntrack(fixture('service-conntrack.txt'), CLIENT);
  t.equal(ct.to, '10.244.185.2:8000');
  t.match(ct.line, /^tcp +6 \d+ TIME_WAIT src=10\.244\.185\.3 dst=10\.96\.0\.1 sport=45001 dport=80 /);
  t.same(parseConntrack('', CLIENT), { to: '', line: '' }, 'no entry');
});

t.test("the client's worker: kube-proxy's rules, the DNAT, what conntrack says", async (t) => {
  const events = parseTrace(fixture('service-monitor-C0w1.txt'));
  const passes = passesOf(events, TABLE, CLIENT);
  t.equal(passes.length, 1, 'marked once, as it came in from cni0');
  t.same(passes[0].packet, {
    iif: 'cni0',
    oif: undefined,
    saddr: CLIENT,
    daddr: '10.96.0.1',
    proto: 'tcp',
    sport: 45001,
    dport: 80,
  });
  t.equal(passes[0].layer, 'inner');
  t.notOk(
    interesting(passes[0].events).some((e) => /meta mark & 0x00004000/.test(e.text)),
    "kube-proxy's masquerade check that returns is left out",
  );
  const pkt = { saddr: CLIENT, daddr: '10.96.0.1', proto: 'tcp' as const, sport: 45001, dport: 80 };
  const r = explainRules(passes[0].events, pkt, parseConntrack(fixture('service-conntrack.txt'), CLIENT));
  t.same(
    r.steps.map((s) => `${s.kind} ${s.text}`),
    [
      'nat kube-proxy nat-prerouting: jump services',
      'nat kube-proxy services: ip daddr . meta l4proto . th dport vmap @service-ips (goto service-CLLS5CZR-default/web/tcp/p80)',
      'nat kube-proxy service-CLLS5CZR-default/web/tcp/p80: goto endpoint-6646N336-default/web/tcp/p80__10.244.185.2/8000',
      'nat kube-proxy endpoint-6646N336-default/web/tcp/p80__10.244.185.2/8000: counter packets 1 bytes 60 meta l4proto tcp dnat to 10.244.185.2:8000',
      'dnat DNAT 10.96.0.1:80 -> 10.244.185.2:8000 (conntrack: the reply comes from there)',
    ],
  );
  t.same(r.out, { ...pkt, daddr: '10.244.185.2', dport: 8000 }, 'the packet leaves for the endpoint');
  t.same(r.dnat, {
    from: '10.96.0.1:80',
    to: '10.244.185.2:8000',
    rule: 'counter packets 1 bytes 60 meta l4proto tcp dnat to 10.244.185.2:8000',
  });
  t.notOk(r.drop);
});

t.test('web1 gets the probe with the endpoint as its destination, nothing else in the way', async (t) => {
  const passes = passesOf(parseTrace(fixture('service-monitor-web1.txt')), TABLE, CLIENT);
  t.same(
    passes.map((p) => [p.layer, p.packet.daddr, p.packet.dport, p.packet.iif]),
    [['inner', '10.244.185.2', 8000, 'eth0']],
  );
  const pkt = { saddr: CLIENT, daddr: '10.244.185.2', proto: 'tcp' as const, sport: 45001, dport: 8000 };
  t.same(
    explainRules(passes[0].events, pkt),
    { steps: [], out: pkt, dnat: undefined },
    'no rule worth showing',
  );
});

t.test('DNAT without conntrack, and masquerading', async (t) => {
  const pkt = { saddr: CLIENT, daddr: '10.96.0.1', proto: 'tcp' as const, dport: 80 };
  const d = explainDnat(pkt, 'meta l4proto tcp dnat to 10.244.115.2:8000', undefined);
  t.equal(d?.step.text, 'DNAT 10.96.0.1:80 -> 10.244.115.2:8000');
  t.equal(explainDnat(pkt, 'counter packets 0 bytes 0 accept', undefined), undefined, 'not a DNAT');
  const m = masqueradeStep({
    table: 'kube-proxy',
    chain: 'masquerading',
    type: 'rule',
    text: 'masquerade',
    verdict: 'accept',
  });
  t.equal(m?.kind, 'snat');
  t.match(m?.text, /^masqueraded: the source becomes this node's address/);
});
