// Model -> Plan: the kernel operations a topology turns into, checked as text (no kernel).
import t from 'tap';
import type { Features } from '../../src/kernel/features.js';
import { TopologyError } from '../../src/model/errors.js';
import type { Model } from '../../src/model/model.js';
import { YamlSource } from '../../src/model/source.js';
import { builtinTopology } from '../../src/model/topos.js';
import { validate } from '../../src/model/validate.js';
import { buildPlan, rateToBits } from '../../src/plan/plan.js';

const ALL: Features = {
  netem: true,
  tbf: true,
  htb: true,
  vxlan: true,
  bridge: true,
  dummy: true,
  vlan: true,
  vrf: true,
  wireguard: true,
  geneve: true,
  gre: true,
  nftables: true,
  brNetfilter: false,
};
const NO_NETEM: Features = { ...ALL, netem: false };

function fromYaml(text: string, simName = 'p'): Model {
  const { source, value } = YamlSource.parse('plan.yml', text);
  return validate(value, source, { simName });
}

t.test('linear topology: one namespace, one script and one address per node', async (t) => {
  const topo = builtinTopology('linear,3')!;
  const model = validate(topo.toSpec(), topo.source, { simName: 'lin' });
  const plan = buildPlan(model, ALL);
  t.same(
    plan.namespaces,
    ['netsim-lin-s1', 'netsim-lin-h1', 'netsim-lin-s2', 'netsim-lin-h2', 'netsim-lin-s3', 'netsim-lin-h3'],
    'one namespace per node, in node order',
  );
  t.same(
    [...plan.scripts.keys()].sort(),
    [...plan.namespaces].sort(),
    'one script (one ip -batch) per namespace',
  );
  t.equal(plan.veths.length, 5, 'one veth per link');
  t.same(
    plan.veths[0],
    {
      a: { ns: 'netsim-lin-s1', ifname: 'eth1' },
      b: { ns: 'netsim-lin-h1', ifname: 'eth1' },
      mtu: undefined,
      aUp: true,
    },
    'the switch end is created up: the switch is configured after the host',
  );
  for (const h of ['h1', 'h2', 'h3']) {
    const s = plan.script(`netsim-lin-${h}`);
    t.same(s.ip.slice(0, 1), ['link set lo up'], `${h}: loopback first`);
    t.equal(s.ip.filter((l) => l.startsWith('addr add')).length, 1, `${h}: one address line`);
    t.same(s.tc, [], `${h}: no tc without shaping`);
  }
  t.same(plan.script('netsim-lin-h3').ip, [
    'link set lo up',
    'addr add 10.0.0.3/24 dev eth1',
    'link set eth1 up',
  ]);
  t.same(
    plan.script('netsim-lin-s2').ip,
    [
      'link set lo up',
      'link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0',
      'link set eth1 master br0 up',
      'link set eth2 master br0 up',
      'link set eth3 master br0 up',
      'link set br0 up',
    ],
    'the middle switch bridges its three ports',
  );
  // 6 namespaces + 5 veths + ip lines: 3 per host, 5 + 6 + 5 for the switches, and the
  // 2 switch ports created down that the switches bring up first thing
  t.equal(plan.operationCount, 6 + 5 + 9 + 16 + 2, 'operation count');
});

t.test(
  'waves: hosts first, then linked switches in alternate waves; the later end is created up',
  async (t) => {
    const topo = builtinTopology('linear,3')!;
    const plan = buildPlan(validate(topo.toSpec(), topo.source, { simName: 'lin' }), ALL);
    const wave = (n: string) => plan.script(`netsim-lin-${n}`).wave;
    t.same(
      ['h1', 'h2', 'h3', 's1', 's2', 's3'].map(wave),
      [0, 0, 0, 1, 2, 1],
      'a chain of switches takes two waves',
    );
    t.same(
      ['h1', 's1', 's2'].map((n) => plan.script(`netsim-lin-${n}`).report === true),
      [false, true, true],
      'only bridges report their interfaces',
    );
    const s1s2 = plan.veths.find((v) => [v.a.ns, v.b.ns].sort().join() === 'netsim-lin-s1,netsim-lin-s2')!;
    t.same([s1s2.a.ns, s1s2.aUp], ['netsim-lin-s2', true], 's1-s2: created up in s2, which comes later');
    t.same(
      plan.script('netsim-lin-s1').ip.slice(0, 2),
      ['link set lo up', 'link set eth2 up'],
      's1 brings its end of s1-s2 up first thing (its end to h1 was created up)',
    );
    const ring = fromYaml(`
name: x
nodes: {s1: {kind: switch}, s2: {kind: switch}, s3: {kind: switch}}
links: [{endpoints: [s1, s2]}, {endpoints: [s2, s3]}, {endpoints: [s3, s1]}]
`);
    const ringPlan = buildPlan(ring, ALL);
    const waves = ['s1', 's2', 's3'].map((n) => ringPlan.script(`netsim-p-${n}`).wave);
    t.equal(new Set(waves).size, 3, 'a triangle of switches needs three waves');
  },
);

