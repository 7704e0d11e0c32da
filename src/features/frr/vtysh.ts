// vtysh against one router's daemons, through the kernel layer. The typed views of what it
// prints live in show-ospf.ts, show-bgp.ts and show-route.ts (pure parsers).
import type { Kernel } from '../../kernel/kernel.js';

export class VtyshError extends Error {
  constructor(
    readonly router: string,
    readonly command: string,
    readonly output: string,
  ) {
    super(`${router}: vtysh -c "${command}": ${output.trim() || 'failed'}`);
    this.name = 'VtyshError';
  }
}

/** Where a router's daemons listen: an FrrInstance is one. */
export interface VtyshTarget {
  readonly kernel: Kernel;
  /** the router's name, for messages */
  readonly name: string;
  readonly ns: string;
  /** the directory holding the daemons' vty sockets */
  readonly dir: string;
}

/** Runs vtysh commands (each a -c) against the router's daemons; their output as FRR prints it. */
export async function vtysh(target: VtyshTarget, commands: string[]): Promise<string> {
  const args = ['--vty_socket', target.dir, '--config_dir', target.dir];
  for (const c of commands) args.push('-c', c);
  const res = await target.kernel.tool(target.ns, 'vtysh', args, { check: false, timeoutMs: 15000 });
  if (res.exitCode !== 0) throw new VtyshError(target.name, commands.join('" -c "'), res.stdout + res.stderr);
  return res.stdout;
}

/**
 * Several show commands in one vtysh run (-E echoes each command before its output), split
 * back into one text per command. vtysh stops at the first command whose daemon is down,
 * so callers only ask daemons that run.
 */
export async function vtyshSections(target: VtyshTarget, commands: string[]): Promise<Map<string, string>> {
  const args = ['--vty_socket', target.dir, '--config_dir', target.dir, '-E'];
  for (const c of commands) args.push('-c', c);
  const res = await target.kernel.tool(target.ns, 'vtysh', args, { check: false, timeoutMs: 15000 });
  if (res.exitCode !== 0) throw new VtyshError(target.name, commands.join('" -c "'), res.stdout + res.stderr);
  return splitSections(res.stdout, commands);
}

/** `vtysh -E` output -> command -> its output (each command is echoed as `<prompt># <command>`). */
export function splitSections(stdout: string, commands: string[]): Map<string, string> {
  const out = new Map<string, string>();
  let current: string | undefined;
  let buf: string[] = [];
  const flush = () => {
    if (current !== undefined) out.set(current, buf.join('\n'));
  };
  let next = 0;
  for (const line of stdout.split('\n')) {
    if (next < commands.length && line.endsWith(`# ${commands[next]}`)) {
      flush();
      current = commands[next++];
      buf = [];
    } else buf.push(line);
  }
  flush();
  return out;
}
