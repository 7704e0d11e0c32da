// The floor: the same network built by hand with the fewest processes a shell script needs.
// One `ip -batch` for the namespaces, one for the veths (both ends created inside their
// namespaces), then one `nsenter ... ip -batch -` per namespace, in sequence; teardown is one
// `ip -batch` of `netns del`. Only hosts and switches (the benchmark's topologies).
import { existsSync } from 'node:fs';
import type { Model } from '../src/model/model.js';
import { formatIp } from '../src/util/ipv4.js';
import { mustRun, runProc, timed } from './measure.js';

export function floorScripts(model: Model): { build: string; teardown: string; namespaces: string[] } {
  const nodes = [...model.nodes.values()];
  const namespaces = nodes.map((n) => n.ns);
  const heredoc = (cmd: string, lines: string[]) => `${cmd} <<'EOF'\n${lines.join('\n')}\nEOF`;
  const build: string[] = ['set -e'];
  build.push(
    heredoc(
      'ip -batch -',
      namespaces.map((ns) => `netns add ${ns}`),
    ),
  );
  build.push(
    heredoc(
      'ip -batch -',
      model.links.map((l) => {
        const [a, b] = l.ends;
        const nsA = model.nodes.get(a.node)!.ns;
        const nsB = model.nodes.get(b.node)!.ns;
        return `link add ${a.name} netns ${nsA} type veth peer name ${b.name} netns ${nsB}`;
      }),
    ),
  );
  for (const node of nodes) {
    const lines = ['link set lo up'];
    if (node.kind === 'switch') {
      lines.push('link add br0 type bridge stp_state 0 forward_delay 0');
      for (const i of node.ifaces) lines.push(`link set ${i.name} master br0 up`);
      lines.push('link set br0 up');
    } else if (node.kind === 'host') {
      for (const i of node.ifaces) {
        if (i.addr) lines.push(`addr add ${formatIp(i.addr.ip)}/${i.addr.prefix} dev ${i.name}`);
        lines.push(`link set ${i.name} up`);
      }
    } else {
      throw new Error(`the ip-batch floor knows hosts and switches, not ${node.kind}`);
    }
    build.push(heredoc(`nsenter --net=/run/netns/${node.ns} ip -batch -`, lines));
  }
  const teardown = heredoc(
    'ip -batch -',
    namespaces.map((ns) => `netns del ${ns}`),
  );
  return { build: `${build.join('\n')}\n`, teardown: `${teardown}\n`, namespaces };
}

/** Seconds for build + teardown; the script text is generated before the clock starts. */
export async function runFloor(model: Model): Promise<{ seconds: number; build: number; teardown: number }> {
  const s = floorScripts(model);
  try {
    const build = await timed(async () => {
      await mustRun(['bash', '-s'], s.build);
    });
    const teardown = await timed(async () => {
      await mustRun(['bash', '-s'], s.teardown);
    });
    return { seconds: build + teardown, build, teardown };
  } finally {
    // after a failure half-way: whatever was made
    const left = s.namespaces.filter((ns) => existsSync(`/run/netns/${ns}`));
    if (left.length)
      await runProc(['ip', '-force', '-batch', '-'], left.map((ns) => `netns del ${ns}\n`).join(''));
  }
}
