// The floor's self-check: the same topology built once by netsim and once by the floor
// (bench/floor.py), and what each leaves in every node's namespaces compared: `ip -j addr`,
// `ip -j -d link`, `ip -j route`, the node's hostname (its UTS namespace) and the sysctls netsim
// writes. Fields that differ between any two builds by nature (MAC addresses and what derives
// from them, timers, netns ids, counters) are left out (bench/kernel-diff.ts, shared with the
// netlink test). A difference fails the benchmark: a floor that does less than netsim measures
// nothing.
import { NETNS_DIR, utsFile } from '../src/kernel/enter.js';
import type { Model } from '../src/model/model.js';
import { Simulation } from '../src/runtime/simulation.js';
import type { FloorProcess } from './floor.js';
import { floorSpec } from './floor.js';
import { normalize, stateDifferences } from './kernel-diff.js';
import { mustRun, sleep } from './measure.js';

const SYSCTLS = [
  'bridge/bridge-nf-call-iptables',
  'bridge/bridge-nf-call-ip6tables',
  'bridge/bridge-nf-call-arptables',
];

/** Each node's kernel state, by node name. */
async function snapshot(model: Model): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  const nodes = [...model.nodes.values()];
  const one = async (ns: string) => {
    const enter = `nsenter --net=${NETNS_DIR}/${ns}`;
    const script = [
      `ip -n ${ns} -j addr`,
      `ip -n ${ns} -j -d link`,
      `ip -n ${ns} -j route`,
      `nsenter --uts=${utsFile(ns)} hostname`,
      `${enter} sh -c 'for f in ${SYSCTLS.map((s) => `/proc/sys/net/${s}`).join(' ')}; do [ -e $f ] && cat $f || echo -; done' | paste -sd,`,
    ].join('\n');
    const lines = (await mustRun(['bash', '-e', '-s'], script)).trim().split('\n');
    return {
      addr: JSON.parse(lines[0]),
      link: JSON.parse(lines[1]),
      route: JSON.parse(lines[2]),
      hostname: lines[3],
      sysctls: lines[4],
    };
  };
  // a few at a time: the machine is shared
  for (let i = 0; i < nodes.length; i += 4) {
    const batch = nodes.slice(i, i + 4);
    const states = await Promise.all(batch.map((n) => one(n.ns)));
    for (const [j, n] of batch.entries()) out.set(n.name, normalize(states[j]));
  }
  return out;
}

/**
 * Builds `makeModel()` with netsim and with the floor side by side, compares, tears both down.
 * A difference is looked at again for up to 10 s: a bridge's operstate follows its ports when
 * the kernel's link watcher gets to it, which on a loaded machine (rtnl contended by other
 * builds) took more than 3 s for netsim's s1 of single,200 once; one that stays throws, listing
 * the first ones. Returns the number of nodes compared.
 */
export async function checkFloor(makeModel: () => Model, floor: FloorProcess): Promise<number> {
  const netsimModel = makeModel();
  const floorModel = makeModel();
  const spec = floorSpec(floorModel);
  const sim = await Simulation.up(netsimModel);
  try {
    await floor.request('build', spec);
    try {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const [netsimState, floorState] = [await snapshot(netsimModel), await snapshot(floorModel)];
        const diffs = stateDifferences(netsimState, floorState, ['netsim', 'floor']);
        if (diffs.length === 0) return netsimState.size;
        if (Date.now() > deadline)
          throw new Error(
            `the floor does not build what netsim builds (${diffs.length} differences):\n  ${diffs.slice(0, 20).join('\n  ')}`,
          );
        await sleep(300);
      }
    } finally {
      await floor.request('teardown', spec);
    }
  } finally {
    await sim.down();
  }
}
