// The control channel of a running simulation: a Unix socket in its state directory
// (/run/netsim/sims/<sim>/control.sock, root only) on which the `netsim up` process answers
// requests from other shells, one JSON line each way: {"op": "web", ...} -> {"ok": true, ...}.
// `netsim web` uses it to have the simulation's own process start its web server.
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { JsonLineError, requestJsonLine, serveJsonLines } from '../util/jsonlines.js';
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
    serveJsonLines(server, (req) => control.answer(req));
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

  /** A request's reply fields; an unknown op or a handler's Error is thrown, and answered as {ok: false}. */
  private async answer(req: Record<string, unknown>): Promise<Record<string, unknown>> {
    const fn = this.handlers.get(String(req.op));
    if (!fn)
      throw new Error(`unknown request "${String(req.op)}" (known: ${[...this.handlers.keys()].join(', ')})`);
    return fn(req);
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
  return requestJsonLine(path, req, timeoutMs).catch((err: unknown) => {
    if (!(err instanceof JsonLineError)) throw err;
    switch (err.failure) {
      case 'refused':
        throw new Error(err.message);
      case 'timeout':
        throw new Error(`simulation "${sim}" did not answer within ${timeoutMs / 1000} s`);
      case 'connection':
        throw new Error(`simulation "${sim}": control channel: ${err.message}`);
      default:
        throw new Error(`simulation "${sim}": no answer on the control channel`);
    }
  });
}
