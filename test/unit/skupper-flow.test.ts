// The link's per-stream flow control and stream life cycle (link.ts), on real sockets over
// loopback (plain TCP in place of the TLS session: the framing is the same): a receiver that
// stops reading stalls its own stream at one window and never the link, also through a transit
// router; FIN goes both ways; a RESET or a lost link closes the stream on every hop; no stream
// is left in any link's table afterwards.
import { createServer, connect as netConnect, type Socket } from 'node:net';
import type tls from 'node:tls';
import t from 'tap';
import { type End, join, pipeInto, wake } from '../../src/features/multicluster/skupper/ends.js';
import { Link, LinkEnd, type LinkOwner } from '../../src/features/multicluster/skupper/link.js';
import { FrameType, MAX_DATA, STREAM_WINDOW } from '../../src/features/multicluster/skupper/protocol.js';
import { waitFor } from '../../src/util/wait.js';

/** A connection's far end: counts what it is given, can refuse more (a reader that stops). */
class Sink implements End {
  peer?: End;
  finished?: () => void;
  bytes = 0;
  ended = false;
  aborted = false;
  /** write returns false (the reader does not read) */
  full = false;
  paused = false;
  onResume?: () => void;
  private waiters: (() => void)[] = [];
  write(b: Buffer): boolean {
    this.bytes += b.length;
    return !this.full;
  }
  end(): void {
    this.ended = true;
  }
  abort(): void {
    this.aborted = true;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
    this.onResume?.();
  }
  onDrain(cb: () => void): void {
    if (this.full) this.waiters.push(cb);
    else queueMicrotask(cb);
  }
  /** the reader reads again */
  drain(): void {
    this.full = false;
    wake(this.waiters);
  }
  /** sends `total` bytes into its peer as fast as the peer takes them */
  /** what pump() has sent so far */
  sent = 0;
  pump(total: number): void {
    const chunk = Buffer.alloc(MAX_DATA, 120);
    const go = () => {
      while (!this.paused && this.sent < total) {
        const n = Math.min(chunk.length, total - this.sent);
        this.sent += n;
        pipeInto(this, chunk.subarray(0, n));
      }
    };
    this.onResume = go;
    go();
  }
}

/** A router: opens streams to a local Sink, or (transit) onwards on `next`. */
class Router implements LinkOwner {
  sinks: Sink[] = [];
  next?: Link;
  constructor(readonly site: string) {}
  log(): void {}
  advertisedTo() {
    return {};
  }
  routesChanged(): void {}
  openStream(key: string, end: End, ttl: number): boolean {
    if (key === 'none') return false;
    if (this.next) {
      const id = this.next.newId();
      const onward = new LinkEnd(this.next, id);
      this.next.send(FrameType.OPEN, id, JSON.stringify({ key, ttl }));
      join(end, onward);
      return true;
    }
    const sink = new Sink();
    this.sinks.push(sink);
    join(end, sink);
    return true;
  }
}

/** Two routers linked over a loopback TCP connection. */
async function linked(a: Router, b: Router): Promise<{ ab: Link; ba: Link; socks: Socket[] }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const dialled = netConnect(port, '127.0.0.1');
  const other = await accepted;
  server.close();
  const ab = new Link(a, `to-${b.site}`, true, 1);
  const ba = new Link(b, `in-${a.site}`, false, 1);
  ab.attach(dialled as unknown as tls.TLSSocket);
  ba.attach(other as unknown as tls.TLSSocket);
  // as the site router does: a closed socket is a lost link
  dialled.on('close', () => ab.detach());
  other.on('close', () => ba.detach());
  await waitFor(() => ab.up && ba.up, { timeoutMs: 5000 });
  return { ab, ba, socks: [dialled, other] };
}

/** A connection from a client Sink at `from` through the link, as a listener opens it. */
function open(from: Link, key: string): { client: Sink; stream: LinkEnd } {
  const id = from.newId();
  const stream = new LinkEnd(from, id);
  from.send(FrameType.OPEN, id, JSON.stringify({ key, ttl: 16 }));
  const client = new Sink();
  join(client, stream);
  return { client, stream };
}

const close = (socks: Socket[]) => {
  for (const s of socks) s.destroy();
};

