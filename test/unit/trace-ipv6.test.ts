// trace's IPv6 pieces from recorded kernel output (a host a, a router r, a host b on
// fd00:1::/64 and fd00:2::/64; in r an `inet filter` and an `ip6 f6` table that drop, an `ip6
// kube-proxy` table that DNATs, and an IPv6 VXLAN device): the family flags, the marking
// rules and their table, the monitor's ip6/inet events, NDP neighbours, the DNAT to an IPv6
// endpoint and its conntrack entry, VXLAN over an IPv6 underlay, and the probe's commands.
import t from 'tap';
import {
  conntrackArgs,
  dnatTarget,
  explainDnat,
  parseConntrack,
} from '../../src/features/trace/explain/nat.js';
import { dropReason } from '../../src/features/trace/explain/policy.js';
import { neighbourStep, routeStep } from '../../src/features/trace/explain/route.js';
import { explainRules, passesOf } from '../../src/features/trace/explain/rules.js';
import { explainDecap, explainEncap } from '../../src/features/trace/explain/vxlan.js';
import {
  familyOf,
  hostPort,
  ipFlag,
  isLinkLocal6,
  splitHostPort,
  traceTableFamily,
} from '../../src/features/trace/family.js';
import { formatTrace } from '../../src/features/trace/format.js';
import { TraceNet } from '../../src/features/trace/net.js';
import { hex128, markRules, parsePacket, parseTrace, traceTableText } from '../../src/features/trace/nft.js';
import { pingProbeResult, probeCommand, tcpProbeResult } from '../../src/features/trace/probe.js';
import { probeFamily } from '../../src/features/trace/resolve.js';
import type { LinkJson, RouteGet, TraceResult } from '../../src/features/trace/types.js';
import { traceArgs } from '../../src/features/trace/verbs.js';
import type { SimState } from '../../src/runtime/state.js';
import { fixture } from '../lib/trace-fixtures.js';

const icmp6 = { proto: 'icmp' as const, saddr: 'fd00:1::2', icmpId: 4242 };
const tcp6 = { proto: 'tcp' as const, saddr: 'fd00:1::2', sport: 4443 };

t.test('family helpers', async (t) => {
  t.same(
    [familyOf('10.0.0.1'), familyOf('fd00::1'), ipFlag('fd00::1'), ipFlag('10.0.0.1')],
    [4, 6, '-6', '-4'],
  );
  t.same(
    [hostPort('fd00::1', 80), hostPort('10.0.0.1', 80), hostPort('fd00::1')],
    ['[fd00::1]:80', '10.0.0.1:80', 'fd00::1'],
  );
  t.same(splitHostPort('[fd00:2::2]:8000'), { ip: 'fd00:2::2', port: 8000 });
  t.same(splitHostPort('10.244.1.2:8000'), { ip: '10.244.1.2', port: 8000 });
  t.same(splitHostPort('fd00:2::2'), { ip: 'fd00:2::2' });
  t.same(splitHostPort('[fd00:2::2]'), { ip: 'fd00:2::2', port: undefined });
  t.ok(isLinkLocal6('fe80::1c19:feff:fe22:d484'));
  t.notOk(isLinkLocal6('fd00:1::1'));
  t.same([traceTableFamily(4), traceTableFamily(6)], ['ip', 'inet']);
});

t.test('the probe family: asked, from the destination address, or IPv4', async (t) => {
  t.equal(probeFamily('h2', undefined), 4);
  t.equal(probeFamily('h2', 6), 6);
  t.equal(probeFamily('fd00:2::2', undefined), 6);
  t.equal(probeFamily('10.0.1.2', 4), 4);
  t.throws(() => probeFamily('fd00:2::2', 4), /-4 asks for IPv4, but fd00:2::2 is an IPv6 address/);
  t.throws(() => probeFamily('10.0.1.2', 6), /-6 asks for IPv6, but 10\.0\.1\.2 is an IPv4 address/);
});