t.test('a link that starts down stays down; stp on', async (t) => {
  const model = fromYaml(`
name: x
nodes:
  s1: {kind: switch, stp: true}
  h1: {kind: host}
links:
  - {endpoints: [h1, s1], state: down}
`);
  const plan = buildPlan(model, ALL);
  t.equal(plan.veths[0].aUp, false, 'not created up either');
  t.same(plan.script('netsim-p-h1').ip, ['link set lo up', 'addr add 10.0.0.1/24 dev eth1']);
  t.same(plan.script('netsim-p-s1').ip, [
    'link set lo up',
    'link add br0 type bridge stp_state 1 forward_delay 400 mcast_snooping 0',
    'link set eth1 master br0',
    'link set br0 up',
  ]);
});

t.test('rate becomes a tbf on both ends; mtu goes on the veth', async (t) => {
  const model = fromYaml(`
name: x
nodes:
  h1: {kind: host}
  h2: {kind: host}
links:
  - {endpoints: [h1, h2], rate: 10mbit, mtu: 9000}
`);
  const plan = buildPlan(model, NO_NETEM);
  t.equal(plan.veths[0].mtu, 9000);
  for (const n of ['h1', 'h2']) {
    t.same(
      plan.script(`netsim-p-${n}`).tc,
      ['qdisc add dev eth1 root handle 10: tbf rate 10000000bit burst 12500 limit 196608'],
      `${n}: tbf with ~10 ms of burst`,
    );
  }
  const slow = buildPlan(
    fromYaml(`
name: x
nodes: {h1: {kind: host}, h2: {kind: host}}
links: [{endpoints: [h1, h2], rate: 100kbit}]
`),
    NO_NETEM,
  );
  t.same(
    slow.script('netsim-p-h1').tc,
    ['qdisc add dev eth1 root handle 10: tbf rate 100000bit burst 5000 limit 196608'],
    'burst never below one full frame',
  );
});

t.test('delay without netem is refused at the delay field; with netem it is a netem qdisc', async (t) => {
  const text = `name: x
nodes:
  h1: {kind: host}
  h2: {kind: host}
links:
  - endpoints: [h1, h2]
    rate: 1mbit
    delay: 10ms
`;
  const model = fromYaml(text);
  let err: unknown;
  try {
    buildPlan(model, NO_NETEM);
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof TopologyError, 'a TopologyError');
  const issue = (err as TopologyError).issues[0];
  t.same(issue.path, ['links', 0]);
  t.same(issue.pos, { file: 'plan.yml', line: 8, col: 12 }, 'located at the delay value');
  t.match(issue.message, 'netem');

  const plan = buildPlan(model, ALL);
  t.same(plan.script('netsim-p-h2').tc, [
    'qdisc add dev eth1 root handle 1: netem delay 10ms limit 10000',
    'qdisc add dev eth1 parent 1: handle 10: tbf rate 1000000bit burst 5000 limit 196608',
  ]);
  t.doesNotThrow(() => buildPlan(model), 'without probed features nothing is refused');
});

t.test('routers forward and keep rp_filter off', async (t) => {
  const model = fromYaml(`
name: x
nodes:
  r1: {kind: router, sysctls: {net.ipv4.conf.all.forwarding: 1}}
  r2: {kind: router}
links:
  - endpoints: [r1, r2]
`);
  const s = buildPlan(model).script('netsim-p-r1').sysctls;
  t.equal(s['net.ipv4.ip_forward'], '1');
  t.equal(s['net.ipv4.conf.all.rp_filter'], '0');
  t.equal(s['net.ipv4.conf.all.forwarding'], '1', 'user sysctls as strings');
});

t.test('rateToBits', async (t) => {
  t.equal(rateToBits('10mbit'), 10_000_000);
  t.equal(rateToBits('1gbit'), 1_000_000_000);
  t.equal(rateToBits('500kbit'), 500_000);
  t.equal(rateToBits('1000000'), 1_000_000, 'bare numbers are bit/s');
  t.equal(rateToBits('1.5mbit'), 1_500_000);
  t.equal(rateToBits('1mbps'), 8_000_000, 'bps is bytes per second, as in tc');
  t.equal(rateToBits('10 Mbit'), 10_000_000, 'case and a space are accepted');
  t.throws(() => rateToBits('fast'));
});
