// `netsim up`: the process that owns a simulation, in the foreground until the REPL exits,
// the script ends, or SIGINT/SIGTERM (also what `netsim down` sends).
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { loadTopology } from '../../model/load.js';
import { loadPlugins } from '../../runtime/plugin.js';
import { Simulation } from '../../runtime/simulation.js';
import { serveControl, type WebFlags } from '../web/cli.js';
import { requireRoot } from './errors.js';

export interface UpOptions extends WebFlags {
  name?: string;
  repl: boolean;
  script?: string;
  quiet?: boolean;
  ipMapping?: string;
  /** a lab named by URL: its file in the repository; fetch it again */
  file?: string;
  refresh?: boolean;
}

export async function cmdUp(topology: string, opts: UpOptions): Promise<void> {
  requireRoot();
  const log = opts.quiet ? undefined : (l: string) => process.stderr.write(`${l}\n`);
  const { name: simName, ipMapping, file, refresh } = opts;
  const loaded = await loadTopology(topology, { simName, ipMapping, file, refresh });
  for (const n of loaded.notes ?? []) log?.(`note: ${n}`);
  // the features this topology's kinds need (a scenario's code may reach any: all of them)
  await loadPlugins(
    loaded.scenario ? undefined : new Set([...loaded.model.nodes.values()].map((n) => n.kind)),
  );
  let sim: Simulation | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (sim ? sim.down() : Promise.resolve()).then(() => undefined);
    return stopping;
  };
  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (!sim) {
      abort.abort();
      return;
    }
    log?.(`\n${sig}: tearing down ${sim.name}`);
    void stop().then(() => process.exit(sig === 'SIGINT' ? 130 : 0));
  };
  process.on('SIGTERM', onSignal);
  if (!opts.repl || opts.script) process.on('SIGINT', onSignal);
  sim = await Simulation.up(loaded.model, { log, source: loaded.file, signal: abort.signal });
  try {
    // other shells' `netsim web`; --web: the web view at once
    await serveControl(sim, opts, (l) => process.stderr.write(`${l}\n`));
    if (loaded.scenario?.ready) await loaded.scenario.ready(sim);
    if (opts.script) {
      const code = await runScript(sim, opts.script);
      await stop();
      process.exitCode = code;
      return;
    }
    if (!opts.repl) {
      log?.(
        `${sim.name} is up. From another shell: netsim exec <node> -- <cmd>, netsim check, netsim down ${sim.name}`,
      );
      // until SIGINT/SIGTERM (their handlers tear down and exit); the timer keeps Node alive
      setInterval(() => {}, 1 << 30);
      await new Promise<void>(() => {});
    }
    process.on('SIGINT', () => {}); // the REPL handles Ctrl-C itself
    printBanner(sim);
    await (await import('../repl/repl.js')).startRepl(sim);
    await stop();
  } catch (err) {
    await stop();
    throw err;
  }
}

function printBanner(sim: Simulation): void {
  const names = [...sim.nodes.keys()];
  const sample = names.filter((n) => sim.nodes.get(n)!.ip).slice(0, 2);
  process.stdout.write(
    `\n${sim.name}: ${names.length} nodes. Type help for the verbs, exit to tear down.\n` +
      (sample.length === 2 ? `  try:  ${sample[0]} ping -c1 ${sample[1]}     pingall     net\n` : ''),
  );
}

/** `--script FILE`: REPL lines one by one; exit status 1 if any line failed. */
async function runScript(sim: Simulation, file: string): Promise<number> {
  const lines = readFileSync(file, 'utf8').split('\n');
  const todo = lines.filter((l) => l.trim() && !l.trim().startsWith('#'));
  if (!todo.length) return 0;
  await loadPlugins(); // every feature's verbs
  const { Commands } = await import('../repl/commands.js');
  const { liveObjects, makeEvaluator } = await import('../repl/repl.js');
  const cmds = new Commands(sim, {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
  });
  cmds.evalJs = makeEvaluator(vm.createContext({ ...liveObjects(sim), console }));
  let failed = 0;
  for (const [i, line] of lines.entries()) {
    if (!line.trim() || line.trim().startsWith('#')) continue;
    process.stdout.write(`netsim> ${line}\n`);
    const code = await cmds.run(line);
    if (code !== 0) {
      failed++;
      process.stderr.write(`*** ${file}:${i + 1}: exit status ${code}\n`);
    }
  }
  return failed ? 1 : 0;
}
