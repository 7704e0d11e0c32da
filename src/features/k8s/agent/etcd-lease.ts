// A lease kept alive for as long as the agent runs, as the etcd3 package's `lease(ttl)` does
// it (and etcd's Go client): granted at once, renewed every third of its TTL, and 'lost' when
// it cannot be granted, when etcd answers a renewal with TTL 0 (it expired or was revoked), or
// when no renewal has succeeded for twice the TTL (etcd unreachable meanwhile). A renewal that
// fails for want of a member is tried again on the next one 100 ms later.
import { EventEmitter } from 'node:events';

/** What a lease needs of the client. */
export interface LeaseHost {
  leaseGrant(ttl: number): Promise<string>;
  leaseKeepAlive(id: string, timeoutMs?: number): Promise<number>;
  leaseRevoke(id: string): Promise<void>;
  put(key: string, value: string, lease?: string): Promise<void>;
}

export class EtcdLease extends EventEmitter<{ lost: [Error] }> {
  private readonly id: Promise<string | Error>;
  private lastKeepAlive = Date.now();
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly etcd: LeaseHost,
    readonly ttl: number,
  ) {
    super();
    if (!(ttl >= 1)) throw new RangeError(`an etcd lease's TTL must be at least 1 s, not ${ttl}`);
    this.id = etcd.leaseGrant(ttl).then(
      (id) => {
        this.lastKeepAlive = Date.now();
        this.schedule((ttl * 1000) / 3);
        return id;
      },
      (err: Error) => {
        this.lose(err);
        return err;
      },
    );
  }

  /** The lease's ID once granted (rejects if it could not be). */
  async grant(): Promise<string> {
    const id = await this.id;
    if (id instanceof Error) throw id;
    return id;
  }

  /** Writes `key` under this lease (once granted). */
  async put(key: string, value: string): Promise<void> {
    await this.etcd.put(key, value, await this.grant());
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.keepAlive(), ms);
  }

  private async keepAlive(): Promise<void> {
    if (this.closed) return;
    if (Date.now() - this.lastKeepAlive > 2000 * this.ttl)
      return this.lose(new Error('lost contact with etcd for twice the lease TTL: the lease has expired'));
    const id = await this.grant();
    let ttl: number;
    try {
      ttl = await this.etcd.leaseKeepAlive(id, (this.ttl * 1000) / 3);
    } catch {
      return this.schedule(100);
    }
    if (ttl <= 0) return this.lose(new Error(`lease ${id} expired or was revoked`));
    this.lastKeepAlive = Date.now();
    this.schedule((this.ttl * 1000) / 3);
  }

  private lose(err: Error): void {
    if (this.closed) return;
    this.close();
    this.emit('lost', err);
  }

  /** Stops renewing (the lease expires after its TTL). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  /** Stops renewing and revokes the lease now (its keys go with it). */
  async revoke(): Promise<void> {
    this.close();
    const id = await this.id;
    if (!(id instanceof Error)) await this.etcd.leaseRevoke(id);
  }
}
