// Namespaces configured over netlink by the runner itself (src/kernel/netlink.ts) end up exactly
// as with `ip -batch` (the default, against NETSIM_CONFIGURE=ip): the same topologies built both ways side by side,
// every node's addresses, links, routing tables (both families, all tables) and sysctls
// compared, and the ledgers; each netlink-built lab passes its matrix and its teardown leaves
// nothing; a namespace with a line the encoder does not cover keeps `ip -batch` for all of its
// lines; and a request the kernel refuses fails the build naming the namespace, the line and the
// kernel's error, as `ip` would.
import { existsSync } from 'node:fs';
import t, { type Test } from 'tap';
import { FRR_BIN_DIR } from '../../src/features/frr/daemons.js';
import type { Model } from '../../src/model/model.js';
import { Plan } from '../../src/plan/plan.js';
import type { Simulation } from '../../src/runtime/simulation.js';
import { sleep, waitFor } from '../../src/util/wait.js';
import { modelFromYaml, namespacesOf, requireRoot, up } from '../lib/harness.js';
import { kernelState, stateDifferences } from '../lib/kernel-state.js';

const LAN = `
name: x
nodes:
  s1: {kind: switch}
  s2: {kind: switch, stp: true}
  h1: {kind: host}
  h2: {kind: host}
  h3: {kind: host}
  h4: {kind: host}
links:
  - endpoints: [h1, s1]
  - endpoints: [h2, s1]
  - endpoints: [s1, s2]
  - endpoints: [h3, s2]
  - endpoints: [h4, s2]
    state: down
`;

const ROUTED = `
name: x
nodes:
  h1: {kind: host}
  h2: {kind: host, gateway: r2}
  h3: {kind: host}
  s1: {kind: switch, subnet: 10.1.0.0/24}
  r1:
    kind: router
    routes:
      - {dst: 10.2.0.0/24, via: r2}
      - {dst: 10.3.0.0/16, via: 10.9.0.2, dev: eth2, metric: 20}
      - {dst: 10.4.0.0/16, dev: eth2}
  r2:
    kind: router
    routes:
      - {dst: 10.1.0.0/24, via: 10.9.0.1}
      - {dst: default, via: 10.9.0.1}
links:
  - endpoints: [h1, s1]
  - endpoints: [h3, s1]
  - endpoints: [r1, s1]
  - endpoints: [r1, r2]
    ipv4: [10.9.0.1/30, 10.9.0.2/30]
  - endpoints: [h2, r2]
    subnet: 10.2.0.0/24
`;

const DUAL = `
name: x
addressing: {family: dual}
nodes:
  lan1: {kind: switch}
  lan2: {kind: switch, subnet6: "fd00:beef::/64"}
  r1: {kind: router, routes: [{dst: "fd00:99::/48", via: "fd00:beef::33"}]}
  h1: {kind: host, sysctls: {net.ipv4.ip_forward: 1}}
  h2: {kind: host}
  h3: {kind: host, ip6: "fd00:beef::33/64"}
links:
  - endpoints: [r1, lan1]
  - endpoints: [r1, lan2]
  - endpoints: [h1, lan1]
  - endpoints: [h2, lan1]
  - endpoints: [h3, lan2]
`;

// FRR routers: loopbacks of both families on lo, forwarding sysctls, OSPF routes once converged
const OSPF = `
name: x
addressing: {family: dual}
nodes:
  r1: {kind: router, loopback: 192.168.255.1, loopback6: "fd00:ff::1", ospf: {area: 0}}
  r2: {kind: router, loopback: 192.168.255.2, ospf: {area: 0}}
  s1: {kind: switch}
  h1: {kind: host}
  h2: {kind: host}
  h3: {kind: host}
links:
  - endpoints: [h1, s1]
  - endpoints: [h3, s1]
  - endpoints: [r1, s1]
  - endpoints: [r1, r2]
  - endpoints: [h2, r2]
`;

/** The ledger's entries with what differs between two builds by nature (names, pids) masked, sorted. */
function ledgerOf(sim: Simulation): string[] {
  return sim.kernel.ledger
    .read()
    .map((e) => {
      const { pid: _pid, start: _start, ...rest } = e as Record<string, unknown>;
      return JSON.stringify(rest).replaceAll(sim.name, 'SIM');
    })
    .sort();
}

/** Builds with `ip -batch` or netlink: the Kernel reads NETSIM_CONFIGURE when the simulation makes it. */
async function upWith(t: Test, model: Model, mode: 'ip' | 'netlink'): Promise<Simulation> {
  const before = process.env.NETSIM_CONFIGURE;
  process.env.NETSIM_CONFIGURE = mode;
  try {
    return await up(t, model);
  } finally {
    if (before === undefined) delete process.env.NETSIM_CONFIGURE;
    else process.env.NETSIM_CONFIGURE = before;
  }
}

