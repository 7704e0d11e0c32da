// Running a CNI plugin the way a container runtime does (libcni's ExecPlugin): the plugin's
// binary `<CNI_PATH>/<type>` with CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME and
// CNI_PATH in its environment and the network configuration as JSON on stdin; the result (or
// the CNI error object {code, msg, details}) as JSON on stdout. The plugin runs inside the
// namespace that plays the host (a worker): that is where it puts the bridge and the host end
// of the veth; it enters the container's namespace itself through the CNI_NETNS path.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NETNS_DIR } from './enter.js';
import { run } from './run.js';

/** Where Debian's containernetworking-plugins installs the reference plugins. */
export const DEFAULT_CNI_PATH = '/usr/lib/cni';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

export interface CniCall {
  command: CniCommand;
  /** the plugin's type: the binary's name in cniPath */
  type: string;
  containerId: string;
  /** the container's network namespace (its name under /run/netns) */
  netns: string;
  ifname: string;
  /** the network configuration given on stdin (with cniVersion, name, and prevResult when chained) */
  config: Record<string, unknown>;
  /** the namespace the plugin runs in: the container's host */
  hostNs?: string;
  cniPath?: string;
  /** CNI_ARGS (K8S_POD_NAME=...;K8S_POD_NAMESPACE=...) */
  args?: string;
}

/** What a call did, as a person debugging it would want to see: environment, stdin, result. */
export interface CniTrace {
  at: string;
  hostNs?: string;
  plugin: string;
  env: Record<string, string>;
  stdin: Record<string, unknown>;
  exitCode: number;
  result?: unknown;
  error?: { code: number; msg: string; details?: string };
  stderr?: string;
  ms: number;
}

/** A plugin's failure, from the CNI error object it printed. */
export class CniError extends Error {
  constructor(
    readonly plugin: string,
    readonly command: CniCommand,
    readonly code: number,
    readonly msg: string,
    readonly details = '',
    readonly trace?: CniTrace,
  ) {
    super(`CNI ${command} ${plugin}: ${msg}${details ? ` (${details})` : ''} [code ${code}]`);
    this.name = 'CniError';
  }
}

export function cniPluginAvailable(type: string, cniPath = DEFAULT_CNI_PATH): boolean {
  return existsSync(join(cniPath, type));
}

/** The CNI_* environment of a call. */
export function cniEnv(call: CniCall): Record<string, string> {
  const env: Record<string, string> = {
    CNI_COMMAND: call.command,
    CNI_CONTAINERID: call.containerId,
    CNI_NETNS: `${NETNS_DIR}/${call.netns}`,
    CNI_IFNAME: call.ifname,
    CNI_PATH: call.cniPath ?? DEFAULT_CNI_PATH,
  };
  if (call.args) env.CNI_ARGS = call.args;
  return env;
}

/**
 * Runs one plugin; resolves with its parsed result (undefined for DEL and CHECK, which print
 * nothing on success) and the trace of the call; throws a CniError carrying the trace.
 */
export async function execCni(call: CniCall): Promise<{ result: unknown; trace: CniTrace }> {
  const cniPath = call.cniPath ?? DEFAULT_CNI_PATH;
  const plugin = join(cniPath, call.type);
  const env = cniEnv(call);
  const started = Date.now();
  if (!existsSync(plugin))
    throw new CniError(
      call.type,
      call.command,
      1,
      `plugin ${plugin} not found`,
      'install the reference plugins (Debian: containernetworking-plugins)',
    );
  const res = await run(plugin, [], {
    ns: call.hostNs,
    env,
    input: JSON.stringify(call.config),
    check: false,
    timeoutMs: 30000,
  });
  const trace: CniTrace = {
    at: new Date(started).toISOString(),
    hostNs: call.hostNs,
    plugin,
    env,
    stdin: call.config,
    exitCode: res.exitCode,
    ms: Date.now() - started,
  };
  if (res.stderr.trim()) trace.stderr = res.stderr.trim();
  const out = res.stdout.trim();
  let parsed: unknown;
  try {
    parsed = out ? JSON.parse(out) : undefined;
  } catch {
    parsed = undefined;
  }
  if (res.exitCode !== 0) {
    const e = (parsed ?? {}) as { code?: number; msg?: string; details?: string };
    trace.error = {
      code: e.code ?? res.exitCode,
      msg: e.msg ?? (out || res.stderr.trim() || `exit ${res.exitCode}`),
      details: e.details,
    };
    throw new CniError(call.type, call.command, trace.error.code, trace.error.msg, e.details ?? '', trace);
  }
  if (out && parsed === undefined)
    throw new CniError(call.type, call.command, 999, `unparsable result: ${out.slice(0, 200)}`, '', trace);
  trace.result = parsed;
  return { result: parsed, trace };
}
