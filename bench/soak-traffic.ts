// The chaos soak's traffic: flows that run in pods for the whole soak and leave one sample per
// request (time, answered or not) — pings (ping -D -O: every echo request is a line, answered
// or "no answer yet"), HTTP requests in a shell loop (curl, one every 0.2 s), and one long
// iperf3 stream (an interval line a second; an interval that carried nothing is a failure).
// Every process is started through the kernel layer (recorded in the ledger) and ended by its
// PID or by a stop file its loop looks for.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRunning, processStartTime } from '../src/kernel/proc.js';
import type { SimNode } from '../src/runtime/node.js';
import type { Simulation } from '../src/runtime/simulation.js';
import { sleep, waitFor } from '../src/util/wait.js';

export interface Sample {
  /** ms since the epoch */
  t: number;
  ok: boolean;
}

export type FlowKind = 'ping' | 'http' | 'iperf';

interface Proc {
  pid: number;
  start?: string;
  exited: Promise<number | null>;
  log: string;
}

/** One flow: its process (started again after a retarget, or when an iperf3 stream ends). */
export class Flow {
  private procs: Proc[] = [];
  private stopped = false;
  private serial = 0;
  /** times the flow's process ended on its own and was started again */
  restarts = 0;

  constructor(
    private readonly sim: Simulation,
    readonly name: string,
    readonly kind: FlowKind,
    readonly from: SimNode,
    private target: string,
    private readonly dir: string,
  ) {}

  get to(): string {
    return this.target;
  }

  start(): void {
    const log = join(this.dir, `${this.name}.${++this.serial}.log`);
    const stop = join(this.dir, `${this.name}.stop`);
    const line = commandLine(this.kind, this.target, stop);
    const p = this.sim.kernel.spawnTracked({ ns: this.from.ns, cmd: 'sh', args: ['-c', line], logFile: log });
    const proc: Proc = { pid: p.pid, start: processStartTime(p.pid), exited: p.exited, log };
    this.procs.push(proc);
    // an iperf3 stream that gave up (a long outage) starts again while the soak runs
    void p.exited.then(() => {
      if (this.stopped || this.procs.at(-1) !== proc) return;
      this.restarts++;
      writeFileSync(`${log}.ended`, String(Date.now()));
      setTimeout(() => {
        if (!this.stopped && this.procs.at(-1) === proc) this.start();
      }, 500);
    });
  }

  /** The target moved (a re-added peering remapped it): the flow goes on towards the new address. */
  async retarget(target: string): Promise<void> {
    if (target === this.target) return;
    const old = this.procs.at(-1);
    this.target = target;
    this.start();
    if (old) await this.end(old);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    writeFileSync(join(this.dir, `${this.name}.stop`), '');
    for (const p of this.procs) await this.end(p);
  }

  private async end(p: Proc): Promise<void> {
    // ping prints its summary on SIGINT; the HTTP loop ends at its stop file; iperf3 on SIGINT
    if (this.kind !== 'http' && isRunning(p.pid, p.start)) process.kill(p.pid, 'SIGINT');
    const t = setTimeout(() => {
      if (isRunning(p.pid, p.start)) process.kill(p.pid, 'SIGKILL');
    }, 5000);
    await p.exited;
    clearTimeout(t);
  }

  /** Every request so far, in time order. */
  samples(): Sample[] {
    const out: Sample[] = [];
    for (const p of this.procs) {
      const text = existsSync(p.log) ? readFileSync(p.log, 'utf8') : '';
      out.push(...parseSamples(this.kind, text));
      // an iperf3 stream that ended counts as failing until the next one carries data
      if (existsSync(`${p.log}.ended`))
        out.push({ t: Number(readFileSync(`${p.log}.ended`, 'utf8')), ok: false });
    }
    return out.sort((a, b) => a.t - b.t);
  }
}

