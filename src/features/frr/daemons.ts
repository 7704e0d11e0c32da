// FRR's daemons: which exist, how Debian's `daemons` file names them, and the command line
// that runs one inside a router's namespace with its own pathspace (pid, vty and zserv
// sockets in the router's directory, never /var/run/frr).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FRR_BIN_DIR = process.env.NETSIM_FRR_DIR ?? '/usr/lib/frr';

/** Every daemon name Debian's /etc/frr/daemons knows (FRR 8.4). */
export const FRR_DAEMONS = [
  'zebra',
  'staticd',
  'bgpd',
  'ospfd',
  'ospf6d',
  'ripd',
  'ripngd',
  'isisd',
  'pimd',
  'pim6d',
  'ldpd',
  'nhrpd',
  'eigrpd',
  'babeld',
  'sharpd',
  'pbrd',
  'bfdd',
  'fabricd',
  'vrrpd',
  'pathd',
] as const;
export type FrrDaemon = (typeof FRR_DAEMONS)[number];

/** Started whatever the daemons file says, as FRR's init script does. */
export const ALWAYS_STARTED: FrrDaemon[] = ['zebra', 'staticd'];

/** Settings of the daemons file that are not `<daemon>=yes|no` or `<daemon>_options`. */
const OTHER_SETTINGS = new Set([
  'vtysh_enable',
  'frr_global_options',
  'frr_profile',
  'watchfrr_options',
  'watchfrr_enable',
  'MAX_FDS',
  'FRR_NO_ROOT',
  'all_wrap',
  'valgrind_enable',
]);

export function isKnownDaemon(name: string): name is FrrDaemon {
  return (FRR_DAEMONS as readonly string[]).includes(name);
}

export function daemonInstalled(name: string): boolean {
  return existsSync(join(FRR_BIN_DIR, name));
}

/** One process to run: a daemon, or one instance of a multi-instance daemon (ospfd -n 2). */
export interface DaemonRun {
  daemon: FrrDaemon;
  instance?: number;
  /** extra options from the daemons file (<daemon>_options, frr_global_options) */
  options: string[];
}

export function runId(r: { daemon: string; instance?: number }): string {
  return r.instance === undefined ? r.daemon : `${r.daemon}-${r.instance}`;
}

/** What a daemons file asks for. */
export interface DaemonsFile {
  runs: DaemonRun[];
  profile?: string;
  maxFds?: number;
}

/** What a router's FRR runs: its frr.conf and daemons (worked out by setup.ts, run by instance.ts). */
export interface FrrSetup {
  /** frr.conf as the daemons read it */
  config: string;
  /** the user's frr.conf when the config is theirs */
  configFile?: string;
  daemonsFile?: string;
  daemons: DaemonsFile;
}

export interface DaemonsIssue {
  line: number;
  message: string;
}

