// Every kernel object or process a simulation creates is written here *before* it is
// created, so `netsim clean` can remove it even after kill -9 in the middle of a build.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

export type NftFamily = 'ip' | 'ip6' | 'inet' | 'bridge' | 'arp' | 'netdev';

export type LedgerEntry =
  | { t: 'netns'; name: string }
  | { t: 'proc'; pid: number; start: string; ns?: string; cmd: string }
  | { t: 'file'; path: string }
  /** a temporary nftables table in these namespaces (kernel/nft-tables.ts) */
  | { t: 'nft-table'; family: NftFamily; name: string; namespaces: string[] }
  /** ... removed again */
  | { t: 'nft-table-gone'; family: NftFamily; name: string }
  | { t: 'sysctl-holder' };

export class Ledger {
  constructor(readonly path: string) {}

  append(entries: LedgerEntry[]): void {
    if (entries.length === 0) return;
    appendFileSync(this.path, `${entries.map((e) => JSON.stringify(e)).join('\n')}\n`);
  }

  read(): LedgerEntry[] {
    if (!existsSync(this.path)) return [];
    const out: LedgerEntry[] = [];
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as LedgerEntry);
      } catch {
        // a torn last line after kill -9: the object it announced was never created
      }
    }
    return out;
  }
}
