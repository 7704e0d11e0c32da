// A capture across several nodes (`netsim capture h1:eth1 r1:eth2 -w all.pcapng`, the REPL's
// `capture`): one capturing program per node, each inside its node's namespace and recorded in
// the simulation's ledger (teardown and `netsim clean` end it even if we are killed). With -w,
// each node's dumpcap writes a pcapng of its own; when all have ended, every interface is named
// `node:iface` (pcapng.ts) and mergecap merges the files by time into one. Without -w, each
// node's text lines are printed as they come, prefixed with the node's name.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ChildProcess, spawnIn } from '../kernel/enter.js';
import { Kernel } from '../kernel/kernel.js';
import { captureArgv } from './capture.js';
import { prefixInterfaceNames } from './pcapng.js';

export interface NodeCapture {
  node: string;
  ns: string;
  ifaces: string[];
}

export interface ManyOptions {
  filter: string[];
  /** the merged pcapng file, or '-' (then `sinks.pcap` receives it) */
  write?: string;
  /** packets per node */
  count?: number;
  decode?: boolean;
  /** where the per-node files are kept until merged (removed afterwards) */
  workDir: string;
}

export interface ManySinks {
  out(text: string): void;
  err(text: string): void;
  pcap?(data: Buffer): void;
}

/** What a capturing program prints once it listens (tcpdump, tshark, dumpcap). */
const LISTENING = /^(listening on|Capturing on)/m;

export class MultiCapture {
  /** the exit status: 0 when every capture ended cleanly (by its count or by stop()) */
  readonly done: Promise<number>;
  private readonly children: ChildProcess[] = [];
  private stopped = false;
  /** one capture failed (its program said why): the others were stopped, nothing merged */
  private failed = false;

  constructor(
    private readonly kernel: Kernel,
    private readonly parts: NodeCapture[],
    private readonly opts: ManyOptions,
    private readonly sinks: ManySinks,
  ) {
    this.done = this.runAll();
  }

  /** Ends every capture (SIGINT: each flushes its file); done resolves once merged. */
  stop(): void {
    this.stopped = true;
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGINT');
  }

  private file(p: NodeCapture): string {
    return join(this.opts.workDir, `${p.node.replace(/\//g, '_')}.pcapng`);
  }

  private argv(p: NodeCapture): string[] {
    const { filter, count, decode, write } = this.opts;
    if (!write) return captureArgv(p.ifaces, filter, { count, decode });
    const f = filter.length ? ['-f', filter.join(' ')] : [];
    const c = count !== undefined ? ['-c', String(count)] : [];
    return ['dumpcap', '-q', ...f, ...p.ifaces.flatMap((i) => ['-i', i]), '-w', this.file(p), ...c];
  }

  private async runAll(): Promise<number> {
    if (this.opts.write) {
      this.kernel.ledger.append([{ t: 'file', path: this.opts.workDir }]);
      mkdirSync(this.opts.workDir, { recursive: true });
    }
    const listening = new Set<string>();
    const ends = this.parts.map((p) => this.runOne(p, () => listening.add(p.node), listening));
    const codes = await Promise.all(ends);
    try {
      if (this.failed || codes.some((c) => c !== 0)) return 1;
      if (this.opts.write) await this.merge();
      return 0;
    } catch (e) {
      this.sinks.err(`capture: ${(e as Error).message}\n`);
      return 1;
    } finally {
      if (this.opts.write) rmSync(this.opts.workDir, { recursive: true, force: true });
    }
  }

  /** One node's capture: its lines prefixed; a failure ends the others. */
  private runOne(p: NodeCapture, onListening: () => void, listening: Set<string>): Promise<number> {
    const argv = this.argv(p);
    const child = spawnIn(p.ns, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.children.push(child);
    if (child.pid !== undefined) this.kernel.recordProcess(child.pid, p.ns, argv.join(' '));
    const prefixed = (sink: (s: string) => void) => {
      let partial = '';
      return (d: Buffer) => {
        const lines = (partial + d.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) sink(`${p.node}: ${l}\n`);
      };
    };
    let errText = '';
    child.stdout!.on(
      'data',
      prefixed((s) => this.sinks.out(s)),
    );
    const errLines = prefixed((s) => this.sinks.err(s));
    child.stderr!.on('data', (d: Buffer) => {
      errText += d.toString();
      errLines(d);
      if (!listening.has(p.node) && LISTENING.test(errText)) {
        onListening();
        if (listening.size === this.parts.length)
          this.sinks.err(
            `capture: listening on ${this.parts.flatMap((q) => q.ifaces.map((i) => `${q.node}:${i}`)).join(', ')}\n`,
          );
      }
    });
    return new Promise((resolve) => {
      child.on('error', (e) => {
        this.sinks.err(
          `capture: ${p.node}: ${argv[0]}: ${e.message} (bin/setup installs tcpdump and tshark)\n`,
        );
      });
      child.on('close', (code, signal) => {
        const clean = code === 0 || (this.stopped && (signal === 'SIGINT' || code === null));
        if (!clean && !this.stopped) {
          this.sinks.err(`capture: ${p.node}: ${argv[0]} ended (${code ?? signal}); stopping the others\n`);
          this.failed = true;
          this.stop();
        }
        resolve(clean ? 0 : 1);
      });
    });
  }

  /** Each node's interfaces named node:iface, then merged by time into one pcapng. */
  private async merge(): Promise<void> {
    const files = this.parts.map((p) => {
      const f = this.file(p);
      writeFileSync(f, prefixInterfaceNames(readFileSync(f), `${p.node}:`));
      return f;
    });
    const write = this.opts.write!;
    const out = write === '-' ? join(this.opts.workDir, 'merged.pcapng') : write;
    const res = await Kernel.tool(undefined, 'mergecap', ['-F', 'pcapng', '-w', out, ...files], {
      check: false,
    });
    if (res.exitCode !== 0) throw new Error(`mergecap: ${res.stderr.trim() || `exit ${res.exitCode}`}`);
    if (write === '-') this.sinks.pcap?.(readFileSync(out));
  }
}
