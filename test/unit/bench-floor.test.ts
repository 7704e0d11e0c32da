// The benchmark's floor performs netsim's operations: its description of a topology, written
// back as ip(8) lines, is netsim's plan line for line (a change to the plan fails here until
// bench/floor.ts follows it); and the self-check's comparison ignores only what differs by nature.
import t from 'tap';
import { type FloorSpec, floorSpec } from '../../bench/floor.js';
import { differences, normalize } from '../../bench/kernel-diff.js';
import { benchModel } from '../../bench/netsim.js';
import type { Features } from '../../src/kernel/features.js';
import { buildPlan } from '../../src/plan/plan.js';

const FEATURES: Features = {
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
  brNetfilter: true,
};

/** The floor's operations for each namespace as the ip lines netsim's plan would have. */
function asIpLines(spec: FloorSpec): Map<string, string[]> {
  const names = new Map<string, string>(); // "ns/index" -> ifname
  for (const v of spec.veths) for (const e of [v.a, v.b]) names.set(`${e.ns}/${e.index}`, e.ifname);
  const out = new Map<string, string[]>();
  for (const n of spec.nodes) {
    const name = (i: number) => names.get(`${n.ns}/${i}`)!;
    const lines = ['link set lo up', ...n.earlyUp.map((i) => `link set ${name(i)} up`)];
    if (n.bridge) {
      const b = n.bridge;
      lines.push(
        `link add ${b.name} type bridge stp_state ${b.stp} forward_delay ${b.forwardDelay} mcast_snooping ${b.mcastSnooping}`,
      );
      for (const p of b.ports) lines.push(`link set ${name(p.index)} master ${b.name}${p.up ? ' up' : ''}`);
      lines.push(`link set ${b.name} up`);
    }
    for (const i of n.ifaces) {
      if (i.ip) lines.push(`addr add ${i.ip}/${i.prefix} dev ${name(i.index)}`);
      if (i.up) lines.push(`link set ${name(i.index)} up`);
    }
    for (const r of n.routes) lines.push(`route replace default via ${r.via}`);
    out.set(n.ns, lines);
  }
  return out;
}

for (const topo of ['single,4', 'linear,3', 'linear,3,2', 'tree,2,2']) {
  t.test(`the floor's operations are netsim's plan: ${topo}`, async (t) => {
    const model = benchModel(topo, 'unitfloor');
    const plan = buildPlan(model, FEATURES);
    const spec = floorSpec(model, { brNetfilter: true });
    const lines = asIpLines(spec);
    t.same(
      spec.namespaces.map((n) => n.ns),
      plan.namespaces,
    );
    t.same(new Map(spec.namespaces.map((n) => [n.ns, n.hostname])), plan.hostnames);
    t.same(
      spec.veths.map((v) => [v.a.ns, v.a.ifname, v.b.ns, v.b.ifname, v.aUp, v.mtu]),
      plan.veths.map((v) => [v.a.ns, v.a.ifname, v.b.ns, v.b.ifname, v.aUp, v.mtu]),
    );
    for (const [ns, script] of plan.scripts) {
      const node = spec.nodes.find((n) => n.ns === ns)!;
      t.same(lines.get(ns), script.ip, `${ns}: ip lines`);
      t.same(node.sysctls, script.sysctls, `${ns}: sysctls`);
      t.equal(node.wave, script.wave ?? 0, `${ns}: wave`);
      t.same(script.tc, [], `${ns}: no tc`);
    }
    // ifindexes as kernel.ts chooses them: from 2 in each namespace, never equal to the peer's
    for (const v of spec.veths) t.not(v.a.index, v.b.index, `${v.a.ifname}/${v.b.ifname}`);
    const perNs = new Map<string, number[]>();
    for (const v of spec.veths)
      for (const e of [v.a, v.b]) perNs.set(e.ns, [...(perNs.get(e.ns) ?? []), e.index]);
    for (const [ns, idx] of perNs) t.equal(new Set(idx).size, idx.length, `${ns}: distinct ifindexes`);
  });
}

t.test('the floor refuses what it does not build', async (t) => {
  t.throws(() => floorSpec(benchModel('single,2', 'unitfloor', 'dual')), /IPv4 topologies only/);
});

const NAMES: [string, string] = ['netsim', 'floor'];

t.test('the self-check compares what matters and nothing that differs by nature', async (t) => {
  const link = (mac: string, mtu: number, snooping: number) => ({
    ifname: 'br0',
    address: mac,
    mtu,
    link_netnsid: 3,
    linkinfo: { info_kind: 'bridge', info_data: { mcast_snooping: snooping, bridge_id: mac, gc_timer: 1.2 } },
  });
  const a = normalize({
    link: [link('aa:aa', 1500, 0)],
    addr: [{ addr_info: [{ local: 'fe80::1', tentative: true }] }],
  });
  const b = normalize({ link: [link('bb:bb', 1500, 0)], addr: [{ addr_info: [{ local: 'fe80::2' }] }] });
  t.same(differences(a, b, NAMES), []);
  const c = normalize({ link: [link('bb:bb', 9000, 1)], addr: [{ addr_info: [{ local: '10.0.0.1' }] }] });
  t.same(differences(a, c, NAMES), [
    '/addr/0/addr_info/0/local: netsim "fe80::(from the MAC)", floor "10.0.0.1"',
    '/link/0/linkinfo/info_data/mcast_snooping: netsim 0, floor 1',
    '/link/0/mtu: netsim 1500, floor 9000',
  ]);
});

t.test("zebra's nexthop ids: kept for the floor, left out where FRR built the routes", async (t) => {
  const route = (nhid: number) => [{ dst: '10.0.0.0/24', nhid, gateway: 'fe80::1', dev: 'eth1' }];
  t.same(differences(normalize(route(7)), normalize(route(9)), NAMES), ['/0/nhid: netsim 7, floor 9']);
  const frr = { nexthopIds: true };
  t.same(differences(normalize(route(7), frr), normalize(route(9), frr)), []);
  t.same(differences(normalize(route(7), frr), normalize([{ ...route(9)[0], dev: 'eth2' }], frr)), [
    '/0/dev: "eth1" vs "eth2"',
  ]);
});
