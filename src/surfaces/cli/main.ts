// The `netsim` command: its verbs, options and help, and how errors become exit statuses.
// `up` owns a simulation in the foreground (up.ts); the other verbs act on running
// simulations from any shell through their state directories (exec.ts, lifecycle.ts), or on
// topology files alone (topology.ts).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Command } from 'commander';
import { formatIssue, TopologyError } from '../../model/errors.js';
import type { CheckOptions } from './check.js';
import { ExitError, requireRoot, requireRootThen } from './errors.js';
import type { UpOptions } from './up.js';

// Start-up time is most of a short verb's time: only commander and these few lines load before
// the arguments are parsed. A verb's module (and what it imports) loads when that verb runs, and
// the features (node kinds, plugins) only for the verbs that read topologies or reach features.

/**
 * A verb's module, loaded when the verb runs; with `features`, the features' kinds and plugins
 * are registered first (the verbs that read topologies or reach a feature): 'kinds' registers
 * them with their code unloaded (builtin-kinds.ts; `up` loads what the topology uses).
 */
async function load<M>(module: () => Promise<M>, features: boolean | 'kinds' = true): Promise<M> {
  if (features === 'kinds') (await import('../../features/builtin-kinds.js')).registerBuiltinKinds();
  else if (features) (await import('../../features/index.js')).registerBuiltins();
  const m = await module();
  // a scenario file loaded from here on reports errors at its .ts lines; netsim's own modules
  // were loaded before, unmapped (reading their maps took a third of the start-up)
  process.setSourceMapsEnabled(true);
  return m;
}

/** The project root from dist/src/surfaces/cli (package.json, for --version). */
const PROJECT_ROOT = new URL('../../../../', import.meta.url);

const version = (): string =>
  JSON.parse(readFileSync(new URL('package.json', PROJECT_ROOT), 'utf8')).version as string;

/** commander, loaded when the arguments need parsing (not for `down NAME` or `--version`: quick()) */
const requireHere = createRequire(import.meta.url);
const commander = () => requireHere('commander') as typeof import('commander');

const CHECK_DESCRIPTION =
  "ping matrix of a running simulation (Mininet's pingall): one between its hosts (the kinds that do not forward: host, worker, etcd) and one between the pods of each cluster (pods of different clusters are not paired); --all adds the routers to the hosts' matrix; each IP family on its own (--family); a matrix of more than 20,000 pairs (142 nodes or more) is sampled, 1,000 random pairs, unless --full or --sample N";

// labs named by a URL (https://github.com/OWNER/REPO[/blob/BRANCH/FILE], file:///…): src/model/remote.ts
const URL_FILE = ['--file <path>', 'a lab named by a repository URL: its file in the repository'] as const;
const URL_REFRESH = [
  '--refresh',
  'a lab named by a URL: fetch it again (default: its cached clone)',
] as const;

