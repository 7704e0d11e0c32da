// `netsim up --web` and `netsim web`: the `up` process answers on its control channel and
// starts the web server when asked; `netsim web` in any shell prints the running server's
// URL, asking the simulation's process to start it first when needed.

import { ControlServer, controlRequest } from '../../runtime/control.js';
import { loadPlugins } from '../../runtime/plugin.js';
import type { Simulation } from '../../runtime/simulation.js';
import { pickRunning } from '../../runtime/state.js';
import type { WebOptions } from './server.js';

export interface WebFlags {
  web?: boolean;
  webBind?: string;
  webPort?: string;
  webToken?: string;
}

export function parsePort(p: string | undefined): number | undefined {
  if (p === undefined) return undefined;
  const n = Number(p);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`--port: "${p}" is not a port number (0-65535)`);
  return n;
}

function webOptions(req: { bind?: unknown; port?: unknown; token?: unknown }): WebOptions {
  return {
    bind: typeof req.bind === 'string' && req.bind ? req.bind : undefined,
    port: typeof req.port === 'number' ? req.port : undefined,
    token: typeof req.token === 'string' && req.token ? req.token : undefined,
  };
}

async function startWeb(sim: Simulation, opts: WebOptions) {
  // the server (and prom-client) loads when first asked for, not with every `netsim up`;
  // it shows every feature's groups, details and metrics
  await loadPlugins();
  const { DEFAULT_BIND, runningWebServer, webServerOf } = await import('./server.js');
  const before = runningWebServer(sim);
  const web = await webServerOf(sim, opts);
  const wanted = opts.bind ?? DEFAULT_BIND;
  return {
    url: web.url,
    started: !before,
    bind: web.opts.bind,
    // asked for another address than the server already has: say so rather than guess
    note:
      before && wanted !== web.opts.bind
        ? `the web server already runs on ${web.opts.bind}; stop the simulation to serve elsewhere`
        : undefined,
  };
}

/** A feature's module for a request from another shell, every feature loaded first (as before). */
async function feature<M>(module: () => Promise<M>): Promise<M> {
  await loadPlugins();
  return module();
}

/**
 * In the `up` process: the control channel (other shells' `netsim web`) and, with --web,
 * the web server at once. Both end with the simulation.
 */
export async function serveControl(
  sim: Simulation,
  flags: WebFlags,
  log?: (l: string) => void,
): Promise<void> {
  try {
    const control = await ControlServer.listen(sim.name);
    control.handle('web', (req) => startWeb(sim, webOptions(req)));
    // `netsim trace` from another shell runs here, so an open web view draws the path too
    control.handle('trace', async (req) => {
      const { traceLive } = await feature(() => import('../../features/trace/live.js'));
      const r = await traceLive(sim, String(req.src), String(req.dst), {
        port: typeof req.port === 'number' ? req.port : undefined,
        family: req.family === 4 || req.family === 6 ? req.family : undefined,
        timeoutMs: typeof req.timeoutMs === 'number' ? req.timeoutMs : undefined,
      });
      return { trace: r };
    });
    // `netsim peer ...` from another shell (Liqo-style peerings of the live clusters)
    control.handle('peer', async (req) => {
      const { peerCommand } = await feature(() => import('../../features/multicluster/liqo/verbs.js'));
      return { text: await peerCommand(sim, Array.isArray(req.args) ? req.args.map(String) : []) };
    });
    // `netsim apply/delete -f ...` from another shell (Kubernetes manifests into a cluster)
    control.handle('manifests', async (req) =>
      (await feature(() => import('../../features/k8s/manifests/cli.js'))).manifestControl(sim, req),
    );
    // `netsim kubectl ...` from another shell: the REPL's kubectl, its output sent back
    control.handle('kubectl', async (req) =>
      (await feature(() => import('../../features/k8s/kubectl/run.js'))).kubectlCommand(
        sim,
        Array.isArray(req.args) ? req.args.map(String) : [],
      ),
    );
    // `netsim save` from another shell: every FRR router's running configuration
    control.handle('save', async () => ({
      configs: await (await feature(() => import('../../features/clab/save.js'))).runningConfigs(sim),
    }));
    // `netsim tools netem set|show` from another shell
    control.handle('netem', async (req) =>
      (await feature(() => import('../../features/clab/netem.js'))).netemControl(sim, req),
    );
    sim.events.on((e) => {
      if (e.type === 'down') control.close();
    });
  } catch (err) {
    // the simulation works without it; only `netsim web` from other shells does not
    log?.(`warning: no control channel (${(err as Error).message}): netsim web will not reach ${sim.name}`);
  }
  if (flags.web || flags.webBind || flags.webPort) {
    const r = await startWeb(sim, {
      bind: flags.webBind,
      port: parsePort(flags.webPort),
      token: flags.webToken,
    });
    log?.(`web view: ${r.url}`);
  }
}

/** `netsim web [name]`: the URL of the running simulation's web view (started if needed). */
export async function cmdWeb(
  name: string | undefined,
  opts: { sim?: string; bind?: string; port?: string; token?: string },
): Promise<void> {
  const state = pickRunning(name ?? opts.sim);
  const reply = await controlRequest(state.name, {
    op: 'web',
    bind: opts.bind,
    port: parsePort(opts.port),
    token: opts.token,
  });
  if (reply.note) process.stderr.write(`note: ${reply.note}\n`);
  if (reply.started) process.stderr.write(`started the web view of ${state.name} on ${reply.bind}\n`);
  process.stdout.write(`${reply.url}\n`);
}