t.test('a reader that stops stalls its own stream at one window; the link carries the others', async (t) => {
  const A = new Router('A');
  const B = new Router('B');
  const { ab, ba, socks } = await linked(A, B);
  t.teardown(() => close(socks));
  const slow = open(ab, 'bulk');
  await waitFor(() => B.sinks.length === 1);
  B.sinks[0].full = true;
  slow.client.pump(8 * STREAM_WINDOW);
  // out of credit, and what it sent has all arrived
  await waitFor(() => slow.stream.stalled && B.sinks[0].bytes === slow.client.sent, { timeoutMs: 5000 });
  const stuckAt = B.sinks[0].bytes;
  t.ok(stuckAt >= STREAM_WINDOW - MAX_DATA, `the window went out (${stuckAt} bytes)`);
  t.ok(stuckAt <= STREAM_WINDOW + MAX_DATA, 'and no more');
  const fast = open(ab, 'web');
  await waitFor(() => B.sinks.length === 2);
  fast.client.pump(8 * STREAM_WINDOW);
  await waitFor(() => B.sinks[1].bytes === 8 * STREAM_WINDOW, { timeoutMs: 5000 });
  t.pass('another stream on the same link: 8 windows arrive meanwhile');
  t.equal(B.sinks[0].bytes, stuckAt, 'the stalled one got nothing more');
  B.sinks[0].drain();
  await waitFor(() => B.sinks[0].bytes === 8 * STREAM_WINDOW, { timeoutMs: 5000 });
  t.pass('once its reader reads, the rest arrives');
  // FIN both ways closes both streams
  slow.stream.end();
  fast.stream.end();
  await waitFor(() => B.sinks.every((s) => s.ended));
  for (const s of B.sinks) s.peer?.end();
  await waitFor(() => ab.streams.size === 0 && ba.streams.size === 0, { timeoutMs: 5000 });
  t.ok(slow.client.ended && fast.client.ended, 'END reached both clients');
});

t.test('through a transit router: the stall reaches every hop, the other streams flow', async (t) => {
  const A = new Router('A');
  const B = new Router('B');
  const C = new Router('C');
  const l1 = await linked(A, B);
  const l2 = await linked(B, C);
  t.teardown(() => close([...l1.socks, ...l2.socks]));
  B.next = l2.ab;
  const slow = open(l1.ab, 'bulk');
  await waitFor(() => C.sinks.length === 1);
  C.sinks[0].full = true;
  slow.client.pump(16 * STREAM_WINDOW);
  await waitFor(() => slow.stream.stalled, { timeoutMs: 5000 });
  t.ok(
    [...l2.ab.streams.values()].some((s) => s.stalled),
    "the transit router's onward stream is out of credit too",
  );
  t.ok(C.sinks[0].bytes <= 3 * STREAM_WINDOW, `bounded on the way (${C.sinks[0].bytes} bytes)`);
  const others = [1, 2, 3].map(() => open(l1.ab, 'web'));
  await waitFor(() => C.sinks.length === 4);
  for (const o of others) o.client.pump(4 * STREAM_WINDOW);
  await waitFor(() => C.sinks.slice(1).every((s) => s.bytes === 4 * STREAM_WINDOW), { timeoutMs: 5000 });
  t.pass('three more streams through the same transit carry 4 windows each meanwhile');
  // the stalled client goes away: RESET on every hop, the far end is aborted
  slow.client.peer?.abort();
  for (const o of others) {
    o.stream.end();
  }
  await waitFor(() => C.sinks.slice(1).every((s) => s.ended));
  for (const s of C.sinks.slice(1)) s.peer?.end();
  await waitFor(() => [l1.ab, l1.ba, l2.ab, l2.ba].every((l) => l.streams.size === 0), {
    timeoutMs: 5000,
  }).catch(() => {});
  t.same(
    [l1.ab, l1.ba, l2.ab, l2.ba].map((l) => l.streams.size),
    [0, 0, 0, 0],
    'no stream left on any link',
  );
  t.ok(C.sinks[0].aborted, "the stalled stream's far end was aborted");
});

t.test('a lost link or a refused open closes the streams on both sides', async (t) => {
  const A = new Router('A');
  const B = new Router('B');
  const C = new Router('C');
  const l1 = await linked(A, B);
  const l2 = await linked(B, C);
  t.teardown(() => close([...l1.socks, ...l2.socks]));
  B.next = l2.ab;
  const refused = open(l1.ab, 'none');
  await waitFor(() => refused.client.aborted, { timeoutMs: 5000 });
  t.equal(l1.ab.streams.size, 0, 'a key nobody serves: the stream is reset');
  const conns = [1, 2, 3].map(() => open(l1.ab, 'web'));
  await waitFor(() => C.sinks.length === 3);
  // the link between the transit router and the destination goes away
  for (const s of l2.socks) s.destroy();
  await waitFor(() => conns.every((c) => c.client.aborted), { timeoutMs: 5000 });
  t.ok(
    C.sinks.every((s) => s.aborted),
    'the far ends are aborted',
  );
  t.same(
    [l1.ab, l1.ba, l2.ab, l2.ba].map((l) => l.streams.size),
    [0, 0, 0, 0],
    'the clients are aborted and no stream is left on any link',
  );
});
