// A process inside a namespace whose output is collected while it runs (`nft monitor trace`):
// entered through spawnIn like every other process, and recorded in the ledger by its caller
// (Kernel.monitor) so that teardown ends it if its owner dies before stopping it.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** NETLINK_NETFILTER's protocol number in /proc/PID/net/netlink. */
export const NETLINK_NETFILTER = 12;

export class MonitorProcess {
  private text = '';
  /** resolves once the process has exited and its output is closed */
  readonly closed: Promise<void>;

  constructor(
    readonly ns: string,
    private readonly child: ChildProcess,
  ) {
    this.closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
    child.on('error', () => {});
    child.stdout?.on('data', (d: Buffer) => {
      this.text += d.toString();
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Everything it has written to stdout so far. */
  get output(): string {
    return this.text;
  }

  /** The first child of the process (the command a `timeout` wrapper runs), once it exists. */
  childPid(): number | undefined {
    const pid = this.child.pid;
    try {
      const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
      return kids ? Number(kids.split(/\s+/)[0]) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * True once `pid` (default: the wrapped command, else the process itself) has a netlink
   * socket of this protocol subscribed to a multicast group: a monitor that is listening.
   */
  subscribed(protocol = NETLINK_NETFILTER, pid = this.childPid()): boolean {
    if (!pid) return false;
    try {
      const rows = readFileSync(`/proc/${pid}/net/netlink`, 'utf8').split('\n').slice(1);
      // sk Eth Pid Groups ...
      return rows.some((r) => {
        const f = r.trim().split(/\s+/);
        return f[1] === String(protocol) && Number(f[2]) === pid && Number.parseInt(f[3], 16) !== 0;
      });
    } catch {
      return false;
    }
  }

  /** SIGTERM, if it still runs; `closed` tells when it is gone. */
  terminate(): void {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
  }
}

/** Ends monitors together, waiting at most `graceMs` for them to close. */
export async function stopMonitors(monitors: MonitorProcess[], graceMs = 3000): Promise<void> {
  for (const m of monitors) m.terminate();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(monitors.map((m) => m.closed)),
    new Promise((r) => {
      timer = setTimeout(r, graceMs);
    }),
  ]);
  clearTimeout(timer);
}