t.test('trace arguments: -6, -4, [ipv6]:port', async (t) => {
  t.same(traceArgs(['h1', 'h2', '-6']), { src: 'h1', dst: 'h2', port: undefined, json: false, family: 6 });
  t.same(traceArgs(['h1', 'fd00:2::2', '80']), { src: 'h1', dst: 'fd00:2::2', port: 80, json: false });
  t.same(traceArgs(['h1', '[fd00:2::2]:80', '--json']), {
    src: 'h1',
    dst: 'fd00:2::2',
    port: 80,
    json: true,
  });
  t.same(traceArgs(['h1', '[fd00:2::2]']).dst, 'fd00:2::2');
  t.same(traceArgs(['h1', 'web:80', '-4']), { src: 'h1', dst: 'web', port: 80, json: false, family: 4 });
  t.throws(() => traceArgs(['h1', 'h2', '-4', '-6']), /pick one family/);
  t.throws(() => traceArgs(['h1', '[fd00::2']), /is not \[address\] or \[address\]:port/);
});

t.test('marking an IPv6 probe: an inet table, ICMPv6 echo or TCP SYN, and inside VXLAN', async (t) => {
  t.equal(hex128('fd00:1::2'), '0xfd000001000000000000000000000002');
  t.equal(hex128('fd00:10:244:1::3'), '0xfd000010024400010000000000000003');
  t.equal(hex128('::1'), '0x00000000000000000000000000000001');
  const [plain, vx] = markRules(icmp6);
  t.equal(plain, 'ip6 saddr fd00:1::2 icmpv6 type echo-request icmpv6 id 4242');
  // the inner IPv6 header after UDP 8 + VXLAN 8 + Ethernet 14: next header at byte 6, source at 8
  t.equal(
    vx,
    'meta l4proto udp @th,304,128 0xfd000001000000000000000000000002 @th,288,8 58 @th,560,8 128 @th,592,16 4242',
  );
  const [syn, vxSyn] = markRules(tcp6);
  t.equal(syn, 'ip6 saddr fd00:1::2 tcp sport 4443 tcp flags & (fin|syn|rst|ack) == syn');
  t.match(vxSyn, /@th,288,8 6 @th,560,16 4443$/);
  const text = traceTableText('netsim-trace-4242', icmp6);
  t.match(text, /^table inet netsim-trace-4242 \{/);
  t.match(text, /hook prerouting priority -400/);
  // IPv4 probes keep their ip table
  t.match(traceTableText('netsim-trace-1', { proto: 'icmp', saddr: '10.0.0.1', icmpId: 1 }), /^table ip /);
  // the VXLAN rule as the kernel printed it back, having marked a real encapsulated ping
  const marked = parseTrace(fixture('v6-vxlan-monitor-r.txt')).find((e) => e.type === 'rule');
  t.match(
    marked?.text,
    /^meta l4proto udp @th,304,128 0xfd000099000000000000000000000001 @th,288,8 0x3a @th,560,8 0x80 @th,592,16 0x3e7 meta nftrace set 1$/,
  );
});

t.test('the monitor: ip6 and inet tables, IPv6 packets', async (t) => {
  const evs = parseTrace(fixture('v6-drop-monitor-r.txt'));
  t.same(
    [...new Set(evs.map((e) => `${e.family ?? 'ip'} ${e.table}`))],
    ['inet netsim-trace-4242', 'ip6 kube-proxy', 'inet n2', 'ip6 f6', 'inet filter'],
  );
  const fwd = evs.find((e) => e.type === 'packet' && e.chain === 'forward');
  t.same(
    {
      saddr: fwd?.packet?.saddr,
      daddr: fwd?.packet?.daddr,
      iif: fwd?.packet?.iif,
      oif: fwd?.packet?.oif,
      proto: fwd?.packet?.proto,
    },
    { saddr: 'fd00:1::2', daddr: 'fd00:2::3', iif: 'r0', oif: 'r1', proto: 'icmp' },
  );
  t.same(
    parsePacket(
      'iif "r0" ip6 saddr fd00:1::2 ip6 daddr fd00:2::9 tcp sport 4443 tcp dport 80 tcp flags == syn',
    ),
    {
      iif: 'r0',
      oif: undefined,
      saddr: 'fd00:1::2',
      daddr: 'fd00:2::9',
      proto: 'tcp',
      sport: 4443,
      dport: 80,
    },
  );
  // the probes to fd00:2::3 (inet filter) and fd00:2::4 (ip6 f6): each pass names its rule
  const passes = passesOf(evs, 'netsim-trace-4242', 'fd00:1::2');
  t.equal(passes.length, 2);
  const pkt = { saddr: 'fd00:1::2', daddr: 'fd00:2::3', proto: 'icmp' as const };
  const first = explainRules(passes[0].events, pkt);
  t.same(first.drop, {
    reason: 'dropped by inet filter forward: ip6 daddr fd00:2::3 counter packets 1 bytes 104 drop',
    rule: 'inet filter forward: ip6 daddr fd00:2::3 counter packets 1 bytes 104 drop',
  });
  t.equal(first.steps.at(-1)?.data?.family, 'inet');
  const second = explainRules(passes[1].events, { ...pkt, daddr: 'fd00:2::4' });
  t.match(
    second.drop?.reason,
    /^dropped by ip6 f6 forward: ip6 daddr fd00:2::4 counter packets 0 bytes 0 drop$/,
  );
  t.equal(
    dropReason({
      family: 'ip6',
      table: 'f6',
      chain: 'forward',
      type: 'rule',
      text: 'reject',
      verdict: 'drop',
    }),
    'refused by ip6 f6 forward: reject',
  );
});

t.test('a DNAT to an IPv6 endpoint: ip6 kube-proxy, inet, conntrack', async (t) => {
  t.equal(dnatTarget('ip6 daddr fd00:2::9 tcp dport 80 dnat to [fd00:2::2]:8000'), '[fd00:2::2]:8000');
  t.equal(dnatTarget('ip6 daddr fd00:2::8 tcp dport 80 dnat ip6 to [fd00:2::2]:8000'), '[fd00:2::2]:8000');
  t.equal(dnatTarget('dnat ip to 10.244.1.2:8000'), '10.244.1.2:8000');
  t.same(conntrackArgs(tcp6), [
    '-L',
    '-f',
    'ipv6',
    '-p',
    'tcp',
    '--orig-port-src',
    '4443',
    '--orig-src',
    'fd00:1::2',
  ]);
  t.same(conntrackArgs(icmp6).slice(0, 5), ['-L', '-f', 'ipv6', '-p', 'icmpv6']);
  const ct = parseConntrack(
    'tcp      6 119 TIME_WAIT src=fd00:1::2 dst=fd00:2::9 sport=4443 dport=80 src=fd00:2::2 dst=fd00:1::2 sport=8000 dport=4443 [ASSURED] mark=0 use=1\n',
    'fd00:1::2',
  );
  t.equal(ct.to, '[fd00:2::2]:8000');
  const evs = parseTrace(fixture('v6-dnat-monitor-r.txt'));
  const pass = passesOf(evs, 'netsim-trace-4243', 'fd00:1::2')[0];
  const r = explainRules(
    pass.events,
    { saddr: 'fd00:1::2', daddr: 'fd00:2::9', proto: 'tcp', sport: 4443, dport: 80 },
    ct,
  );
  t.same(r.dnat, {
    from: '[fd00:2::9]:80',
    to: '[fd00:2::2]:8000',
    rule: 'ip6 daddr fd00:2::9 tcp dport 80 dnat to [fd00:2::2]:8000',
  });
  t.same([r.out?.daddr, r.out?.dport], ['fd00:2::2', 8000]);
  t.ok(
    r.steps.some(
      (s) => s.text === 'ip6 kube-proxy pre: ip6 daddr fd00:2::9 tcp dport 80 dnat to [fd00:2::2]:8000',
    ),
  );
  t.ok(
    r.steps.some(
      (s) => s.kind === 'dnat' && s.text.startsWith('DNAT [fd00:2::9]:80 -> [fd00:2::2]:8000 (conntrack'),
    ),
  );
  // without a conntrack entry, the rule's own target
  const d = explainDnat(
    { saddr: 'fd00:1::2', daddr: 'fd00:2::9', proto: 'tcp', dport: 80 },
    'dnat to fd00:2::2',
    undefined,
  );
  t.same([d?.pkt.daddr, d?.pkt.dport], ['fd00:2::2', 80]);
});

t.test('routes and NDP neighbours', async (t) => {
  // a's `ip -6 -j route get` and `... fibmatch`, as recorded
  const get: RouteGet = JSON.parse(
    '{"dst":"fd00:2::2","from":"fd00:1::2","gateway":"fd00:1::1","dev":"a0","prefsrc":"fd00:1::2","metric":1024,"flags":[],"pref":"medium"}',
  );
  const fib: RouteGet = JSON.parse(
    '{"dst":"default","gateway":"fd00:1::1","dev":"a0","metric":1024,"flags":[],"pref":"medium"}',
  );
  t.equal(
    routeStep('fd00:2::2', get, fib, 'r').text,
    'route to fd00:2::2: via fd00:1::1 (r) dev a0; FIB entry default via fd00:1::1 dev a0 proto boot metric 1024 — configured with ip route (netsim or the agent)',
  );
  const ne = JSON.parse(
    '{"dst":"fd00:1::1","lladdr":"32:7c:b4:52:75:01","router":null,"state":["REACHABLE"]}',
  );
  t.equal(
    neighbourStep('fd00:1::1', 'a0', ne).text,
    'neighbour fd00:1::1 is 32:7c:b4:52:75:01 (reachable; NDP, a router) on a0',
  );
  t.equal(
    neighbourStep('fe80::1', 'eth1', { dst: 'fe80::1', lladdr: 'aa:bb:cc:dd:ee:ff', state: ['STALE'] }).text,
    'neighbour fe80::1 is aa:bb:cc:dd:ee:ff (stale; NDP) on eth1',
  );
  t.equal(
    neighbourStep('fd00:1::9', 'a0', undefined).text,
    'neighbour fd00:1::9: no entry on a0 (no NDP answer)',
  );
});

t.test('VXLAN over an IPv6 underlay (flannel-v6)', async (t) => {
  const dev: LinkJson = {
    ifname: 'flannel-v6.1',
    linkinfo: { info_kind: 'vxlan', info_data: { id: 1, local6: 'fd00:1::2', port: 8472 } },
  };
  const e = explainEncap(
    'w1',
    dev,
    'fd00:10:244:2::',
    { dst: 'fd00:10:244:2::', lladdr: '02:00:00:00:00:0b', state: ['PERMANENT'] },
    [{ mac: '02:00:00:00:00:0b', dst: 'fd00:1::1', flags: ['self'], state: 'permanent' }],
    { saddr: 'fd00:10:244:1::2', daddr: 'fd00:10:244:2::2', proto: 'icmp' },
  );
  if (!('step' in e)) throw new Error('no encapsulation');
  t.same(e.header, {
    node: 'w1',
    device: 'flannel-v6.1',
    vni: 1,
    outerSrc: 'fd00:1::2',
    outerDst: 'fd00:1::1',
    port: 8472,
  });
  t.same(e.outer, { saddr: 'fd00:1::2', daddr: 'fd00:1::1', proto: 'udp', dport: 8472 });
  t.match(e.step.text, /encapsulated as fd00:1::2 -> fd00:1::1 UDP 8472$/);
  // both flannel devices listen on 8472: the outer header's family picks one
  const v4: LinkJson = {
    ifname: 'flannel.1',
    linkinfo: { info_kind: 'vxlan', info_data: { id: 1, local: '192.168.1.2', port: 8472 } },
  };
  const inner = { saddr: 'fd00:10:244:1::2', daddr: 'fd00:10:244:2::2', proto: 'icmp' as const };
  t.equal(explainDecap([v4, dev], e.outer, inner).device, 'flannel-v6.1');
  t.equal(
    explainDecap([v4, dev], { saddr: '192.168.1.3', daddr: '192.168.1.2', proto: 'udp', dport: 8472 }, inner)
      .device,
    'flannel.1',
  );
});

t.test('the probe over IPv6: commands and results', async (t) => {
  t.same(probeCommand({ ip: 'fd00:2::2' }, icmp6, 2), {
    cmd: 'ping',
    args: ['-6', '-I', 'fd00:1::2', '-n', '-c1', '-W', '2', '-e', '4242', 'fd00:2::2'],
  });
  t.same(probeCommand({ ip: 'fd00:2::9', port: 80 }, tcp6, 2), {
    cmd: 'socat',
    args: ['-T1', '-', 'TCP6:[fd00:2::9]:80,sourceport=4443,bind=[fd00:1::2],connect-timeout=2'],
  });
  // IPv4 as before
  t.same(probeCommand({ ip: '10.0.1.2', port: 80 }, { proto: 'tcp', saddr: '10.0.0.1', sport: 5 }, 1).args, [
    '-T1',
    '-',
    'TCP:10.0.1.2:80,sourceport=5,connect-timeout=1',
  ]);
  const prohibited = pingProbeResult(
    {
      code: 1,
      stdout: 'From fd00:1::1 icmp_seq=1 Destination unreachable: Administratively prohibited\n',
      stderr: '',
    },
    'ping ...',
    1,
    icmp6,
  );
  t.same([prohibited.result, prohibited.from], ['refused', 'fd00:1::2 (icmp id 4242)']);
  const noRoute = pingProbeResult(
    { code: 1, stdout: 'From fd00:1::1 icmp_seq=1 Destination unreachable: No route\n', stderr: '' },
    'ping ...',
    1,
    icmp6,
  );
  t.equal(noRoute.result, 'unreachable');
  const refused = tcpProbeResult(
    {
      code: 1,
      stdout: '',
      stderr:
        '2026/12/07 01:18:46 socat[20084] E connect(5, AF=10 [fd00:0002:0000:0000:0000:0000:0000:0006]:80, 28): Connection refused\n',
    },
    'socat ...',
    1,
    tcp6,
  );
  t.same([refused.result, refused.from], ['refused', '[fd00:1::2]:4443']);
  t.equal(refused.detail, 'connect(5, AF=10 [fd00:2::6]:80, 28): Connection refused');
});

t.test('a trace over IPv6 as text', async (t) => {
  const r: TraceResult = {
    sim: 'x',
    src: 'h1',
    dst: 'web',
    family: 6,
    target: { ip: 'fd00:10:96::1', port: 80, service: 'default/web' },
    proto: 'tcp',
    probe: { command: 'socat ...', result: 'answered', detail: 'connected', ms: 3, from: '[fd00:1::2]:4443' },
    hops: [],
    outcome: 'delivered',
    summary: 'delivered',
    ms: 5,
  };
  t.equal(
    formatTrace(r).split('\n')[0],
    'trace h1 -> web (service default/web [fd00:10:96::1]:80), TCP from [fd00:1::2]:4443',
  );
  const ping = formatTrace({
    ...r,
    dst: 'h2',
    target: { ip: 'fd00:2::2', node: 'h2' },
    proto: 'icmp',
    probe: { ...r.probe, from: 'fd00:1::2 (icmp id 7)' },
  });
  t.equal(ping.split('\n')[0], 'trace h1 -> h2 (fd00:2::2), ICMPv6 echo from fd00:1::2 (icmp id 7)');
});

t.test('the nodes behind IPv6 addresses: global ones recorded, link-local ones by the link', async (t) => {
  const node = (name: string, kind: string, ifaces: SimState['nodes'][number]['ifaces']) => ({
    name,
    kind,
    ns: `netsim-x-${name}`,
    pingable: kind !== 'switch',
    ifaces,
  });
  const net = new TraceNet({
    name: 'x',
    pid: 1,
    pidStart: '',
    startedAt: '',
    source: '',
    status: 'ready',
    links: [],
    nodes: [
      node('h1', 'host', [{ name: 'eth1', addr: '10.0.0.1/24', addr6: 'fd00::1/64', peer: 's1:eth1' }]),
      node('s1', 'switch', [
        { name: 'eth1', peer: 'h1:eth1' },
        { name: 'eth2', peer: 'r1:eth1' },
      ]),
      node('r1', 'router', [
        { name: 'eth1', addr: '10.0.0.2/24', addr6: 'fd00::2/64', peer: 's1:eth2' },
        { name: 'eth2', addr6: 'fd00:0:ff::/127', peer: 'r2:eth1' },
      ]),
      node('r2', 'router', [{ name: 'eth1', addr6: 'fd00:0:ff::1/127', peer: 'r1:eth2' }]),
    ],
  });
  t.same(net.owner('fd00::2'), { node: 'r1', iface: 'eth1' });
  t.equal(net.firstIp(net.node('h1')!, 6), 'fd00::1');
  t.equal(net.firstIp(net.node('r2')!, 4), undefined, 'an IPv6-only node has no IPv4 address');
  t.equal(net.gatewayNode('h1', 'eth1', 'fd00::2'), 'r1', 'a global next hop: its owner');
  t.equal(
    net.gatewayNode('r1', 'eth2', 'fe80::a8c1:abff:fe12:3456'),
    'r2',
    'link-local on a link: its other end',
  );
  t.equal(net.gatewayNode('h1', 'eth1', 'fe80::1'), undefined, 'link-local behind a switch: not named');
});
