// Running a CNI plugin the way a container runtime does (libcni's ExecPlugin): the plugin's
// binary `<CNI_PATH>/<type>` with CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME and
// CNI_PATH in its environment and the network configuration as JSON on stdin; the result (or
// the CNI error object {code, msg, details}) as JSON on stdout. The plugin runs inside the
// namespace that plays the host (a worker): that is where it puts the bridge and the host end
// of the veth; it enters the container's namespace itself through the CNI_NETNS path.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inNamespace, NETNS_DIR, shellQuote } from './enter.js';
import { pool, run } from './run.js';
import { DEFAULT_SHELLS } from './shells.js';

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

const PID_MARK = 'NETSIM_CNI_PID';
const RC_MARK = 'NETSIM_CNI_RC';
/** A plugin call's time limit (libcni gives a plugin as long as its context allows; 30 s here). */
const CALL_TIMEOUT_MS = 30000;

type Outcome = { result: unknown; trace: CniTrace } | CniError;

/**
 * Runs many plugin calls at once, each exactly as execCni runs one (its environment, its
 * configuration on stdin, inside its host namespace), but started by one shell per host
 * namespace (a few at once) instead of one process spawned from Node per call: the shell
 * enters the host once and starts each plugin with its CNI_* variables set by the shell
 * itself, so a call costs the plugin's own processes (`bridge`, which execs `host-local`),
 * not `env` + `timeout` + `nsenter` as well. The calls of one host run one after the other, in
 * order; netsim enforces each call's time limit (the shell reports each plugin's pid). Each
 * call's outcome is its result or its CniError, in order.
 */
export async function execCniMany(
  calls: CniCall[],
  {
    shells: maxShells = DEFAULT_SHELLS,
    timeoutMs = CALL_TIMEOUT_MS,
  }: { shells?: number; timeoutMs?: number } = {},
): Promise<Outcome[]> {
  const out: (Outcome | undefined)[] = calls.map(missingPlugin);
  const dir = mkdtempSync(join(tmpdir(), 'netsim-cni-'));
  try {
    const byHost = new Map<string | undefined, number[]>();
    calls.forEach((call, i) => {
      if (out[i]) return;
      const list = byHost.get(call.hostNs) ?? [];
      list.push(i);
      byHost.set(call.hostNs, list);
    });
    const units = shellUnits([...byHost.values()], maxShells)
      .sort((a, b) => b.length - a.length) // longest first: the shells finish together
      .map((idx) => ({
        hostNs: calls[idx[0]].hostNs,
        idx,
      }));
    const ends = new Map<number, { rc: number; t0: number; t1: number; timedOut: boolean }>();
    await pool(units, maxShells, async (unit) => {
      const file = join(dir, `${unit.idx[0]}.sh`);
      writeFileSync(file, unit.idx.map((i) => callScript(calls[i], i, dir)).join('\n'));
      await runUnit(unit.hostNs, file, ends, timeoutMs);
    });
    calls.forEach((call, i) => {
      if (out[i]) return;
      const end = ends.get(i);
      const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : '');
      let stderr = read(`${i}.err`);
      if (!end) stderr += "(the plugin's shell ended before it did)";
      else if (end.timedOut) stderr += `(stopped by netsim after ${timeoutMs / 1000} s)`;
      const res = { stdout: read(`${i}.out`), stderr, exitCode: end ? end.rc : 1 };
      out[i] = interpret(call, res, end ? end.t0 : Date.now(), end ? Math.round(end.t1 - end.t0) : 0);
    });
    return out as Outcome[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The hosts' call lists cut into shell runs: one per host, and when there are fewer hosts than
 * shells the longest lists split (in order, at least 4 calls a piece) to keep the shells busy.
 */
function shellUnits(hosts: number[][], shells: number): number[][] {
  const total = hosts.reduce((n, h) => n + h.length, 0);
  if (hosts.length >= shells) return hosts;
  const piece = Math.max(4, Math.ceil(total / shells));
  return hosts.flatMap((h) =>
    Array.from({ length: Math.ceil(h.length / piece) }, (_, k) => h.slice(k * piece, (k + 1) * piece)),
  );
}

/** Shell lines for call i: the plugin in the background (its pid reported), waited for, timed. */
function callScript(call: CniCall, i: number, dir: string): string {
  const env = Object.entries(cniEnv(call)).map(([k, v]) => `${k}=${shellQuote(v)}`);
  const plugin = shellQuote(join(call.cniPath ?? DEFAULT_CNI_PATH, call.type));
  const f = (ext: string) => shellQuote(join(dir, `${i}.${ext}`));
  return [
    // $EPOCHREALTIME: bash's clock, read without starting a process
    't0=$EPOCHREALTIME',
    `${env.join(' ')} ${plugin} >${f('out')} 2>${f('err')} <<'NETSIM_CNI_JSON' &`,
    JSON.stringify(call.config),
    'NETSIM_CNI_JSON',
    `echo "${PID_MARK} ${i} $!"; wait $!`,
    `echo "${RC_MARK} ${i} $? $t0 $EPOCHREALTIME"`,
  ].join('\n');
}

/**
 * One shell inside host `ns` running a script of calls; each call's exit code and times read
 * from its marker lines as they come, and a call still running after timeoutMs stopped
 * (SIGTERM, as timeout(1) does) by the pid its shell reported.
 */
function runUnit(
  ns: string | undefined,
  file: string,
  ends: Map<number, { rc: number; t0: number; t1: number; timedOut: boolean }>,
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve) => {
    const [cmd, args] = inNamespace(ns, 'bash', [file], true);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    const timers = new Map<number, NodeJS.Timeout>();
    const timedOut = new Set<number>();
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        const [mark, a, b, c, d2] = line.split(' ');
        const i = Number(a);
        if (mark === PID_MARK) {
          const pid = Number(b);
          const timer = setTimeout(() => {
            timedOut.add(i);
            try {
              process.kill(pid, 'SIGTERM');
            } catch {
              // already gone
            }
          }, timeoutMs);
          timers.set(i, timer);
        } else if (mark === RC_MARK) {
          clearTimeout(timers.get(i));
          timers.delete(i);
          ends.set(i, {
            rc: Number(b),
            t0: Number(c) * 1000,
            t1: Number(d2) * 1000,
            timedOut: timedOut.has(i),
          });
        }
      }
    });
    child.on('error', () => undefined); // could not start: 'close' follows, the calls have no end
    child.on('close', () => {
      for (const t of timers.values()) clearTimeout(t);
      resolve();
    });
  });
}