function commandLine(kind: FlowKind, target: string, stop: string): string {
  switch (kind) {
    case 'ping':
      return `exec ping -D -O -n -i 0.2 -W 1 ${target}`;
    case 'http':
      return (
        `while [ ! -e '${stop}' ]; do s=$(date +%s%3N); ` +
        `if curl -sf -o /dev/null -m 2 http://${target}/; then echo "$s ok"; else echo "$s fail $?"; fi; ` +
        'sleep 0.2; done'
      );
    case 'iperf':
      // 20 Mbit/s: a steady stream that leaves the 2 CPUs to the rest
      return `exec iperf3 -c ${target} -t 86400 -i 1 -b 20M --forceflush --timestamps='%s '`;
  }
}

/** Samples from a flow's output (exported for the unit test). */
export function parseSamples(kind: FlowKind, text: string): Sample[] {
  const out: Sample[] = [];
  if (kind === 'ping') {
    const seen = new Map<number, Sample>();
    for (const m of text.matchAll(/^\[(\d+\.\d+)\] (.*icmp_seq=(\d+).*)$/gm)) {
      const seq = Number(m[3]);
      const ok = / bytes from /.test(m[2]);
      const s = seen.get(seq);
      if (!s) seen.set(seq, { t: Math.round(Number(m[1]) * 1000), ok });
      else if (ok) s.ok = true; // a late reply after "no answer yet"
    }
    out.push(...seen.values());
  } else if (kind === 'http') {
    for (const m of text.matchAll(/^(\d{13}) (ok|fail)/gm)) out.push({ t: Number(m[1]), ok: m[2] === 'ok' });
  } else {
    // "1765093012 [  5]   3.00-4.00   sec  2.38 MBytes  20.0 Mbits/sec  0  ..." (the sender's intervals)
    const re =
      /^(\d{10}) \[\s*\d+\]\s+[\d.]+-[\d.]+\s+sec\s+[\d.]+ \w?Bytes\s+([\d.]+) (\w?)bits\/sec(?!.*(sender|receiver))/gm;
    for (const m of text.matchAll(re)) {
      const scale = { '': 1, K: 1e3, M: 1e6, G: 1e9 }[m[3]] ?? 1;
      out.push({ t: Number(m[1]) * 1000, ok: Number(m[2]) * scale > 100_000 });
    }
  }
  return out.sort((a, b) => a.t - b.t);
}

/** A run of failed requests: from the first failure to the next answer. */
export interface Outage {
  from: number;
  to: number;
  lost: number;
}

export function outages(samples: Sample[]): Outage[] {
  const out: Outage[] = [];
  let cur: Outage | undefined;
  for (const s of samples) {
    if (!s.ok) {
      if (cur) cur.lost++;
      else cur = { from: s.t, to: s.t, lost: 1 };
    } else if (cur) {
      cur.to = s.t;
      out.push(cur);
      cur = undefined;
    }
  }
  if (cur) out.push({ ...cur, to: samples.at(-1)?.t ?? cur.from });
  return out;
}

/** The flows of the soak and what they need (an iperf3 server). */
export class Traffic {
  readonly flows: Flow[] = [];
  private server?: { pid: number; start?: string; exited: Promise<number | null> };
  readonly dir: string;

  constructor(private readonly sim: Simulation) {
    this.dir = join(sim.dir, 'soak');
    mkdirSync(this.dir, { recursive: true });
  }

  add(name: string, kind: FlowKind, from: SimNode, target: string): Flow {
    const f = new Flow(this.sim, name, kind, from, target, this.dir);
    this.flows.push(f);
    return f;
  }

  /** iperf3's server in `node`; resolves when it listens. */
  async iperfServer(node: SimNode): Promise<void> {
    const p = this.sim.kernel.spawnTracked({
      ns: node.ns,
      cmd: 'iperf3',
      args: ['-s', '-p', '5201'],
      logFile: join(this.dir, 'iperf3-server.log'),
    });
    this.server = { pid: p.pid, start: processStartTime(p.pid), exited: p.exited };
    await waitFor(async () => (await node.exec('ss -Hltn sport = :5201')).stdout.includes('5201'), {
      timeoutMs: 5000,
      what: 'iperf3 -s to listen',
    });
  }

  startAll(): void {
    for (const f of this.flows) f.start();
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.flows.map((f) => f.stop()));
    if (this.server && isRunning(this.server.pid, this.server.start))
      process.kill(this.server.pid, 'SIGTERM');
    await Promise.race([this.server?.exited, sleep(3000)]);
  }
}