export function program(): Command {
  const { Command, Option } = commander();
  const p = new Command('netsim')
    .description('Network simulator for Kubernetes networking, built from Linux network namespaces')
    .version(version())
    .showHelpAfterError()
    .enablePositionalOptions();
  p.command('up')
    .description('build a topology (YAML file, scenario file or scenario name) and open the REPL')
    .argument('[topology]', "topology file, scenario name, or a lab's URL (git repository)", 'default')
    .option('-n, --name <name>', 'simulation name (default: the topology name)')
    .option('--no-repl', 'stay in the foreground without a REPL until SIGINT/SIGTERM or netsim down')
    .option('-s, --script <file>', 'run REPL lines from a file, tear down, exit with their status')
    .option('-q, --quiet', 'no progress output')
    .option('--web', 'serve the live web view (and /metrics) on 127.0.0.1; prints its URL')
    .option('--web-bind <addr>', 'serve the web view on this address (not 127.0.0.1: a token is required)')
    .option('--web-port <port>', 'port of the web view (default: any free port)')
    .option('--web-token <token>', 'token the web view requires (default: generated when not on 127.0.0.1)')
    .option('--ip-mapping <file>', 'containerlab labs: address hosts from "<node> <cidr> <gateway>" lines')
    .option(...URL_FILE)
    .option(...URL_REFRESH)
    .action(async (topology: string, opts: UpOptions) => {
      await (await load(() => import('./up.js'), 'kinds')).cmdUp(topology, opts);
    });
  p.command('down')
    .description('tear down a running simulation (the only one, or the one named)')
    .argument('[name]')
    .option('-a, --all', 'every simulation')
    .action(async (name: string | undefined, opts: { all?: boolean }) =>
      (await load(() => import('./lifecycle.js'), false)).cmdDown(name, opts),
    );
  p.command('clean')
    .description('remove what crashed simulations left (namespaces, processes, files), and nothing else')
    .argument('[name]', 'only this simulation (stopped even if running)')
    .option('-a, --all', 'also running simulations and orphan netsim-* namespaces')
    .action(async (name: string | undefined, opts: { all?: boolean }) =>
      (await load(() => import('./lifecycle.js'), false)).cmdClean(name, opts),
    );
  p.command('exec')
    .description('run a command in a node of a running simulation (no command: a shell), or on several nodes')
    .argument('[args...]', 'node name(s) (worker/pod for pods), then -- and the command')
    .option('--sim <name>', 'simulation (default: the only one running)')
    .option('--label <key=value>', 'every node with this label (repeatable: all of them)', collect, [])
    .option(
      '--kind <kind>',
      'every node of this kind: host, router, switch, pod... (repeatable)',
      collect,
      [],
    )
    .option(
      '--format <format>',
      'several nodes: text (default) or json [{node, kind, exitCode, stdout, stderr}]',
    )
    .action(async (args: string[], opts, cmd: Command) => {
      const { cmdExec, operandsAfterDash } = await load(() => import('./exec.js'), false);
      await cmdExec(args, opts, operandsAfterDash(cmd));
    });
  p.command('save')
    .description("write every FRR router's running configuration to <dir>/<node>/frr.conf (clab save)")
    .option('--sim <name>', 'simulation (default: the only one running)')
    .option(
      '-o, --output <dir>',
      'directory (default: clab-<lab>/ next to a containerlab file, else netsim-<sim>/)',
    )
    .action(
      requireRootThen(async (opts) =>
        (await load(() => import('../../features/clab/save.js'))).cmdSave(opts),
      ),
    );
  const netem = p.command('tools').description("containerlab's tools").command('netem');
  netem.description('impairments on a node interface: rate (tbf), loss (nftables), delay/jitter (netem)');
  netem
    .command('set')
    .description('set what an interface has on its egress (what is not given is removed)')
    .requiredOption('-n, --node <node>', 'node')
    .requiredOption('-i, --interface <iface>', 'interface of the node')
    .option('--delay <duration>', 'delay (e.g. 10ms; needs sch_netem)')
    .option('--jitter <duration>', 'jitter with the delay (needs sch_netem)')
    .option('--loss <percent>', 'packet loss in percent')
    .option('--rate <rate>', 'rate (10mbit, or a number of kbit/s)')
    .option('--sim <name>', 'simulation (default: the only one running)')
    .action(
      requireRootThen(async (opts) =>
        (await load(() => import('../../features/clab/netem.js'))).cmdNetem('set', opts),
      ),
    );
  netem
    .command('show')
    .description('each interface of a node with its impairments')
    .requiredOption('-n, --node <node>', 'node')
    .option('--sim <name>', 'simulation (default: the only one running)')
    .action(
      requireRootThen(async (opts) =>
        (await load(() => import('../../features/clab/netem.js'))).cmdNetem('show', opts),
      ),
    );
  p.command('check')
    .description(CHECK_DESCRIPTION)
    .option('--sim <name>', 'simulation (default: the only one running)')
    .option('-a, --all', "add the routers to the hosts' matrix (their link addresses need not be announced)")
    .addOption(
      new Option(
        '--family <family>',
        'the IP families to ping, each on its own (default: those the nodes have addresses of)',
      ).choices(['4', '6', 'both']),
    )
    .option(
      '--json',
      'JSON output: {sim, scope, families, nodes: [{name, kind, ip, family, matrix}], matrices, pairs, passed, failed, rechecked?, results: [{src, dst, dstIp, ok, retried?, matrix, family}]}',
    )
    .option(
      '--recheck',
      "ping failed pairs again, more patiently, whatever happened meanwhile (default: only when the host's backlog queues dropped packets during the pass)",
    )
    .addOption(new Option('--timeout <seconds>', 'per-ping timeout'))
    .option('--sample <pairs>', 'ping this many random pairs of each matrix (the text lists them)')
    .option(
      '--seed <seed>',
      "the sample's seed (default: a fresh one, printed): the same seed, the same pairs",
    )
    .option('--full', 'every pair, however large the matrix (default: over 20,000 pairs, 1,000 sampled)')
    .action(async (opts: CheckOptions) => {
      await (await load(() => import('./check.js'))).cmdCheck(opts);
    });
  p.command('capture')
    .description(
      'capture packets in nodes of a running simulation (tcpdump; several interfaces or nodes: one pcapng, interfaces named node:iface)',
    )
    .argument(
      '<target>',
      'NODE, NODE:IFACE or NODE:IF1,IF2 (more NODE[:IFACE] words may follow, other nodes too)',
    )
    .argument('[filter...]', 'capture filter (pcap-filter syntax, e.g. icmp or udp port 8472)')
    .option('--sim <name>', 'simulation (default: the only one running)')
    .option('-w, --write <file>', 'write pcap (pcapng for several interfaces) to FILE, or - for stdout')
    .option('-c, --count <n>', 'stop after N packets (several nodes: N on each)')
    .option('--decode', 'print the packets through tshark, UDP 8472 decoded as VXLAN (inner pod packets)')
    .action(async (target: string, filter: string[], opts) =>
      (await load(() => import('./capture.js'), false)).cmdCapture(target, filter, opts),
    );
  p.command('peer')
    .description('Liqo-style peerings of the running clusters: add A B | remove A B | show | apply [A:B,...]')
    .argument(
      '[args...]',
      'add C0 C1, remove C0 C1, show, apply (default hub-and-spoke) or apply C0:C1,C0:C2',
    )
    .option('--sim <name>', 'simulation (default: the only one running)')
    .action(
      requireRootThen(async (args: string[], opts: { sim?: string }) =>
        (await load(() => import('../../features/multicluster/liqo/verbs.js'))).cmdPeer(args, opts),
      ),
    );
  for (const verb of ['apply', 'delete'] as const)
    p.command(verb)
      .description(
        verb === 'apply'
          ? 'apply Kubernetes manifests (Pod, Service, NetworkPolicy) to a cluster of a running simulation'
          : 'delete the objects Kubernetes manifests name from a cluster of a running simulation',
      )
      .requiredOption('-f, --filename <path...>', 'manifest file or directory (repeatable)')
      .option('--sim <name>', 'simulation (default: the only one running)')
      .option('--context <cluster>', 'cluster (default: the only one)')
      .action(
        requireRootThen(async (opts) =>
          (await load(() => import('../../features/k8s/manifests/cli.js'))).cmdManifests(verb, opts),
        ),
      );
  p.command('kubectl')
    .description(
      'kubectl-shaped views of a running cluster, read from its etcd (no kube-apiserver): get, describe, exec, logs',
    )
    .argument(
      '[args...]',
      '[--sim S] [--context CLUSTER] get pods|svc|ep|netpol|nodes|ns [-n NS|-A] [-l k=v] [-o wide|yaml|json] ...',
    )
    .helpOption(false)
    .allowUnknownOption()
    .passThroughOptions()
    .action(
      requireRootThen(async (args: string[]) =>
        (await load(() => import('../../features/k8s/kubectl/cli.js'))).cmdKubectl(args),
      ),
    );
  p.command('trace')
    .description('send a real probe in a running simulation and explain every hop it took')
    .argument('<src>', 'source node or pod')
    .argument(
      '<dst>',
      'node, pod, service (web, web.default) or IPv4/IPv6 address; dst:port, [ipv6]:port work too',
    )
    .argument('[port]', 'TCP port (default: a ping; a service: its first port)')
    .option('-6, --ipv6', 'probe over IPv6 (nodes and services by their IPv6 addresses)')
    .option('-4, --ipv4', 'probe over IPv4 (the default unless dst is an IPv6 address)')
    .option('--sim <name>', 'simulation (default: the only one running)')
    .option('--json', 'the trace as JSON')
    .option('--timeout <seconds>', 'how long the probe waits for an answer (default 2)')
    .action(
      requireRootThen(async (src: string, dst: string, port: string | undefined, opts) =>
        (await load(() => import('../../features/trace/cli.js'))).cmdTrace(src, dst, port, opts),
      ),
    );
  p.command('verify')
    .description('bring a topology up, check its expect: entries, tear it down; exit 1 naming a failed one')
    .argument('<topology>', 'topology file or scenario name')
    .option('-n, --name <name>', 'simulation name (default: the topology name)')
    .option('--json', 'the report as JSON')
    .option('--timeout <seconds>', 'how long to wait for convergence and each expectation (default 60)')
    .option('-q, --quiet', 'no progress output')
    .action(
      requireRootThen(async (topology: string, opts) =>
        (await load(() => import('../../features/trace/cli.js'))).cmdVerify(topology, opts),
      ),
    );
  p.command('ls')
    .description('list simulations')
    .option('--json')
    .action(async (opts: { json?: boolean }) =>
      (await load(() => import('./lifecycle.js'), false)).cmdLs(opts),
    );
  p.command('inspect')
    .description(
      'the nodes of a running simulation (kind, namespace, state, addresses, FRR daemons), as clab inspect',
    )
    .argument('[view]', '"interfaces": one row per interface (address, MAC, MTU, state, peer)')
    .option('--sim <name>', 'simulation (default: the only one running)')
    .option('-a, --all', 'every running simulation')
    .option('-f, --format <format>', 'table, json or csv', 'table')
    .option(
      '--node <names>',
      'only these nodes (repeatable, or a comma list)',
      (v: string, prev: string[] = []) => [...prev, ...v.split(',').filter(Boolean)],
    )
    .action(async (view: string | undefined, opts) => {
      await (await load(() => import('./inspect.js'))).cmdInspect(view, opts);
    });
  p.command('graph')
    .description(
      'draw a topology from its file alone, nothing built (as clab graph): Mermaid, draw.io or dot',
    )
    .argument('[topology]', 'topology file or scenario name')
    .option('--sim <name>', "a running simulation's topology")
    .option('--mermaid', 'Mermaid (graph LR)')
    .option('--drawio', 'draw.io XML (mxfile)')
    .option('--dot', 'Graphviz dot')
    .option('-o, --output <file>', 'write it here (default: standard output)')
    .action(async (topology: string | undefined, opts) => {
      await (await load(() => import('./inspect.js'))).cmdGraph(topology, opts);
    });
  p.command('web')
    .description("the URL of a running simulation's web view and /metrics (started if needed)")
    .argument('[name]', 'simulation (default: the only one running)')
    .option('--sim <name>', 'simulation (same as [name])')
    .option('--bind <addr>', 'address to serve on when starting it (default 127.0.0.1; others need a token)')
    .option('--port <port>', 'port when starting it (default: any free port)')
    .option('--token <token>', 'token to require (default: generated when not on 127.0.0.1)')
    .action(async (name, opts) => {
      requireRoot();
      await (await load(() => import('../web/cli.js'))).cmdWeb(name, opts);
    });
  p.command('validate')
    .description('check a topology without building it')
    .argument('<topology>')
    .option('--ip-mapping <file>', 'containerlab labs: address hosts from "<node> <cidr> <gateway>" lines')
    .option(...URL_FILE)
    .option(...URL_REFRESH)
    .action(async (topology: string, opts) => {
      await (await load(() => import('./topology.js'), 'kinds')).cmdValidate(topology, opts);
    });
  p.command('import')
    .description('convert a containerlab topology (.clab.yml) to a netsim topology (YAML)')
    .argument('<file>', 'the .clab.yml file, or its URL (git repository)')
    .option('-o, --output <file>', 'write the netsim topology here (default: standard output)')
    .option(
      '--ip-mapping <file>',
      'address hosts from "<node> <cidr> <gateway>" lines (default: found among binds)',
    )
    .option(...URL_FILE)
    .option(...URL_REFRESH)
    .action(async (file: string, opts) => {
      await (await load(() => import('./topology.js'))).cmdImport(file, opts);
    });
  p.command('export')
    .description('write a topology as a containerlab file (for containerlab or clabernetes)')
    .argument('<topology>', 'topology file or scenario name')
    .option('--clab', 'containerlab format')
    .option('-o, --output <file>', 'output file (default: <name>.clab.yml)')
    .action(async (topology: string, opts) => {
      await (await load(() => import('./topology.js'))).cmdExport(topology, opts);
    });
  p.command('scenarios')
    .description('list the bundled scenarios')
    .action(async () => (await load(() => import('./topology.js'), false)).cmdScenarios());
  return p;
}

const collect = (v: string, prev: string[]) => [...prev, v];

/**
 * The two commands whose whole process is short enough for commander's loading to show (a
 * fifth of `netsim down`'s, which a script runs right after its lab): answered as commander
 * would. Anything else (options, help, other verbs) goes through commander.
 */
async function quick(args: string[]): Promise<boolean> {
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    process.stdout.write(`${version()}\n`);
    return true;
  }
  if (args.length === 2 && args[0] === 'down' && !args[1].startsWith('-')) {
    await (await import('./lifecycle.js')).cmdDown(args[1], {});
    return true;
  }
  return false;
}

export async function main(argv: string[]): Promise<void> {
  try {
    if (await quick(argv.slice(2))) return;
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
