// The two ends of a connection through a site router: a local TCP socket (a client of a
// listener, or the connection a connector opens) or a stream on a link. Each end pipes what it
// receives into its peer, and pauses while the peer is backed up.
import type { Socket } from 'node:net';

export interface End {
  /** false: the destination is backed up; `onDrain` fires when it is not */
  write(b: Buffer): boolean;
  end(): void;
  abort(): void;
  pause(): void;
  resume(): void;
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
  if (!to.write(data)) {
    from.pause();
    to.onDrain(() => from.resume());
  }
}

export class SockEnd implements End {
  peer?: End;
  finished?: () => void;
  private gotEnd = false;
  private done = false;
  private wrote = false;
  private ending = false;

  constructor(readonly sock: Socket) {
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => pipeInto(this, d));
    sock.on('end', () => {
      this.gotEnd = true;
      this.peer?.end();
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      // after the socket's FIN, an error on our writes (a server that closed without reading
      // the request resets) is not propagated: the other side already has all data and END
      if (!this.gotEnd) this.peer?.abort();
      this.finish();
    });
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.finished?.();
  }

  write(b: Buffer): boolean {
    this.wrote = true;
    return this.sock.write(b);
  }
  end(): void {
    this.ending = true;
    this.sock.end();
  }
  abort(): void {
    this.peer = undefined;
    // already half closed, or data already written: let what is buffered go out, then the FIN
    // (a server that answers and closes without reading the request resets; the answer must
    // still reach the client, as it does on a direct connection)
    if (this.ending || this.wrote) this.sock.end();
    else this.sock.destroy();
  }
  pause(): void {
    this.sock.pause();
  }
  resume(): void {
    this.sock.resume();
  }
  onDrain(cb: () => void): void {
    this.sock.once('drain', cb);
  }
}
