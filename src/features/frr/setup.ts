// What a router's FRR runs: its frr.conf (a user's own file, never rewritten, or one rendered
// from intent) and the daemons to start. A function of the node and its model: validation
// calls it to turn every problem into a located error, and the router works it out again
// when it is created (a validated model has no problem left).
import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { IssueSink, type Path } from '../../model/errors.js';
import { hasFamily, type Model, type NodeModel } from '../../model/model.js';
import {
  type DaemonsFile,
  daemonInstalled,
  daemonLine,
  daemonsForConfig,
  type FrrSetup,
  parseDaemonsFile,
  readText,
} from './daemons.js';
import { needsBfd, needsOspf6, renderConfig } from './render.js';
import type { FrrRouterSpec } from './spec.js';

export type { FrrSetup } from './daemons.js';

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

/**
 * The router's FRR setup (undefined without FRR, or when it has problems: those go to
 * `sink`). Reads the user's files; checks nothing about the host.
 */
export function frrSetup(node: NodeModel, model: Model, sink: IssueSink): FrrSetup | undefined {
  const s = node.spec as FrrRouterSpec;
  if (!hasFrr(node)) return undefined;
  const before = sink.issues.length;
  if (s.frr && (s.ospf || s.bgp)) {
    sink.add(
      ['nodes', node.name, 'frr'],
      'give either frr (your own frr.conf) or ospf/bgp (rendered by netsim), not both',
    );
    return undefined;
  }
  const setup = s.frr ? fromFiles(node, model, sink) : fromIntent(node, model, sink);
  return sink.issues.length === before ? setup : undefined;
}

/** A rendered frr.conf and the daemons its intent needs. */
function fromIntent(node: NodeModel, model: Model, sink: IssueSink): FrrSetup | undefined {
  const s = node.spec as FrrRouterSpec;
  const config = renderConfig(node, model, (path, message) => sink.add(path, message));
  if (!config) return undefined;
  const runs: DaemonsFile['runs'] = [
    { daemon: 'zebra', options: [] },
    { daemon: 'staticd', options: [] },
  ];
  if (s.ospf && hasFamily(model, 4)) runs.push({ daemon: 'ospfd', options: [] });
  if (needsOspf6(node, model)) runs.push({ daemon: 'ospf6d', options: [] });
  if (s.bgp) runs.push({ daemon: 'bgpd', options: [] });
  if (needsBfd(node)) runs.push({ daemon: 'bfdd', options: [] });
  return { config, daemons: { runs } };
}

/** Validation: the router's FRR setup, and each daemon it runs installed on this host; issues go to `sink`. */
export function checkFrr(node: NodeModel, model: Model, sink: IssueSink): void {
  const setup = frrSetup(node, model, sink);
  if (setup) {
    const base: Path = ['nodes', node.name];
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

/**
 * The setup of a router in a validated model (undefined without FRR). Throws the located
 * problems if the model did not pass validation (or the user's files changed since).
 */
export function frrSetupOf(node: NodeModel, model: Model): FrrSetup | undefined {
  const sink = new IssueSink(model.source);
  const setup = frrSetup(node, model, sink);
  sink.throwIfAny();
  return setup;
}
