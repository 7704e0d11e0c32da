// Running a CNI plugin the way a container runtime does (libcni's ExecPlugin): the plugin's
// binary `<CNI_PATH>/<type>` with CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME and
// CNI_PATH in its environment and the network configuration as JSON on stdin; the result (or
// the CNI error object {code, msg, details}) as JSON on stdout. The plugin runs inside the
// namespace that plays the host (a worker): that is where it puts the bridge and the host end
// of the veth; it enters the container's namespace itself through the CNI_NETNS path.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inNamespace, NETNS_DIR, shellQuote } from './enter.js';
import { run } from './run.js';
import { runShellJobs, type ShellJob } from './shells.js';

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
  const missing = missingPlugin(call);
  if (missing) throw missing;
  const started = Date.now();
  const res = await run(join(call.cniPath ?? DEFAULT_CNI_PATH, call.type), [], {
    ns: call.hostNs,
    env: cniEnv(call),
    input: JSON.stringify(call.config),
    check: false,
    timeoutMs: 30000,
  });
  const outcome = interpret(call, res, started, Date.now() - started);
  if (outcome instanceof CniError) throw outcome;
  return outcome;
}

/** The error for a plugin whose binary is not there, or undefined. */
function missingPlugin(call: CniCall): CniError | undefined {
  const plugin = join(call.cniPath ?? DEFAULT_CNI_PATH, call.type);
  if (existsSync(plugin)) return undefined;
  return new CniError(
    call.type,
    call.command,
    1,
    `plugin ${plugin} not found`,
    'install the reference plugins (Debian: containernetworking-plugins)',
  );
}

/** A finished plugin process read as libcni reads it: its result, or its CNI error object. */
function interpret(
  call: CniCall,
  res: { stdout: string; stderr: string; exitCode: number },
  started: number,
  ms: number,
): { result: unknown; trace: CniTrace } | CniError {
  const trace: CniTrace = {
    at: new Date(started).toISOString(),
    hostNs: call.hostNs,
    plugin: join(call.cniPath ?? DEFAULT_CNI_PATH, call.type),
    env: cniEnv(call),
    stdin: call.config,
    exitCode: res.exitCode,
    ms,
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
    return new CniError(call.type, call.command, trace.error.code, trace.error.msg, e.details ?? '', trace);
  }
  if (out && parsed === undefined)
    return new CniError(call.type, call.command, 999, `unparsable result: ${out.slice(0, 200)}`, '', trace);
  trace.result = parsed;
  return { result: parsed, trace };
}

const RC_MARK = 'NETSIM_CNI_RC';

/**
 * Runs many plugin calls at once, each exactly as execCni runs one (its environment, its
 * configuration on stdin, inside its host namespace), but started by a few shells instead of
 * one process spawned from Node per call: hundreds of pods made at once then cost the plugins'
 * own work, not Node's. Each call's outcome is its result or its CniError, in order.
 */
export async function execCniMany(
  calls: CniCall[],
): Promise<({ result: unknown; trace: CniTrace } | CniError)[]> {
  const out: ({ result: unknown; trace: CniTrace } | CniError | undefined)[] = calls.map(missingPlugin);
  const dir = mkdtempSync(join(tmpdir(), 'netsim-cni-'));
  try {
    const jobs: ShellJob[] = [];
    calls.forEach((call, i) => {
      if (out[i]) return;
      const env = Object.entries(cniEnv(call)).map(([k, v]) => `${k}=${shellQuote(v)}`);
      const [file, args] = inNamespace(
        call.hostNs,
        join(call.cniPath ?? DEFAULT_CNI_PATH, call.type),
        [],
        true,
      );
      const cmd = [file, ...args].map(shellQuote).join(' ');
      jobs.push({
        ns: `cni${i}`,
        // $EPOCHREALTIME: bash's clock, read without starting a process
        text: [
          't0=$EPOCHREALTIME',
          `env ${env.join(' ')} timeout 30 ${cmd} 2>${shellQuote(join(dir, `${i}.err`))} <<'NETSIM_CNI_JSON'`,
          JSON.stringify(call.config),
          'NETSIM_CNI_JSON',
          // on a line of its own: a plugin's JSON need not end with a newline
          `rc=$?; printf '\\n${RC_MARK} %s %s %s\\n' "$rc" "$t0" "$EPOCHREALTIME"`,
        ].join('\n'),
        cost: 60,
      });
    });
    const outputs = await runShellJobs(jobs);
    calls.forEach((call, i) => {
      if (out[i]) return;
      const lines = (outputs.get(`cni${i}`) ?? '').split('\n');
      let at = lines.length - 1;
      while (at >= 0 && !lines[at].startsWith(`${RC_MARK} `)) at--;
      const [, rc, t0, t1] = at >= 0 ? lines[at].split(' ') : [];
      const errFile = join(dir, `${i}.err`);
      const stderr = existsSync(errFile) ? readFileSync(errFile, 'utf8') : '';
      const res = {
        stdout: lines.slice(0, Math.max(at, 0)).join('\n'),
        stderr: at >= 0 ? stderr : `${stderr}(the plugin's shell ended before it did)`,
        exitCode: at >= 0 ? Number(rc) : 1,
      };
      const started = t0 ? Number(t0) * 1000 : Date.now();
      out[i] = interpret(call, res, started, t1 ? Math.round((Number(t1) - Number(t0)) * 1000) : 0);
    });
    return out as ({ result: unknown; trace: CniTrace } | CniError)[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
