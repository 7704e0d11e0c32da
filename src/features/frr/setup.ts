// What a router's FRR runs: its frr.conf (a user's own file, never rewritten, or one rendered
// from intent) and the daemons to start. Worked out once at validation, where every problem
// becomes a located error, and reused when the router starts.
import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { IssueSink, Path } from '../../model/errors.js';
import type { Model, NodeModel } from '../../model/model.js';
import {
  type DaemonsFile,
  daemonInstalled,
  daemonLine,
  daemonsForConfig,
  parseDaemonsFile,
  readText,
} from './daemons.js';
import { needsBfd, renderConfig } from './render.js';
import type { FrrRouterSpec } from './spec.js';

export interface FrrSetup {
  /** frr.conf as the daemons read it */
  config: string;
  /** the user's frr.conf when the config is theirs */
  configFile?: string;
  daemonsFile?: string;
  daemons: DaemonsFile;
}

const setups = new WeakMap<NodeModel, FrrSetup>();

/** Does this router run FRR at all (a router without it is a static router)? */
export function hasFrr(node: NodeModel): boolean {
  const s = node.spec as FrrRouterSpec;
  return Boolean(s.ospf || s.bgp || s.frr);
}

/** Paths in a topology are relative to the topology file. */
export function topologyPath(model: Model, p: string): string {
  if (isAbsolute(p)) return p;
  const file = model.source.file;
  return resolve(isAbsolute(file) || existsSync(file) ? dirname(resolve(file)) : process.cwd(), p);
}

/** Validates and records the router's FRR setup; issues go to `sink`. */
export function checkFrr(node: NodeModel, model: Model, sink: IssueSink): void {
  const s = node.spec as FrrRouterSpec;
  if (!hasFrr(node)) return;
  const base: Path = ['nodes', node.name];
  const before = sink.issues.length;
  if (s.frr && (s.ospf || s.bgp)) {
    sink.add(
      [...base, 'frr'],
      'give either frr (your own frr.conf) or ospf/bgp (rendered by netsim), not both',
    );
    return;
  }
  let setup: FrrSetup | undefined;
  if (s.frr) setup = fromFiles(node, model, sink);
  else {
    const config = renderConfig(node, model, (path, message) => sink.add(path, message));
    const runs: DaemonsFile['runs'] = [
      { daemon: 'zebra', options: [] },
      { daemon: 'staticd', options: [] },
    ];
    if (s.ospf) runs.push({ daemon: 'ospfd', options: [] });
    if (s.bgp) runs.push({ daemon: 'bgpd', options: [] });
    if (needsBfd(node)) runs.push({ daemon: 'bfdd', options: [] });
    if (config) setup = { config, daemons: { runs } };
  }
  if (setup && sink.issues.length === before) {
    for (const r of setup.daemons.runs) {
      if (daemonInstalled(r.daemon)) continue;
      const line = setup.daemonsFile ? daemonLine(readText(setup.daemonsFile), r.daemon) : undefined;
      const message = `${r.daemon} is not installed (${r.daemon === 'zebra' ? 'apt-get install frr' : 'this FRR build has no such daemon'})`;
      if (line && setup.daemonsFile)
        sink.issues.push({
          path: [...base, 'frr', 'daemons'],
          message,
          pos: { file: setup.daemonsFile, line, col: 1 },
        });
      else sink.add(base, message);
    }
    setups.set(node, setup);
  }
}

function fromFiles(node: NodeModel, model: Model, sink: IssueSink): FrrSetup | undefined {
  const s = (node.spec as FrrRouterSpec).frr!;
  const base: Path = ['nodes', node.name, 'frr'];
  const readable = (field: 'config' | 'daemons', p: string): string | undefined => {
    const abs = topologyPath(model, p);
    if (!existsSync(abs)) {
      sink.add([...base, field], `${field === 'config' ? 'frr.conf' : 'daemons file'} not found: ${abs}`);
      return undefined;
    }
    if (!statSync(abs).isFile()) {
      sink.add([...base, field], `not a file: ${abs}`);
      return undefined;
    }
    try {
      readText(abs);
    } catch (err) {
      sink.add([...base, field], `cannot read ${abs}: ${(err as Error).message}`);
      return undefined;
    }
    return abs;
  };
  const configFile = readable('config', s.config);
  const daemonsFile = s.daemons !== undefined ? readable('daemons', s.daemons) : undefined;
  if (!configFile || (s.daemons !== undefined && !daemonsFile)) return undefined;
  const config = readText(configFile);
  let daemons: DaemonsFile;
  if (daemonsFile) {
    const parsed = parseDaemonsFile(readText(daemonsFile));
    for (const i of parsed.issues)
      sink.issues.push({
        path: [...base, 'daemons'],
        message: i.message,
        pos: { file: daemonsFile, line: i.line, col: 1 },
      });
    if (parsed.issues.length) return undefined;
    daemons = parsed.file;
  } else {
    daemons = { runs: daemonsForConfig(config).map((daemon) => ({ daemon, options: [] })) };
  }
  return { config, configFile, daemonsFile, daemons };
}

/** The setup recorded at validation (a model always passes through validate first). */
export function frrSetupOf(node: NodeModel): FrrSetup | undefined {
  return setups.get(node);
}
