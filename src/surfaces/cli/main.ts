// The `netsim` command. `up` owns a simulation in the foreground; the other verbs act on
// running simulations from any shell through their state directories.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import vm from 'node:vm';
import { Command, Option } from 'commander';
import { exportClab } from '../../features/clab/export.js';
import { importClabFile, netsimYaml } from '../../features/clab/import.js';
import { registerBuiltins } from '../../features/index.js';
import { cmdPeer } from '../../features/multicluster/liqo/verbs.js';
import { cmdTrace, cmdVerify } from '../../features/trace/cli.js';
import { Kernel } from '../../kernel/kernel.js';
import { isAlive, isZombie } from '../../kernel/proc.js';
import { NETNS_DIR } from '../../kernel/run.js';
import { formatIssue, TopologyError } from '../../model/errors.js';
import { loadTopology, PROJECT_ROOT } from '../../model/load.js';
import { simDir } from '../../runtime/paths.js';
import { pingMatrix } from '../../runtime/ping.js';
import { Simulation } from '../../runtime/simulation.js';
import { isRunning, listSimDirs, pickRunning, readState, type SimState } from '../../runtime/state.js';
import { teardownSim } from '../../runtime/teardown.js';
import { Commands } from '../repl/commands.js';
import { liveObjects, makeEvaluator, startRepl } from '../repl/repl.js';
import { cmdWeb, serveControl, type WebFlags } from '../web/cli.js';

class ExitError extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
  }
}

function requireRoot(): void {
  if (process.getuid?.() !== 0)
    throw new ExitError('netsim needs root (network namespaces): run it with sudo');
}

function requireRootThen<A extends unknown[]>(
  fn: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return (...args: A) => {
    requireRoot();
    return fn(...args);
  };
}

async function cmdUp(
  topology: string,
  opts: { name?: string; repl: boolean; script?: string; quiet?: boolean; ipMapping?: string } & WebFlags,
) {
  requireRoot();
  const log = opts.quiet ? undefined : (l: string) => process.stderr.write(`${l}\n`);
  const loaded = await loadTopology(topology, { simName: opts.name, ipMapping: opts.ipMapping });
  for (const n of loaded.notes ?? []) log?.(`note: ${n}`);
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
    await startRepl(sim);
    await stop();
  } catch (err) {
    await stop();
    throw err;
  }
}

