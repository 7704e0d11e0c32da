// One VTEP of the agent (flannel.<VNI> for IPv4, flannel-v6.<VNI> for IPv6) and what it
// keeps for every other worker's lease: a route to the remote subnet via the remote VTEP's
// address (onlink), a permanent neighbour for that address with the remote VTEP's MAC, and an
// FDB entry sending that MAC to the remote worker's underlay address. Changes from the lease
// watch are applied in small batches; a full resync compares the kernel with the leases.
import { applyVtep, type RemoteVtep, readVtepState, type VtepState } from './kernel.js';

export class Vtep {
  /** by lease key */
  readonly remotes = new Map<string, RemoteVtep>();
  private pending = new Map<string, RemoteVtep | null>();
  private flushing?: Promise<void>;

  constructor(
    readonly dev: string,
    readonly family: 4 | 6,
    private readonly log: (msg: string) => void,
  ) {}

  /** Removes what no lease asks for any more and (re)installs every current remote. */
  async resync(want: Map<string, RemoteVtep>): Promise<void> {
    this.remotes.clear();
    for (const [k, r] of want) this.remotes.set(k, r);
    const now = await readVtepState(this.dev, this.family);
    const all = [...want.values()];
    const stale: VtepState = {
      routes: now.routes.filter((r) => !all.some((w) => w.subnet === r.dst && w.gateway === r.gateway)),
      neighbours: now.neighbours.filter((n) => !all.some((w) => w.gateway === n.dst && w.mac === n.lladdr)),
      fdb: now.fdb.filter((f) => !all.some((w) => w.mac === f.mac && w.publicIp === f.dst)),
    };
    await applyVtep(this.dev, all, stale);
    const removed = stale.routes.length + stale.neighbours.length + stale.fdb.length;
    if (removed) this.log(`${this.dev}: resync removed ${removed} stale entries`);
  }

  /** A lease appeared or changed (`next`) or went (null): applied with the others of the next few ms. */
  change(key: string, next: RemoteVtep | null): void {
    if (!next && !this.remotes.has(key) && !this.pending.has(key)) return;
    this.pending.set(key, next);
    this.flushing ??= new Promise<void>((r) => setTimeout(r, 5)).then(() => this.flush());
  }

  private async flush(): Promise<void> {
    while (this.pending.size) {
      const batch = this.pending;
      this.pending = new Map();
      const add: RemoteVtep[] = [];
      const remove: VtepState = { routes: [], neighbours: [], fdb: [] };
      for (const [key, next] of batch) {
        const prev = this.remotes.get(key);
        if (prev && (!next || next.mac !== prev.mac || next.publicIp !== prev.publicIp)) {
          if (!next) remove.routes.push({ dst: prev.subnet });
          if (!next || next.mac !== prev.mac) remove.neighbours.push({ dst: prev.gateway });
          remove.fdb.push({ mac: prev.mac, dst: prev.publicIp });
        }
        if (next) {
          add.push(next);
          this.remotes.set(key, next);
        } else this.remotes.delete(key);
      }
      try {
        await applyVtep(this.dev, add, remove);
      } catch (err) {
        this.log(`applying lease changes to ${this.dev}: ${(err as Error).message}`);
      }
      for (const a of add) this.log(`remote ${a.subnet} at ${a.publicIp} (${a.mac})`);
      for (const r of remove.routes) this.log(`removed ${r.dst}`);
    }
    this.flushing = undefined;
  }
}
