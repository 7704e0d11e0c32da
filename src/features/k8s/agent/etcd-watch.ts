// One etcd watch over the JSON gateway: a POST to /v3/watch with one create request, answered
// by a stream of newline-separated JSON messages ({"result": WatchResponse} or {"error": ...}).
// Each event moves the resume point past its revision (the events of one revision come in one
// message), so when the stream fails (the member died, lost its leader, or stopped answering
// the client's probe) it is opened again on the next member from exactly there: no event lost,
// none repeated. A watch etcd cancels (its start revision compacted away) ends with an error,
// as the etcd3 package's watcher does.
import { type ClientRequest, request } from 'node:http';
import { b64, type KeyValue, kvOf, type Members, postTo, type RawKv } from './etcd-wire.js';

export interface WatchHandlers {
  put: (kv: KeyValue) => void;
  delete: (kv: KeyValue) => void;
  /** the watch is over: etcd canceled it (compaction) */
  error?: (e: Error) => void;
}

interface WatchResult {
  created?: boolean;
  canceled?: boolean;
  cancel_reason?: string;
  compact_revision?: string;
  events?: { type?: 'PUT' | 'DELETE'; kv?: RawKv }[];
}

/** the first wait before opening a failed stream again, doubled up to the cap */
export const WATCH_BACKOFF_MS = 100;
export const WATCH_BACKOFF_MAX_MS = 2000;

export class WatchStream {
  /** the member the stream is open (or opening) on */
  member?: string;
  /** resolves when etcd first confirms the watch */
  readonly created: Promise<void>;
  /** how many times the stream was opened (1 + reconnections) */
  opened = 0;
  private next: string;
  private req?: ClientRequest;
  private attempt = 0;
  private backoff = WATCH_BACKOFF_MS;
  private closed = false;
  private confirm!: () => void;

  constructor(
    private readonly members: Members,
    private readonly key: string,
    private readonly rangeEnd: Buffer,
    startRevision: string,
    private readonly on: WatchHandlers,
    private readonly onClose: () => void,
  ) {
    this.next = startRevision;
    this.created = new Promise((resolve) => {
      this.confirm = resolve;
    });
    this.open();
  }

  /** The revision the stream resumes from. */
  get resumeRevision(): string {
    return this.next;
  }

  private open(): void {
    if (this.closed) return;
    const attempt = ++this.attempt;
    this.opened++;
    const url = this.members.endpoint();
    this.member = url;
    const current = () => attempt === this.attempt && !this.closed;
    const req = request(postTo(this.members.agent, url, '/v3/watch'));
    this.req = req;
    req.on('error', (e) => current() && this.reconnect(e));
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return this.reconnect(new Error(`watch: HTTP ${res.statusCode}`));
      }
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (chunk: string) => {
        buf += chunk;
        for (let nl = buf.indexOf('\n'); nl >= 0 && current(); nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim()) this.message(line);
        }
      });
      res.on('error', (e) => current() && this.reconnect(e));
      res.on('end', () => current() && this.reconnect(new Error('watch stream ended')));
    });
    req.end(
      JSON.stringify({
        create_request: { key: b64(this.key), range_end: b64(this.rangeEnd), start_revision: this.next },
      }),
    );
  }

  private message(line: string): void {
    let m: { result?: WatchResult; error?: { message?: string } };
    try {
      m = JSON.parse(line);
    } catch {
      this.reconnect(new Error(`watch: not JSON: ${line.slice(0, 100)}`));
      return;
    }
    if (m.error || !m.result) {
      this.reconnect(new Error(`watch: ${m.error?.message ?? 'no result'}`));
      return;
    }
    const r = m.result;
    if (r.created) {
      this.backoff = WATCH_BACKOFF_MS;
      this.confirm();
    }
    if (r.canceled) {
      const why =
        r.cancel_reason ||
        (r.compact_revision && r.compact_revision !== '0'
          ? `revision ${this.next} compacted (oldest kept: ${r.compact_revision})`
          : 'canceled by etcd');
      this.close();
      this.confirm();
      this.on.error?.(new Error(`Watcher canceled: ${why}`));
      return;
    }
    for (const ev of r.events ?? []) {
      const kv = kvOf(ev.kv ?? {});
      this.next = String(BigInt(kv.modRevision) + 1n);
      if (ev.type === 'DELETE') this.on.delete(kv);
      else this.on.put(kv);
    }
  }

  /** Drops the stream and opens it again on the next member after a backoff. */
  reconnect(_why: Error): void {
    if (this.closed) return;
    this.attempt++;
    this.req?.destroy();
    if (this.member) this.members.failed(this.member);
    this.member = undefined;
    setTimeout(() => this.open(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, WATCH_BACKOFF_MAX_MS);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.req?.destroy();
    this.member = undefined;
    this.onClose();
  }
}
