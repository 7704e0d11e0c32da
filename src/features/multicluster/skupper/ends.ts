// The two ends of a connection through a site router: a local TCP socket (a client of a
// listener, or the connection a connector opens) or a stream on a link. Each end pipes what it
// receives into its peer, and pauses while the peer is backed up.
//
// What keeps a connection from leaking (an end that waits forever):
// - FIN both ways: a socket's FIN is the stream's END and an END is the socket's FIN (sockets
//   are half-open capable); a stream is done once it has sent and received END.
// - Either end going away closes the other: a socket that closes before both FINs, a RESET, a
//   lost link, each aborts the peer, which sends RESET on its own hop.
// - Nobody waits on an end that is gone: an end that finishes wakes whoever waits for it to
//   drain, and an aborted socket is read to the end and destroyed after a short linger.
import type { Socket } from 'node:net';

/** how long an aborted socket may take to hand its last bytes to a reader that does not read */
export const ABORT_LINGER_MS = 2000;

export interface End {
  /** false: the destination is backed up; `onDrain` fires when it is not (or it is finished) */
  write(b: Buffer): boolean;
  /** the other side sent all it will send (FIN) */
  end(): void;
  /** the other side is gone: close (what was written still goes out first) */
  abort(): void;
  pause(): void;
  resume(): void;
  /** paused because its peer is backed up */
  readonly paused: boolean;
  onDrain(cb: () => void): void;
  peer?: End;
  /** called once when this end is finished */
  finished?: () => void;
}

/** Joins two ends: what one receives is written to the other. */
export function join(a: End, b: End): void {
  a.peer = b;
  b.peer = a;
}

export function pipeInto(from: End, data: Buffer): void {
  const to = from.peer;
  if (!to) return;
  if (!to.write(data) && !from.paused) {
    from.pause();
    to.onDrain(() => from.resume());
  }
}

/** Calls and empties a list of waiters. */
export function wake(waiters: (() => void)[]): void {
  for (const cb of waiters.splice(0)) cb();
}

export class SockEnd implements End {
  peer?: End;
  finished?: () => void;
  private done = false;
  private wrote = false;
  private ending = false;
  private aborted = false;
  private waiters: (() => void)[] = [];

  /** `sock` must allow half-open connections (allowHalfOpen), so that FIN goes both ways */
  constructor(readonly sock: Socket) {
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => pipeInto(this, d));
    sock.on('end', () => this.peer?.end());
    sock.on('drain', () => wake(this.waiters));
    sock.on('error', () => {});
    sock.on('close', () => {
      this.finish();
      // closed before both FINs (reset, destroyed, an error): the other side is told
      const p = this.peer;
      this.peer = undefined;
      p?.abort();
    });
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    wake(this.waiters);
    this.finished?.();
  }

  get paused(): boolean {
    return this.sock.isPaused();
  }

  write(b: Buffer): boolean {
    if (this.done || this.aborted) return true;
    this.wrote = true;
    return this.sock.write(b);
  }
  end(): void {
    if (this.ending || this.done) return;
    this.ending = true;
    this.sock.end();
  }
  abort(): void {
    if (this.done || this.aborted) return;
    this.aborted = true;
    this.peer = undefined;
    wake(this.waiters);
    // nothing sent yet: a reset, as a direct connection would see
    if (!this.ending && !this.wrote) {
      this.sock.destroy();
      return;
    }
    // data already written (a server that answers and closes without reading the request
    // resets; the answer must still reach the client, as it does on a direct connection): the
    // FIN after it, what still comes in is read and dropped, and a reader that does not read
    // does not keep the socket open
    this.sock.end();
    this.sock.resume();
    const linger = setTimeout(() => this.sock.destroy(), ABORT_LINGER_MS);
    this.sock.once('close', () => clearTimeout(linger));
  }
  pause(): void {
    if (!this.aborted) this.sock.pause();
  }
  resume(): void {
    this.sock.resume();
  }
  onDrain(cb: () => void): void {
    if (this.done || this.aborted || !this.sock.writableNeedDrain) queueMicrotask(cb);
    else this.waiters.push(cb);
  }
}