/** Shell-like words of an option string: "-A 127.0.0.1 -M 'rpki'" -> [-A, 127.0.0.1, -M, rpki]. */
export function shellWords(s: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(s); m; m = re.exec(s)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

function unquote(v: string): string | undefined {
  const t = v.trim();
  if (/^"[^"]*"$/.test(t) || /^'[^']*'$/.test(t)) return t.slice(1, -1);
  if (/^[^\s"'`$;|&<>]*$/.test(t)) return t;
  return undefined;
}

/**
 * Parses Debian's daemons file (shell variable assignments), as FRR's init reads it. Honours
 * `<daemon>=yes|no`, `<daemon>_options`, `frr_global_options`, `ospfd_instances`, `frr_profile`
 * and `MAX_FDS`; the watchfrr/wrap/valgrind settings and any other variable (`mgmtd=no`,
 * `mgmtd_options` of FRR 9/10) are accepted and have no effect here. `<name>=yes` for a daemon
 * this FRR does not have is an error at its line.
 */
export function parseDaemonsFile(text: string): { file: DaemonsFile; issues: DaemonsIssue[] } {
  const issues: DaemonsIssue[] = [];
  const enabled = new Map<FrrDaemon, boolean>();
  const options = new Map<FrrDaemon, string[]>();
  const instances = new Map<FrrDaemon, { ids: number[]; line: number }>();
  let global: string[] = [];
  let profile: string | undefined;
  let maxFds: number | undefined;
  text.split('\n').forEach((raw, idx) => {
    const line = idx + 1;
    const s = raw.trim();
    if (!s || s.startsWith('#')) return;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(s);
    if (!m) {
      issues.push({ line, message: `expected name=value, got ${JSON.stringify(s)}` });
      return;
    }
    const [, key, rawValue] = m;
    const value = unquote(rawValue.replace(/\s+#.*$/, ''));
    // a value netsim cannot read in a variable it does not use is left alone, as FRR's init would
    if (value === undefined && !readsVariable(key)) return;
    if (value === undefined) {
      issues.push({ line, message: `${key}: cannot read the value ${rawValue.trim()} (use "..." quotes)` });
      return;
    }
    if (isKnownDaemon(key)) {
      if (value !== 'yes' && value !== 'no') {
        issues.push({ line, message: `${key}: expected yes or no, got ${JSON.stringify(value)}` });
        return;
      }
      enabled.set(key, value === 'yes');
      return;
    }
    const sub = /^([a-z0-9]+)_(options|wrap|instances)$/.exec(key);
    if (sub && !OTHER_SETTINGS.has(key) && sub[1] !== 'frr' && sub[1] !== 'all' && sub[1] !== 'watchfrr') {
      const [, daemon, what] = sub;
      // settings of a daemon this FRR does not know (mgmtd_options from FRR 9): FRR's init
      // only reads those of the daemons it starts, so they are kept unread
      if (!isKnownDaemon(daemon)) return;
      if (what === 'options') options.set(daemon, shellWords(value));
      else if (what === 'instances') {
        if (daemon !== 'ospfd') {
          issues.push({ line, message: `${key}: only ospfd runs several instances` });
          return;
        }
        const ids = value.split(/[\s,]+/).filter(Boolean);
        const bad = ids.find((i) => !/^\d+$/.test(i) || Number(i) < 1 || Number(i) > 65535);
        if (bad !== undefined || ids.length === 0) {
          issues.push({
            line,
            message: `${key}: instance ids are numbers from 1 to 65535, got ${JSON.stringify(value)}`,
          });
          return;
        }
        instances.set(daemon, { ids: [...new Set(ids.map(Number))], line });
      }
      return;
    }
    if (key === 'frr_global_options') global = shellWords(value);
    else if (key === 'frr_profile') {
      if (value !== 'traditional' && value !== 'datacenter') {
        issues.push({
          line,
          message: `frr_profile: expected traditional or datacenter, got ${JSON.stringify(value)}`,
        });
        return;
      }
      profile = value;
    } else if (key === 'MAX_FDS') {
      if (!/^\d+$/.test(value)) {
        issues.push({ line, message: `MAX_FDS: expected a number, got ${JSON.stringify(value)}` });
        return;
      }
      maxFds = Number(value);
    } else if (/^[a-z][a-z0-9]*$/.test(key) && value === 'yes') {
      // `mgmtd=no` from a newer FRR, or any other shell variable, is harmless (FRR's init reads
      // only what it knows); a daemon asked for that this FRR does not have cannot run
      issues.push({ line, message: notShipped(key) });
    }
  });
  for (const [daemon, { line }] of instances)
    if (enabled.get(daemon) !== true)
      issues.push({
        line,
        message: `${daemon}_instances is set but ${daemon} is not enabled (${daemon}=yes)`,
      });
  const runs: DaemonRun[] = [];
  for (const daemon of FRR_DAEMONS) {
    if (!ALWAYS_STARTED.includes(daemon) && enabled.get(daemon) !== true) continue;
    const opts = [...global, ...(options.get(daemon) ?? [])];
    const inst = instances.get(daemon);
    if (inst) for (const instance of inst.ids) runs.push({ daemon, instance, options: opts });
    else runs.push({ daemon, options: opts });
  }
  return { file: { runs, profile, maxFds }, issues };
}

/** Whether netsim uses a daemons-file variable (so its value must be readable). */
function readsVariable(key: string): boolean {
  if (isKnownDaemon(key) || ['frr_global_options', 'frr_profile', 'MAX_FDS'].includes(key)) return true;
  const sub = /^([a-z0-9]+)_(options|instances)$/.exec(key);
  return sub !== null && isKnownDaemon(sub[1]);
}

/** `foo=yes` for a daemon netsim does not run: what this FRR (FRR_BIN_DIR) ships instead. */
function notShipped(name: string): string {
  const shipped = FRR_DAEMONS.filter(daemonInstalled);
  return daemonInstalled(name)
    ? `${name}=yes: netsim does not run the daemon "${name}" (it runs ${FRR_DAEMONS.join(', ')})`
    : `${name}=yes: this FRR has no daemon "${name}" (${FRR_BIN_DIR} has ${shipped.join(', ')})`;
}

/** Line of `<daemon>=yes` in a daemons file (for "not installed" errors). */
export function daemonLine(text: string, daemon: string): number | undefined {
  const idx = text.split('\n').findIndex((l) => new RegExp(`^\\s*${daemon}(_instances)?=`).test(l));
  return idx >= 0 ? idx + 1 : undefined;
}

/** The daemons a frr.conf needs when no daemons file is given. */
export function daemonsForConfig(conf: string): FrrDaemon[] {
  const needs: FrrDaemon[] = [...ALWAYS_STARTED];
  const add = (d: FrrDaemon, re: RegExp) => {
    if (re.test(conf) && !needs.includes(d)) needs.push(d);
  };
  add('bgpd', /^router bgp\b/m);
  add('ospfd', /^router ospf(\s|$)/m);
  add('ospf6d', /^router ospf6\b|^\s+ipv6 ospf6 area\b/m);
  add('ripd', /^router rip(\s|$)/m);
  add('ripngd', /^router ripng\b/m);
  add('isisd', /^router isis\b/m);
  add('eigrpd', /^router eigrp\b/m);
  add('babeld', /^router babel\b/m);
  add('bfdd', /^bfd\s*$|^\s+(neighbor \S+ bfd|ip ospf bfd|ipv6 ospf6 bfd|bfd)\b/m);
  add('pbrd', /^pbr-map\b/m);
  add('vrrpd', /^\s+vrrp\b/m);
  add('pimd', /^\s+ip pim\b|^ip pim\b/m);
  return needs;
}

/** Where one router's FRR keeps its files (all in one directory owned by frr). */
export interface FrrPaths {
  dir: string;
  /** the integrated config, applied by `vtysh -b` once the daemons run */
  config: string;
  /** what each daemon reads at start: nothing (see daemonArgv) */
  empty: string;
  zserv: string;
}

export function frrPaths(dir: string): FrrPaths {
  return {
    dir,
    config: join(dir, 'frr.conf'),
    empty: join(dir, 'empty.conf'),
    zserv: join(dir, 'zserv.api'),
  };
}

/**
 * argv of one daemon, in the foreground (no -d) so the PID we spawn is the daemon's own.
 * Every path FRR would put under /var/run/frr is redirected into the router's directory;
 * `-P 0` turns off the TCP vty (vtysh uses the unix sockets). The daemon starts with an
 * empty config: the integrated frr.conf is then applied by `vtysh -b`, as FRR's own init
 * does, because a daemon reading the whole file itself drops out of config mode at the
 * `exit` that ends another daemon's block and ignores the rest.
 */
export function daemonArgv(run: DaemonRun, paths: FrrPaths, pathspace: string, file: DaemonsFile): string[] {
  const id = runId(run);
  // a daemons file's `--daemon`/`-d` would fork away from the PID netsim records and supervises
  const args = run.options.filter((o) => o !== '-d' && o !== '--daemon');
  if (file.profile) args.push('-F', file.profile);
  if (file.maxFds) args.push('--limit-fds', String(file.maxFds));
  if (run.instance !== undefined) args.push('-n', String(run.instance));
  args.push(
    '-N',
    pathspace,
    '-f',
    paths.empty,
    '-i',
    join(paths.dir, `${id}.pid`),
    '--vty_socket',
    paths.dir,
    '-z',
    paths.zserv,
    '-P',
    '0',
    '--log',
    `file:${join(paths.dir, `${id}.log`)}`,
  );
  if (run.daemon === 'bfdd') args.push('--bfdctl', join(paths.dir, 'bfdd.sock'));
  // ldpd puts ldpd.sock into the directory it is given
  if (run.daemon === 'ldpd') args.push('--ctl_socket', paths.dir);
  return [join(FRR_BIN_DIR, run.daemon), ...args];
}

/** The vty socket a running daemon listens on (how vtysh finds it). */
export function vtySocket(paths: FrrPaths, run: { daemon: string; instance?: number }): string {
  return join(paths.dir, `${runId(run)}.vty`);
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}
