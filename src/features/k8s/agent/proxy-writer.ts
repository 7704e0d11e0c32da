// How kube-proxy's transactions reach the kernel: as nf_tables netlink batches through a
// long-lived writer (kernel.ts NetlinkWriter, nft-netlink.ts), or through `nft -j` when the
// writer is missing or a transaction holds something the encoder does not know. The nft tool
// dumps every chain of the namespace into its cache before each transaction (~80 ms at 10,000
// services, more than the change itself); the writer sends only the change.
import type { Family } from '../services/objects.js';
import { NetlinkWriter, nftJson } from './kernel.js';
import {
  describeCommand,
  encodeBatch,
  encodeFullSync,
  type SetTypes,
  setTypesOf,
  Unsupported,
} from './nft-netlink.js';
import { type Command, type Fragment, fullSync, fullSyncHead, SHAPES } from './proxy-rules.js';
import { TABLE } from './proxy-tables.js';

export type Via = 'netlink' | 'nft';
/** a service's share of a full sync's batch, about (2,800 bytes with one port and two endpoints) */
const BYTES_PER_SERVICE = 3072;

export class ProxyWriter {
  /** undefined: every transaction goes through the nft tool */
  private writer?: NetlinkWriter;
  /** the key types of the skeleton's sets and maps in the tables of the current layout (what element updates need) */
  private setTypes: SetTypes;
  /** the size of the last full sync's batch: the next one's buffer starts that big */
  private lastFull = 1 << 20;

  constructor(
    private readonly families: Family[],
    private readonly log: (m: string) => void,
    netlink = true,
  ) {
    this.setTypes = this.typesOf(0);
    if (netlink) this.writer = new NetlinkWriter();
  }

  private typesOf(shards: number): SetTypes {
    return setTypesOf(this.families.flatMap((f) => fullSyncHead(f, shards)));
  }

  private drop(e: Error): never {
    this.log(`kube-proxy: ${e.message}: using nft from now on`);
    this.writer?.close();
    this.writer = undefined;
    throw e;
  }

  private async send(batch: Buffer, describe: (seq: number) => string): Promise<void> {
    const refused = await this.writer!.send(batch).catch((e: Error) => this.drop(e));
    if (refused.length)
      throw new Error(
        `netlink: ${refused
          .slice(0, 3)
          .map((r) => `${describe(r.seq)}: ${r.error}`)
          .join('; ')}`,
      );
  }

  /**
   * One transaction; `kernelMs`: from the batch handed over to the kernel's answer (through nft:
   * the tool's whole run). A writer that fails is dropped and the error thrown: whether the batch was
   * applied is unknown, so the caller resyncs in full.
   */
  async write(cmds: Command[]): Promise<{ via: Via; kernelMs: number }> {
    let batch: Buffer | undefined;
    if (this.writer)
      try {
        batch = encodeBatch(cmds, new Map(this.setTypes));
      } catch (e) {
        if (!(e instanceof Unsupported)) throw e;
        this.log(`kube-proxy: ${e.message}: this transaction goes through nft`);
      }
    const t0 = performance.now();
    if (!batch || !this.writer) {
      await nftJson(cmds);
      return { via: 'nft', kernelMs: performance.now() - t0 };
    }
    await this.send(batch, (seq) => describeCommand(cmds, seq));
    return { via: 'netlink', kernelMs: performance.now() - t0 };
  }

  /**
   * Every table replaced by its skeleton and the fragments, in one transaction. `fragments` gives
   * a family's fragments as they are rendered: each is encoded and dropped (nothing of 10,000
   * services is kept but the batch). Through nft (the same commands) when the writer is missing
   * or dies (a full sync replaces the table, so sending it again is safe). `services`: how many
   * there are (the batch's buffer is sized from it). `shards`: the layout the fragments are
   * rendered for (0: one table); later updates are encoded for it.
   */
  async writeFull(
    fragments: (family: Family) => Iterable<Fragment>,
    services = 0,
    shards = 0,
  ): Promise<{ via: Via; encodeMs: number; sendMs: number }> {
    const t0 = performance.now();
    this.setTypes = this.typesOf(shards);
    if (this.writer) {
      try {
        const batch = encodeFullSync(
          this.families.map((f) => ({
            family: SHAPES[f].nft,
            table: TABLE,
            head: fullSyncHead(f, shards),
            fragments: fragments(f),
          })),
          Math.max(this.lastFull, services * this.families.length * BYTES_PER_SERVICE),
        );
        this.lastFull = batch.length + (1 << 16);
        const t1 = performance.now();
        await this.send(batch, (seq) => `message ${seq} of the full sync`);
        return { via: 'netlink', encodeMs: t1 - t0, sendMs: performance.now() - t1 };
      } catch (e) {
        if (this.writer && !(e instanceof Unsupported)) throw e;
      }
    }
    const t1 = performance.now();
    await nftJson(this.families.flatMap((f) => fullSync(fragments(f), f, shards)));
    return { via: 'nft', encodeMs: 0, sendMs: performance.now() - t1 };
  }
}
