// Namespaces configured over netlink by the runner itself (src/kernel/netlink.ts) end up exactly
// as with `ip -batch` (NETSIM_CONFIGURE=netlink against =ip): the same topologies built both ways side by side,
// every node's addresses, links and routing tables (both families, all tables) compared; and a
// request the kernel refuses fails the build naming the namespace, the line and the kernel's
// error, as `ip` would.
import t, { type Test } from 'tap';
import type { Model } from '../../src/model/model.js';
import { Plan } from '../../src/plan/plan.js';
import type { Simulation } from '../../src/runtime/simulation.js';
import { sleep } from '../../src/util/wait.js';
import { modelFromYaml, requireRoot, up } from '../lib/harness.js';
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

/** Builds with `ip -batch` or netlink: the Kernel reads NETSIM_CONFIGURE when the simulation makes it. */
async function upWith(t: Test, model: Model, mode: 'ip' | 'netlink'): Promise<Simulation> {
  process.env.NETSIM_CONFIGURE = mode;
  try {
    return await up(t, model);
  } finally {
    delete process.env.NETSIM_CONFIGURE;
  }
}

if (requireRoot(t)) {
  for (const [name, yaml] of [
    ['a switched LAN (two bridges, STP on one, a link down)', LAN],
    ['a routed lab with static routes (via, dev, metric, default)', ROUTED],
    ['dual stack (IPv6 addresses nodad, IPv6 routes, sysctls)', DUAL],
  ]) {
    t.test(`${name}: netlink and ip leave the same kernel state`, async (t) => {
      const byIp = modelFromYaml(yaml);
      const byNetlink = modelFromYaml(yaml);
      const ipSim = await upWith(t, byIp, 'ip');
      t.equal(ipSim.kernel.netlink, false, 'the first build runs ip');
      const nlSim = await upWith(t, byNetlink, 'netlink');
      t.equal(nlSim.kernel.netlink, true, 'the second sends netlink requests');
      // a bridge's operstate follows its ports when the kernel's link watcher gets to it
      let diffs: string[] = [];
      for (let i = 0; i < 20; i++) {
        diffs = stateDifferences(await kernelState(byIp), await kernelState(byNetlink));
        if (diffs.length === 0) break;
        await sleep(250);
      }
      t.same(diffs, [], 'addresses, links, routes of every node: no difference');
      t.equal((await nlSim.pingAll()).failed, 0, 'and the netlink-built lab passes its matrix');
    });
  }

  t.test('a request the kernel refuses names the namespace, the line and the error', async (t) => {
    const model = modelFromYaml(ROUTED);
    const sim = await upWith(t, model, 'netlink');
    const h1 = sim.node('h1');
    const ip = h1.ip ?? '';
    const plan = new Plan(sim.features);
    plan.script(h1.ns).ip.push('link set lo up', `addr add ${ip}/24 dev eth0`);
    await t.rejects(
      sim.apply(plan),
      {
        message: new RegExp(
          `\\[${h1.ns}\\] configuration.*RTNETLINK answers: File exists.*Command failed: addr add ${ip.replaceAll('.', '\\.')}/24 dev eth0`,
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
