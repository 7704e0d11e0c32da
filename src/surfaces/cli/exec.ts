// `netsim exec`: acting inside a running simulation from another shell,
// which knows it only through its state file.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnInSync, withNetnsEtc } from '../../kernel/enter.js';
import { simDir } from '../../runtime/paths.js';
import { type NodeState, pickRunning, type SimState } from '../../runtime/state.js';
import { ExitError, requireRoot } from './errors.js';
import { execMany, formatExec, selectNodes } from './exec-many.js';

/** A node by name, or a nested one (a pod) as `parent/name`. */
function findNode(state: SimState, ref: string): NodeState {
  const node = state.nodes.find((n) => n.name === ref || `${n.parent}/${n.name}` === ref);
  if (!node)
    throw new ExitError(
      `no node "${ref}" in ${state.name} (nodes: ${state.nodes.map((n) => n.name).join(', ')})`,
    );
  return node;
}

export interface ExecOptions {
  sim?: string;
  label?: string[];
  kind?: string[];
  format?: string;
}

/**
 * `netsim exec NODE [-- CMD]` (one node, its stdio inherited: a shell without a command), or on
 * several nodes: `netsim exec NODE... -- CMD`, `--label K=V`, `--kind KIND`. `args` are the
 * operands; `afterDash` how many of them came after `--` (the command), when there was one.
 */
export async function cmdExec(
  args: string[],
  opts: ExecOptions,
  afterDash: number | undefined,
): Promise<void> {
  requireRoot();
  if (opts.format !== undefined && opts.format !== 'json' && opts.format !== 'text')
    throw new ExitError(`--format: "${opts.format}" is not json or text`);
  const many = Boolean(opts.label?.length || opts.kind?.length || opts.format);
  const nodes = afterDash === undefined ? args.slice(0, 1) : args.slice(0, args.length - afterDash);
  const cmd = args.slice(nodes.length);
  if (!many && nodes.length === 1) return execOne(nodes[0], cmd, opts);
  if (nodes.length === 0 && !many) throw new ExitError('exec: name a node (or --label KEY=VAL, --kind KIND)');
  if (cmd.length === 0) throw new ExitError('exec on several nodes needs a command (after --)');
  const state = pickRunning(opts.sim);
  const results = await execMany(
    state,
    selectNodes(state, { nodes, label: opts.label, kind: opts.kind }),
    cmd,
  );
  process.stdout.write(
    opts.format === 'json' ? `${JSON.stringify(results, null, 1)}\n` : formatExec(results),
  );
  process.exitCode = results.some((r) => r.exitCode !== 0) ? 1 : 0;
}

function execOne(node: string, cmd: string[], opts: { sim?: string }): void {
  const state = pickRunning(opts.sim);
  const n = findNode(state, node);
  const argv = cmd.length
    ? cmd
    : [process.env.SHELL && existsSync(process.env.SHELL) ? process.env.SHELL : 'sh'];
  // a router running FRR has its own vtysh wrapper (its daemons' sockets) first on the PATH
  const bin = join(simDir(state.name), 'nodes', n.name, 'bin');
  const path = existsSync(bin) ? `${bin}:${process.env.PATH ?? ''}` : process.env.PATH;
  const res = spawnInSync(n.ns, withNetnsEtc(n.ns, argv), {
    stdio: 'inherit',
    env: { ...process.env, PATH: path, NETSIM_NODE: n.name, PS1: `${n.name}# ` },
  });
  if (res.error) throw new ExitError(res.error.message);
  process.exitCode = res.status ?? 1;
}

/** How many operands of the command came after a `--` on its command line (undefined: none). */
export function operandsAfterDash(cmd: { parent: unknown; name(): string }): number | undefined {
  // commander keeps the command line it parsed on the program (rawArgs), not in its typings
  const raw = (cmd.parent as { rawArgs?: string[] } | null)?.rawArgs ?? [];
  const at = raw.indexOf(cmd.name());
  const dash = raw.indexOf('--', at + 1);
  return at < 0 || dash < 0 ? undefined : raw.length - dash - 1;
}