if (requireRoot(t)) {
  const frr = ['zebra', 'ospfd', 'ospf6d'].every((d) => existsSync(`${FRR_BIN_DIR}/${d}`));
  for (const [name, yaml] of [
    ['a switched LAN (two bridges, STP on one, a link down)', LAN],
    ['a routed lab with static routes (via, dev, metric, default)', ROUTED],
    ['dual stack (IPv6 addresses nodad, IPv6 routes, sysctls)', DUAL],
    ...(frr ? [['FRR routers with loopbacks and OSPF, dual stack', OSPF]] : []),
    // (without FRR the OSPF case is left out: the other three run)
  ]) {
    t.test(`${name}: netlink and ip leave the same kernel state`, async (t) => {
      const byIp = modelFromYaml(yaml);
      const byNetlink = modelFromYaml(yaml);
      const ipSim = await upWith(t, byIp, 'ip');
      t.equal(ipSim.kernel.netlink, false, 'the first build runs ip');
      const nlSim = await upWith(t, byNetlink, 'netlink');
      t.equal(nlSim.kernel.netlink, true, 'the second sends netlink requests');
      if (yaml === OSPF) for (const sim of [ipSim, nlSim]) await sim.waitConverged({ timeout: 20000 });
      // a bridge's operstate follows its ports when the kernel's link watcher gets to it
      let diffs: string[] = [];
      for (let i = 0; i < 20; i++) {
        diffs = stateDifferences(await kernelState(byIp), await kernelState(byNetlink));
        if (diffs.length === 0) break;
        await sleep(250);
      }
      t.same(diffs, [], 'addresses, links, routes of every node: no difference');
      t.same(ledgerOf(nlSim), ledgerOf(ipSim), 'the same ledger entries');
      // the LAN's h4 is behind a link that is down: its pairs fail in both (and s2's ports
      // forward once STP has gone through listening and learning, 2 × 4 s)
      const expected = yaml === LAN ? ['h1>h4', 'h2>h4', 'h3>h4', 'h4>h1', 'h4>h2', 'h4>h3'] : [];
      for (const [how, sim] of [
        ['ip', ipSim],
        ['netlink', nlSim],
      ] as const) {
        let failed: string[] = [];
        await waitFor(
          async () => {
            const m = await sim.pingAll();
            failed = m.results.filter((r) => !r.ok).map((r) => `${r.src}>${r.dst}`);
            return failed.length === expected.length;
          },
          { timeoutMs: 20000, intervalMs: 500, what: `the ${how}-built lab's matrix` },
        ).catch(() => {});
        t.same(failed, expected, `the ${how}-built lab's matrix: ${expected.length} failed pairs`);
      }
      await nlSim.down();
      t.same(namespacesOf(nlSim.name), [], 'its teardown leaves no namespace');
    });
  }

  t.test('a namespace with a line netlink.ts does not encode runs ip -batch for all its lines', async (t) => {
    const model = modelFromYaml(ROUTED);
    const sim = await upWith(t, model, 'netlink');
    const r1 = sim.node('r1');
    const plan = new Plan(sim.features);
    // `proto static` is outside the encoded subset: this namespace falls back to ip
    plan
      .script(r1.ns)
      .ip.push('route replace 10.7.0.0/16 dev eth2 proto static', 'addr add 10.8.0.1/32 dev lo');
    await sim.apply(plan);
    const routes = await sim.kernel.ipJson<{ dst: string; protocol?: string }[]>(r1.ns, ['route']);
    t.match(
      routes.find((r) => r.dst === '10.7.0.0/16'),
      { protocol: 'static' },
      'the route is there, from ip',
    );
    const addrs = await sim.kernel.ipJson<{ addr_info: { local: string }[] }[]>(r1.ns, [
      'addr',
      'show',
      'lo',
    ]);
    t.ok(
      addrs[0].addr_info.some((a) => a.local === '10.8.0.1'),
      'and the line after it too',
    );
  });

  t.test('a request the kernel refuses names the namespace, the line and the error', async (t) => {
    const model = modelFromYaml(ROUTED);
    const sim = await upWith(t, model, 'netlink');
    const h1 = sim.node('h1');
    const ip = h1.ip ?? '';
    const dev = model.nodes.get('h1')!.ifaces[0].name;
    const plan = new Plan(sim.features);
    plan.script(h1.ns).ip.push('link set lo up', `addr add ${ip}/24 dev ${dev}`);
    await t.rejects(
      sim.apply(plan),
      {
        message: new RegExp(
          `\\[${h1.ns}\\] configuration.*RTNETLINK answers: File exists.*Command failed: addr add ${ip.replaceAll('.', '\\.')}/24 dev ${dev}`,
          's',
        ),
      },
      'the address is there already',
    );
    const missing = new Plan(sim.features);
    missing.script(h1.ns).ip.push('link set eth9 up');
    await t.rejects(
      sim.apply(missing),
      { message: /configuration.*Cannot find device "eth9".*Command failed: link set eth9 up/s },
      'an interface that does not exist',
    );
  });
}
