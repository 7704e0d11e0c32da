// The JSON-lines request channel on a Unix socket: the one place it is written. A client
// connects, writes one JSON object and a newline; the server answers one JSON line
// ({"ok": true, ...} or {"ok": false, "error": "..."}) and closes. Used by the simulation's
// control socket (runtime/control.ts) and by the Skupper-style site routers.
import { createConnection, type Server } from 'node:net';

export type JsonObject = Record<string, unknown>;
/** Answers one request; a thrown Error becomes {"ok": false, "error": its message}. */
export type JsonLineHandler = (req: JsonObject) => Promise<JsonObject>;

/** A request line longer than this without its newline is not a request: the connection is dropped. */
const MAX_REQUEST = 65536;

/** Answers each connection's first line on `server` with `handler`'s reply. */
export function serveJsonLines(server: Server, handler: JsonLineHandler): void {
  server.on('connection', (sock) => {
    let buf = '';
    let answered = false;
    sock.setEncoding('utf8');
    sock.on('error', () => {});
    sock.on('data', (d: string) => {
      if (answered) return;
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > MAX_REQUEST) sock.destroy();
        return;
      }
      answered = true;
      const line = buf.slice(0, nl);
      buf = '';
      void answer(handler, line).then((reply) => sock.end(`${JSON.stringify(reply)}\n`));
    });
  });
}

async function answer(handler: JsonLineHandler, line: string): Promise<JsonObject> {
  let req: JsonObject;
  try {
    req = JSON.parse(line) as JsonObject;
  } catch {
    return { ok: false, error: 'not a JSON request' };
  }
  try {
    return { ok: true, ...(await handler(req)) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/** Why a request failed: the callers word their own messages from it. */
export type JsonLineFailure = 'timeout' | 'connection' | 'no answer' | 'refused';

export class JsonLineError extends Error {
  constructor(
    readonly failure: JsonLineFailure,
    message: string,
  ) {
    super(message);
    this.name = 'JsonLineError';
  }
}

/**
 * One request on the socket at `socketPath`; resolves with the reply when it says ok. Rejects
 * with a JsonLineError: 'refused' carries the server's error as its message, the others say
 * what went wrong with the channel.
 */
export function requestJsonLine(
  socketPath: string,
  request: JsonObject,
  timeoutMs: number,
): Promise<JsonObject> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new JsonLineError('timeout', `no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify(request)}\n`));
    sock.on('data', (d: string) => {
      buf += d;
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(new JsonLineError('connection', err.message));
    });
    sock.on('end', () => {
      clearTimeout(timer);
      let reply: JsonObject;
      try {
        reply = JSON.parse(buf) as JsonObject;
      } catch {
        reject(new JsonLineError('no answer', 'no answer'));
        return;
      }
      if (reply.ok) resolve(reply);
      else reject(new JsonLineError('refused', String(reply.error)));
    });
  });
}
