// Driving the REPL in tests: its verbs in this process with their output captured (`repl`),
// or the interactive program under a real pseudo-terminal through tmux, keys in and screen
// text out (`Terminal`: line editing, Tab, Ctrl-C).
import { execFileSync } from 'node:child_process';
import type { Test } from 'tap';
import type { Simulation } from '../../src/runtime/simulation.js';
import { Commands } from '../../src/surfaces/repl/commands.js';
import { waitFor } from '../../src/util/wait.js';

export interface ReplRun {
  /** the line's exit status */
  code: number;
  /** what it printed on the REPL's output and error streams */
  out: string;
  err: string;
}

/** The REPL's verbs with their output captured; `run` gives each line's status and output. */
export function repl(sim: Simulation) {
  const io = { out: '', err: '' };
  const cmds = new Commands(sim, {
    out: (s) => {
      io.out += s;
    },
    err: (s) => {
      io.err += s;
    },
  });
  const run = async (line: string): Promise<ReplRun> => {
    const [o, e] = [io.out.length, io.err.length];
    const code = await cmds.run(line);
    return { code, out: io.out.slice(o), err: io.err.slice(e) };
  };
  return { cmds, io, run };
}

/** A program under a real pseudo-terminal, driven through tmux on a private socket. */
export class Terminal {
  private readonly socket: string;

  private constructor(name: string) {
    this.socket = `netsim-test-${name}`;
  }

  /** Starts `command` (a shell line) in a detached tmux session; the server is killed at teardown. */
  static start(t: Test, name: string, command: string): Terminal {
    const term = new Terminal(name);
    // no user config; keep the pane after the program exits so its last screen and status stay readable
    term.tmux(['-f', '/dev/null', 'new-session', '-d', '-s', 'main', '-x', '160', '-y', '50', command]);
    term.tmux(['set-option', '-t', 'main', 'remain-on-exit', 'on']);
    t.teardown(() => term.kill());
    return term;
  }

  private tmux(args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  /** Keys as tmux names them: literal text, or 'Enter', 'Tab', 'C-c', 'C-u'... */
  keys(...keys: string[]): void {
    this.tmux(['send-keys', '-t', 'main', ...keys]);
  }

  /** Text typed literally (no key-name lookup), then Enter. */
  line(text: string): void {
    this.tmux(['send-keys', '-t', 'main', '-l', text]);
    this.keys('Enter');
  }

  /** Everything on the screen and in its scrollback, wrapped lines joined. */
  screen(): string {
    return this.tmux(['capture-pane', '-p', '-J', '-t', 'main', '-S', '-5000']);
  }

  /** The text after the last occurrence of `marker` (what a command printed after being typed). */
  after(marker: string): string {
    const s = this.screen();
    const at = s.lastIndexOf(marker);
    return at < 0 ? '' : s.slice(at + marker.length);
  }

  async waitFor(what: string, test: (screen: string) => boolean, timeoutMs = 15000): Promise<string> {
    try {
      return await waitFor(
        () => {
          const s = this.screen();
          return test(s) ? s : undefined;
        },
        { what, timeoutMs },
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- screen ---\n${this.screen()}`);
    }
  }

  /** The program's exit status once it has exited, else undefined. */
  exitStatus(): number | undefined {
    const [dead, status] = this.tmux([
      'display-message',
      '-p',
      '-t',
      'main',
      '#{pane_dead} #{pane_dead_status}',
    ])
      .trim()
      .split(' ');
    return dead === '1' ? Number(status) : undefined;
  }

  /** Closes the terminal: the program gets SIGHUP, as when a terminal window is closed. */
  kill(): void {
    try {
      this.tmux(['kill-server']);
    } catch {
      /* already gone */
    }
  }
}
