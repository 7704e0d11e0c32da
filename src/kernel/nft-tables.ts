// Temporary nftables tables a feature adds to several namespaces and removes again (trace's
// probe-marking tables). Each is recorded in the ledger before it is added and marked gone
// once removed, so teardown removes what a process killed in between left behind.
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ledger, LedgerEntry, NftFamily } from './ledger.js';
import { pool, run } from './run.js';

export interface NftTableRef {
  family: NftFamily;
  name: string;
}

/** Namespaces handled side by side. */
const CONCURRENCY = 8;

/**
 * Adds the table written in `text` (nft syntax) to every namespace; throws on the first that
 * refuses it, after the others have finished (remove them with deleteNftTables).
 */
export async function addNftTables(
  ledger: Ledger,
  namespaces: string[],
  table: NftTableRef,
  text: string,
): Promise<void> {
  ledger.append([{ t: 'nft-table', family: table.family, name: table.name, namespaces }]);
  // nft opens /dev/stdin for `-f -`, which fails on the socket Node gives a child: a file
  const file = join(tmpdir(), `${table.name}-${process.pid}.nft`);
  writeFileSync(file, text);
  try {
    await pool(namespaces, CONCURRENCY, async (ns) => {
      const r = await run('nft', ['-f', file], { ns, check: false });
      if (r.exitCode !== 0)
        throw new Error(`could not add the table ${table.name} in ${ns}: ${r.stderr.trim()}`);
    });
  } finally {
    rmSync(file, { force: true });
  }
}

/** Removes the table from each namespace (where it is missing, nothing happens). */
export async function deleteNftTables(
  ledger: Ledger | undefined,
  namespaces: string[],
  table: NftTableRef,
): Promise<void> {
  await pool(namespaces, CONCURRENCY, async (ns) => {
    await run('nft', ['delete', 'table', table.family, table.name], { ns, check: false });
  });
  ledger?.append([{ t: 'nft-table-gone', family: table.family, name: table.name }]);
}

/** Tables the ledger records as added and not yet removed, with their namespaces. */
export function leftoverNftTables(entries: LedgerEntry[]): { table: NftTableRef; namespaces: string[] }[] {
  const open = new Map<string, { table: NftTableRef; namespaces: string[] }>();
  for (const e of entries) {
    if (e.t === 'nft-table')
      open.set(`${e.family} ${e.name}`, {
        table: { family: e.family, name: e.name },
        namespaces: e.namespaces,
      });
    else if (e.t === 'nft-table-gone') open.delete(`${e.family} ${e.name}`);
  }
  return [...open.values()];
}
