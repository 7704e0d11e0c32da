// `netsim exec` on several nodes at once, as `clab exec` does: the nodes named, or those with a
// label (--label KEY=VAL) or of a kind (--kind KIND); the command runs on all concurrently and
// each node's output is printed grouped under its name, with its exit code (or as JSON).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnIn, withNetnsEtc } from '../../kernel/enter.js';
import { simDir } from '../../runtime/paths.js';
import type { NodeState, SimState } from '../../runtime/state.js';
import { ExitError } from './errors.js';

export interface ExecResult {
  node: string;
  kind: string;
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface Selection {
  nodes: string[];
  label?: string[];
  kind?: string[];
}

/** The nodes a selection names: every named node must exist, and a selection that matches nothing is an error. */
export function selectNodes(state: SimState, sel: Selection): NodeState[] {
  const out = new Map<string, NodeState>();
  for (const ref of sel.nodes) {
    const n = state.nodes.find((x) => x.name === ref || `${x.parent}/${x.name}` === ref);
    if (!n)
      throw new ExitError(
        `no node "${ref}" in ${state.name} (nodes: ${state.nodes.map((x) => x.name).join(', ')})`,
      );
    out.set(n.name, n);
  }
  const labels = (sel.label ?? []).map((l) => {
    const i = l.indexOf('=');
    if (i <= 0) throw new ExitError(`--label: "${l}" is not KEY=VALUE`);
    return [l.slice(0, i), l.slice(i + 1)] as const;
  });
  const kinds = sel.kind ?? [];
  if (labels.length || kinds.length)
    for (const n of state.nodes) {
      if (kinds.length && !kinds.includes(n.kind)) continue;
      if (!labels.every(([k, v]) => n.labels?.[k] === v)) continue;
      out.set(n.name, n);
    }
  if (out.size === 0) {
    const what = [...kinds.map((k) => `kind ${k}`), ...labels.map(([k, v]) => `label ${k}=${v}`)];
    throw new ExitError(`no node of ${state.name} has ${what.join(' and ')}`);
  }
  return [...out.values()];
}

/** One command on one node, its output collected (a single argument runs through sh -c). */
function runOn(state: SimState, n: NodeState, cmd: string[]): Promise<ExecResult> {
  const argv = cmd.length === 1 ? ['sh', '-c', cmd[0]] : cmd;
  // a router running FRR has its own vtysh wrapper (its daemons' sockets) first on the PATH
  const bin = join(simDir(state.name), 'nodes', n.name, 'bin');
  const path = existsSync(bin) ? `${bin}:${process.env.PATH ?? ''}` : process.env.PATH;
  return new Promise((resolve) => {
    const child = spawnIn(n.ns, withNetnsEtc(n.ns, argv), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PATH: path, NETSIM_NODE: n.name },
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const done = (exitCode: number, extra = '') =>
      resolve({ node: n.name, kind: n.kind, exitCode, stdout, stderr: stderr + extra });
    child.on('error', (err) => done(127, `${err.message}\n`));
    child.on('close', (code, signal) => done(code ?? (signal ? 128 : 1)));
  });
}

export function execMany(state: SimState, nodes: NodeState[], cmd: string[]): Promise<ExecResult[]> {
  return Promise.all(nodes.map((n) => runOn(state, n, cmd)));
}

/** Each node's output under a header naming it, its kind and the exit code, as `clab exec` groups it. */
export function formatExec(results: ExecResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    out.push(`--- ${r.node} (${r.kind}): exit ${r.exitCode}`);
    if (r.stdout) out.push(r.stdout.replace(/\n$/, ''));
    if (r.stderr)
      out.push(
        ...r.stderr
          .replace(/\n$/, '')
          .split('\n')
          .map((l) => `stderr: ${l}`),
      );
  }
  const failed = results.filter((r) => r.exitCode !== 0);
  out.push(
    failed.length
      ? `${failed.length} of ${results.length} nodes failed: ${failed.map((r) => r.node).join(', ')}`
      : `${results.length} nodes: all exited 0`,
  );
  return `${out.join('\n')}\n`;
}
