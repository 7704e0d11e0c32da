// The control channel of a running simulation: a Unix socket in its state directory
// (/run/netsim/sims/<sim>/control.sock, root only) on which the `netsim up` process answers
// requests from other shells, one JSON line each way: {"op": "web", ...} -> {"ok": true, ...}.
// `netsim web` uses it to have the simulation's own process start its web server.
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { simDir } from './paths.js';

export type ControlHandler = (req: Record<string, unknown>) => Promise<Record<string, unknown>>;

export function controlSocket(sim: string): string {
  return join(simDir(sim), 'control.sock');
}

export class ControlServer {
  private readonly handlers = new Map<string, ControlHandler>();

  private constructor(
    readonly path: string,
    private readonly server: Server,
  ) {}

  static async listen(sim: string): Promise<ControlServer> {
    const path = controlSocket(sim);
    rmSync(path, { force: true });
    const server = createServer();
    const control = new ControlServer(path, server);
    server.on('connection', (sock) => {
      let buf = '';
      sock.setEncoding('utf8');
      sock.on('error', () => {});
      sock.on('data', (d: string) => {
        buf += d;
        const nl = buf.indexOf('\n');
        if (nl < 0) {
          if (buf.length > 65536) sock.destroy();
          return;
        }
        const line = buf.slice(0, nl);
        buf = '';
        void control.answer(line).then((reply) => sock.end(`${JSON.stringify(reply)}\n`));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    chmodSync(path, 0o600);
    // the process does not stay alive for the socket alone
    server.unref();
    return control;
  }

  handle(op: string, fn: ControlHandler): void {
    this.handlers.set(op, fn);
  }

  private async answer(line: string): Promise<Record<string, unknown>> {
    let req: Record<string, unknown>;
    try {
      req = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return { ok: false, error: 'not a JSON request' };
    }
    const fn = this.handlers.get(String(req.op));
    if (!fn)
      return {
        ok: false,
        error: `unknown request "${String(req.op)}" (known: ${[...this.handlers.keys()].join(', ')})`,
      };
    try {
      return { ok: true, ...(await fn(req)) };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }

  close(): void {
    this.server.close();
    rmSync(this.path, { force: true });
  }
}

/** One request to the running simulation's process; its error becomes a thrown Error. */
export function controlRequest(
  sim: string,
  req: Record<string, unknown>,
  timeoutMs = 30000,
): Promise<Record<string, unknown>> {
  const path = controlSocket(sim);
  if (!existsSync(path))
    return Promise.reject(
      new Error(
        `simulation "${sim}" has no control channel (${path}): was it started by this netsim version?`,
      ),
    );
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`simulation "${sim}" did not answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on('data', (d: string) => {
      buf += d;
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`simulation "${sim}": control channel: ${err.message}`));
    });
    sock.on('end', () => {
      clearTimeout(timer);
      try {
        const reply = JSON.parse(buf) as Record<string, unknown>;
        if (reply.ok) resolve(reply);
        else reject(new Error(String(reply.error)));
      } catch {
        reject(new Error(`simulation "${sim}": no answer on the control channel`));
      }
    });
  });
}