function printBanner(sim: Simulation) {
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

async function waitGone(state: SimState, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isAlive(state.pid, state.pidStart) && !existsSync(simDir(state.name))) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function cmdDown(name: string | undefined, opts: { all?: boolean }) {
  requireRoot();
  const targets = opts.all
    ? listSimDirs()
        .map(readState)
        .filter((s): s is SimState => s !== undefined)
    : [name ? (readState(name) ?? notFound(name)) : pickRunning()];
  for (const s of targets) {
    if (isRunning(s)) {
      process.kill(s.pid, 'SIGTERM');
      if (await waitGone(s, 30000)) {
        console.log(`stopped ${s.name}`);
        continue;
      }
      console.error(`${s.name}: its process ${s.pid} did not finish teardown in 30 s; cleaning up`);
    }
    await teardownSim(s.name);
    console.log(`removed ${s.name}`);
  }
}

function notFound(name: string): never {
  throw new ExitError(`no simulation named "${name}" (see netsim ls)`);
}

async function cmdClean(name: string | undefined, opts: { all?: boolean }) {
  requireRoot();
  const names = name ? [name] : listSimDirs();
  let removed = 0;
  for (const n of names) {
    const s = readState(n);
    if (isRunning(s)) {
      if (!opts.all && !name) continue;
      process.kill(s!.pid, 'SIGKILL'); // its own teardown would race with ours
      const deadline = Date.now() + 2000;
      while (isAlive(s!.pid, s!.pidStart) && !isZombie(s!.pid) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
    }
    const rep = await teardownSim(n);
    removed++;
    console.log(`cleaned ${n}: ${rep.namespaces.length} namespaces, ${rep.processes.length} processes`);
  }
  if (opts.all) {
    // namespaces with our prefix that no ledger claims (e.g. a feature probe killed midway)
    const claimed = new Set(
      listSimDirs()
        .map(readState)
        .filter((s) => isRunning(s))
        .flatMap((s) => s!.nodes.map((x) => x.ns)),
    );
    const orphans = Kernel.listNamespaces().filter((n) => n.startsWith('netsim-') && !claimed.has(n));
    if (orphans.length) {
      for (const pid of Kernel.processesInNamespaces(new Set(orphans)))
        if (pid !== process.pid) process.kill(pid, 'SIGKILL');
      spawnSync('ip', ['-force', '-batch', '-'], { input: orphans.map((o) => `netns del ${o}`).join('\n') });
      console.log(`removed ${orphans.length} orphan netsim namespaces`);
    }
  }
  if (removed === 0 && !opts.all) console.log('nothing to clean');
}

function findNode(state: SimState, ref: string) {
  const node = state.nodes.find((n) => n.name === ref || `${n.parent}/${n.name}` === ref);
  if (!node)
    throw new ExitError(
      `no node "${ref}" in ${state.name} (nodes: ${state.nodes.map((n) => n.name).join(', ')})`,
    );
  return node;
}

function cmdExec(node: string, cmd: string[], opts: { sim?: string }) {
  requireRoot();
  const state = pickRunning(opts.sim);
  const n = findNode(state, node);
  const argv = cmd.length
    ? cmd
    : [process.env.SHELL && existsSync(process.env.SHELL) ? process.env.SHELL : 'sh'];
  // a router running FRR has its own vtysh wrapper (its daemons' sockets) first on the PATH
  const bin = join(simDir(state.name), 'nodes', n.name, 'bin');
  const path = existsSync(bin) ? `${bin}:${process.env.PATH ?? ''}` : process.env.PATH;
  const res = spawnSync('nsenter', [`--net=${NETNS_DIR}/${n.ns}`, '--', ...argv], {
    stdio: 'inherit',
    env: { ...process.env, PATH: path, NETSIM_NODE: n.name, PS1: `${n.name}# ` },
  });
  if (res.error) throw new ExitError(res.error.message);
  process.exitCode = res.status ?? 1;
}

async function cmdCheck(opts: { sim?: string; json?: boolean; timeout?: string }) {
  requireRoot();
  const state = pickRunning(opts.sim);
  const targets = state.nodes
    .filter((n) => n.pingable && n.ifaces.some((i) => i.addr))
    .map((n) => ({ name: n.name, ns: n.ns, ip: n.ifaces.find((i) => i.addr)!.addr!.split('/')[0] }));
  const res = await pingMatrix(targets, {
    timeoutMs: opts.timeout ? Number(opts.timeout) * 1000 : undefined,
  });
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ sim: state.name, ...res }, null, 1)}\n`);
  } else {
    for (const r of res.results.filter((x) => !x.ok)) console.log(`FAIL ${r.src} -> ${r.dst} (${r.dstIp})`);
    console.log(
      `${state.name}: ${res.passed}/${res.pairs} pairs reachable, ${res.failed} failed (${(res.ms / 1000).toFixed(2)} s)`,
    );
  }
  process.exitCode = res.failed ? 1 : 0;
}

function cmdLs(opts: { json?: boolean }) {
  const rows = listSimDirs().map((n) => {
    const s = readState(n);
    return {
      name: n,
      status: s ? (isRunning(s) ? s.status : 'crashed (run netsim clean)') : 'unknown',
      pid: s?.pid,
      nodes: s?.nodes.length ?? 0,
      source: s?.source ?? '',
    };
  });
  if (opts.json) return void process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
  if (rows.length === 0) return void console.log('no simulations');
  for (const r of rows)
    console.log(
      `${r.name.padEnd(16)} ${r.status.padEnd(10)} pid ${String(r.pid ?? '-').padEnd(8)} ${String(r.nodes).padStart(4)} nodes  ${r.source}`,
    );
}

async function cmdValidate(topology: string, opts: { ipMapping?: string }) {
  const { model, notes } = await loadTopology(topology, { ipMapping: opts.ipMapping });
  for (const n of notes ?? []) console.log(`note: ${n}`);
  console.log(
    `${model.name}: ${model.nodes.size} nodes, ${model.links.length} links, ${model.segments.length} subnets: valid`,
  );
}

/** `netsim import lab.clab.yml`: the netsim topology it becomes, as YAML. */
async function cmdImport(file: string, opts: { output?: string; ipMapping?: string }) {
  const imported = importClabFile(file, { ipMapping: opts.ipMapping });
  // validated like `up` would, so an import that prints is one that runs
  const { model } = await loadTopology(file, { ipMapping: opts.ipMapping });
  const out = opts.output ? resolve(opts.output) : undefined;
  const yaml = netsimYaml(imported.spec, out ? dirname(out) : undefined, file);
  if (out) writeFileSync(out, yaml);
  else process.stdout.write(yaml);
  for (const n of imported.notes) process.stderr.write(`note: ${n}\n`);
  process.stderr.write(
    `${model.name}: ${model.nodes.size} nodes, ${model.links.length} links${out ? ` -> ${out}` : ''}\n`,
  );
}

/** `netsim export --clab topology`: a containerlab file (and the FRR files it binds). */
async function cmdExport(topology: string, opts: { clab?: boolean; output?: string }) {
  if (!opts.clab) throw new ExitError('give the format: netsim export --clab <topology> [-o lab.clab.yml]');
  const { model } = await loadTopology(topology);
  const out = resolve(opts.output ?? `${model.name}.clab.yml`);
  const res = exportClab(model, out, { write: true });
  writeFileSync(out, res.yaml);
  for (const n of res.notes) process.stderr.write(`note: ${n}\n`);
  process.stderr.write(`wrote ${out}${res.files.length ? ` and ${res.files.length} FRR files` : ''}\n`);
}

function cmdScenarios() {
  const dir = `${PROJECT_ROOT}/scenarios`;
  for (const f of readdirSync(dir).sort()) {
    const m = /^(.+?)\.(ts|ya?ml)$/.exec(f);
    if (m) console.log(`${m[1].padEnd(20)} scenarios/${f}`);
  }
}

export function program(): Command {
  const p = new Command('netsim')
    .description('Network simulator for Kubernetes networking, built from Linux network namespaces')
    .version(JSON.parse(readFileSync(`${PROJECT_ROOT}/package.json`, 'utf8')).version)
    .showHelpAfterError();
  p.command('up')
    .description('build a topology (YAML file, scenario file or scenario name) and open the REPL')
    .argument('[topology]', 'topology file or scenario name', 'default')
    .option('-n, --name <name>', 'simulation name (default: the topology name)')
    .option('--no-repl', 'stay in the foreground without a REPL until SIGINT/SIGTERM or netsim down')
    .option('-s, --script <file>', 'run REPL lines from a file, tear down, exit with their status')
    .option('-q, --quiet', 'no progress output')
    .option('--web', 'serve the live web view (and /metrics) on 127.0.0.1; prints its URL')
    .option('--web-bind <addr>', 'serve the web view on this address (not 127.0.0.1: a token is required)')
    .option('--web-port <port>', 'port of the web view (default: any free port)')
    .option('--web-token <token>', 'token the web view requires (default: generated when not on 127.0.0.1)')
    .option('--ip-mapping <file>', 'containerlab labs: address hosts from "<node> <cidr> <gateway>" lines')
    .action(cmdUp);
  p.command('down')
    .description('tear down a running simulation (the only one, or the one named)')
    .argument('[name]')
    .option('-a, --all', 'every simulation')
    .action(cmdDown);
  p.command('clean')
    .description('remove what crashed simulations left (namespaces, processes, files), and nothing else')
    .argument('[name]', 'only this simulation (stopped even if running)')
    .option('-a, --all', 'also running simulations and orphan netsim-* namespaces')
    .action(cmdClean);
  p.command('exec')
    .description('run a command in a node of a running simulation (no command: a shell)')
    .argument('<node>', 'node name (worker/pod for pods)')
    .argument('[cmd...]', 'command and arguments, after --')
    .option('--sim <name>', 'simulation (default: the only one running)')
    .action(cmdExec);
  p.command('check')
    .description('ping matrix between all hosts of a running simulation')
    .option('--sim <name>', 'simulation (default: the only one running)')
    .option('--json', 'JSON output: {pairs, passed, failed, results}')
    .addOption(new Option('--timeout <seconds>', 'per-ping timeout'))
    .action(cmdCheck);
  p.command('peer')
    .description('Liqo-style peerings of the running clusters: add A B | remove A B | show | apply [A:B,...]')
    .argument(
      '[args...]',
      'add C0 C1, remove C0 C1, show, apply (default hub-and-spoke) or apply C0:C1,C0:C2',
    )
    .option('--sim <name>', 'simulation (default: the only one running)')
    .action(requireRootThen(cmdPeer));
  p.command('trace')
    .description('send a real probe in a running simulation and explain every hop it took')
    .argument('<src>', 'source node or pod')
    .argument('<dst>', 'node, pod, service (web, web.default) or IPv4 address; dst:port works too')
    .argument('[port]', 'TCP port (default: a ping; a service: its first port)')
    .option('--sim <name>', 'simulation (default: the only one running)')
    .option('--json', 'the trace as JSON')
    .option('--timeout <seconds>', 'how long the probe waits for an answer (default 2)')
    .action(requireRootThen(cmdTrace));
  p.command('verify')
    .description('bring a topology up, check its expect: entries, tear it down; exit 1 naming a failed one')
    .argument('<topology>', 'topology file or scenario name')
    .option('-n, --name <name>', 'simulation name (default: the topology name)')
    .option('--json', 'the report as JSON')
    .option('--timeout <seconds>', 'how long to wait for convergence and each expectation (default 60)')
    .option('-q, --quiet', 'no progress output')
    .action(requireRootThen(cmdVerify));
  p.command('ls').description('list simulations').option('--json').action(cmdLs);
  p.command('web')
    .description("the URL of a running simulation's web view and /metrics (started if needed)")
    .argument('[name]', 'simulation (default: the only one running)')
    .option('--sim <name>', 'simulation (same as [name])')
    .option('--bind <addr>', 'address to serve on when starting it (default 127.0.0.1; others need a token)')
    .option('--port <port>', 'port when starting it (default: any free port)')
    .option('--token <token>', 'token to require (default: generated when not on 127.0.0.1)')
    .action(async (name, opts) => {
      requireRoot();
      await cmdWeb(name, opts);
    });
  p.command('validate')
    .description('check a topology without building it')
    .argument('<topology>')
    .option('--ip-mapping <file>', 'containerlab labs: address hosts from "<node> <cidr> <gateway>" lines')
    .action(cmdValidate);
  p.command('import')
    .description('convert a containerlab topology (.clab.yml) to a netsim topology (YAML)')
    .argument('<file>', 'the .clab.yml file')
    .option('-o, --output <file>', 'write the netsim topology here (default: standard output)')
    .option(
      '--ip-mapping <file>',
      'address hosts from "<node> <cidr> <gateway>" lines (default: found among binds)',
    )
    .action(cmdImport);
  p.command('export')
    .description('write a topology as a containerlab file (for containerlab or clabernetes)')
    .argument('<topology>', 'topology file or scenario name')
    .option('--clab', 'containerlab format')
    .option('-o, --output <file>', 'output file (default: <name>.clab.yml)')
    .action(cmdExport);
  p.command('scenarios').description('list the bundled scenarios').action(cmdScenarios);
  return p;
}

export async function main(argv: string[]): Promise<void> {
  process.setSourceMapsEnabled(true);
  registerBuiltins();
  try {
    await program().parseAsync(argv);
  } catch (err) {
    if (err instanceof TopologyError) {
      for (const i of err.issues) process.stderr.write(`error: ${formatIssue(i)}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`error: ${(err as Error).message}\n`);
      process.exitCode = err instanceof ExitError ? err.code : 1;
    }
  }
}
