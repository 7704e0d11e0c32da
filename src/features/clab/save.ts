// `netsim save`, as `clab save`: every FRR router's running configuration written to
// <dir>/<node>/frr.conf. The running simulation's process asks its routers (vtysh through
// their daemons' sockets, control op "save"); the command writes the files. Default
// directory: for a containerlab lab, clab-<name>/ next to its file, as containerlab keeps its
// nodes' files; for another topology file, netsim-<sim>/ next to it; else ./netsim-<sim>/.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { controlRequest } from '../../runtime/control.js';
import type { Simulation } from '../../runtime/simulation.js';
import { pickRunning } from '../../runtime/state.js';
import { RouterNode } from '../frr/node.js';
import { labDirName, readClab } from './file.js';

/** In the simulation's process: node -> its running configuration as an frr.conf. */
export async function runningConfigs(sim: Simulation): Promise<Record<string, string>> {
  const routers = [...sim.nodes.values()].filter(
    (n): n is RouterNode => n instanceof RouterNode && n.frr !== undefined,
  );
  const texts = await Promise.all(routers.map((r) => r.vtysh('show running-config')));
  return Object.fromEntries(routers.map((r, i) => [r.name, asConfigFile(texts[i], r.name)]));
}

/**
 * `show running-config` without vtysh's banner ("Building configuration...", "Current
 * configuration:"), and with the node's hostname: the daemons share the machine's UTS
 * namespace, so FRR reports the machine's name where the router's own belongs.
 */
export function asConfigFile(text: string, node: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('Current configuration:'));
  const body = (start >= 0 ? lines.slice(start + 1) : lines)
    .map((l) => (l.startsWith('hostname ') ? `hostname ${node}` : l))
    .join('\n')
    .trim();
  return `${body}\n`;
}

/** Where `netsim save` writes without -o (see the header). */
export function defaultSaveDir(source: string, sim: string): string {
  if (/\.clab\.ya?ml$/.test(source) && existsSync(source)) {
    const lab = readClab(source);
    return join(dirname(source), labDirName(lab.name, lab.raw.prefix));
  }
  if (/\.ya?ml$/.test(source) && existsSync(source)) return join(dirname(source), `netsim-${sim}`);
  return join(process.cwd(), `netsim-${sim}`);
}

export async function cmdSave(opts: { sim?: string; output?: string }): Promise<void> {
  const state = pickRunning(opts.sim);
  const reply = await controlRequest(state.name, { op: 'save' }, 60000);
  const configs = reply.configs as Record<string, string>;
  const names = Object.keys(configs);
  if (names.length === 0) throw new Error(`${state.name} has no FRR router: nothing to save`);
  const dir = opts.output ?? defaultSaveDir(state.source, state.name);
  for (const node of names) {
    const file = join(dir, node, 'frr.conf');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, configs[node]);
    const shown = relative(process.cwd(), file);
    process.stdout.write(`saved ${node}: ${shown.startsWith('..') ? file : shown}\n`);
  }
}
