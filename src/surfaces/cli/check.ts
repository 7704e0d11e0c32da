// `netsim check`: Mininet's pingall on a running simulation, from another shell (its state
// file). Several ping matrices, each node in one: the hosts (the pingable kinds that do not
// forward: hosts, Kubernetes workers, etcd members; with --all the routers too) and, for each
// cluster, its pods among themselves. Pods of different clusters are never paired: they reach
// each other only through a multi-cluster link, under other addresses (Liqo's remapped CIDRs),
// and the underlay does not route pod addresses. Addresses are the model's, or the kernel's
// for interfaces the model left without one (a lab's exec lines; see src/runtime/learned.ts).
import { kindOf } from '../../model/kinds/registry.js';
import { type MatrixResult, type PairResult, pingMatrix } from '../../runtime/ping.js';
import { type NodeState, pickRunning } from '../../runtime/state.js';
import { requireRoot } from './errors.js';

export const CHECK_DESCRIPTION =
  "ping matrix of a running simulation (Mininet's pingall): one between its hosts (the kinds that do not forward: host, worker, etcd) and one between the pods of each cluster (pods of different clusters are not paired); --all adds the routers to the hosts' matrix";

export interface CheckOptions {
  sim?: string;
  json?: boolean;
  timeout?: string;
  all?: boolean;
}

/** One matrix: its name (hosts, hosts+routers, pods:CLUSTER) and the nodes pinging each other. */
export interface CheckMatrix {
  name: string;
  nodes: NodeState[];
}

function firstIp(n: NodeState): string | undefined {
  return n.ifaces.find((i) => i.addr)?.addr?.split('/')[0];
}

/** The matrices `netsim check` pings, in the order it reports them. */
export function checkMatrices(nodes: NodeState[], all: boolean): CheckMatrix[] {
  const addressed = nodes.filter((n) => firstIp(n) !== undefined);
  const hosts = addressed.filter((n) => n.pingable && (all || !kindOf(n.kind, false)?.forwards));
  const pods = new Map<string, NodeState[]>();
  for (const p of addressed.filter((n) => n.kind === 'pod')) {
    const c = p.cluster ?? p.parent ?? '?';
    pods.set(c, [...(pods.get(c) ?? []), p]);
  }
  return [
    { name: all ? 'hosts+routers' : 'hosts', nodes: hosts },
    // by cluster name: pods reach the state file in the order their clusters came up
    ...[...pods]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([c, ps]) => ({
        name: `pods:${c}`,
        nodes: ps.sort((a, b) => a.name.localeCompare(b.name)),
      })),
  ].filter((m) => m.nodes.length > 0);
}

type Pinged = { matrix: CheckMatrix; res: MatrixResult };

function summary(res: { pairs: number; passed: number; failed: number }): string {
  return `${res.passed}/${res.pairs} pairs reachable, ${res.failed} failed`;
}

const kindsOf = (nodes: NodeState[]) => [...new Set(nodes.map((n) => n.kind))].sort().join(', ');

export async function cmdCheck(opts: CheckOptions): Promise<void> {
  requireRoot();
  const state = pickRunning(opts.sim);
  const matrices = checkMatrices(state.nodes, Boolean(opts.all));
  const timeoutMs = opts.timeout ? Number(opts.timeout) * 1000 : undefined;
  const t0 = Date.now();
  const pinged: Pinged[] = await Promise.all(
    matrices.map(async (matrix) => ({
      matrix,
      res: await pingMatrix(
        matrix.nodes.map((n) => ({ name: n.name, ns: n.ns, ip: firstIp(n)! })),
        { timeoutMs },
      ),
    })),
  );
  const results: (PairResult & { matrix: string })[] = pinged.flatMap(({ matrix, res }) =>
    res.results.map((r) => ({ ...r, matrix: matrix.name })),
  );
  const passed = results.filter((r) => r.ok).length;
  const total = { pairs: results.length, passed, failed: results.length - passed, ms: Date.now() - t0 };
  const checked = matrices.flatMap((m) => m.nodes);
  if (opts.json) {
    const json = {
      sim: state.name,
      scope: opts.all ? 'all' : 'hosts',
      nodes: matrices.flatMap((m) =>
        m.nodes.map((n) => ({
          name: n.name,
          kind: n.kind,
          ip: firstIp(n)!,
          matrix: m.name,
          ...(n.cluster ? { cluster: n.cluster } : {}),
        })),
      ),
      matrices: pinged.map(({ matrix, res }) => ({
        name: matrix.name,
        nodes: matrix.nodes.map((n) => n.name),
        pairs: res.pairs,
        passed: res.passed,
        failed: res.failed,
      })),
      ...total,
      results,
    };
    process.stdout.write(`${JSON.stringify(json, null, 1)}\n`);
  } else {
    for (const r of results.filter((x) => !x.ok))
      console.log(`FAIL ${r.src} -> ${r.dst} (${r.dstIp}) [${r.matrix}]`);
    if (pinged.length > 1)
      for (const { matrix, res } of pinged)
        console.log(
          `  ${matrix.name}: ${summary(res)}, between ${matrix.nodes.length} nodes (${kindsOf(matrix.nodes)})`,
        );
    console.log(
      `${state.name}: ${summary(total)}, between ${checked.length} nodes (${kindsOf(checked) || 'none'}${opts.all ? '' : '; routers left out: --all'}) (${(total.ms / 1000).toFixed(2)} s)`,
    );
  }
  process.exitCode = total.failed ? 1 : 0;
}
