// The ledger's record of temporary nft tables (kernel/nft-tables.ts): what teardown still has
// to remove after a tracer died between adding its tables and deleting them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Ledger } from '../../src/kernel/ledger.js';
import { leftoverNftTables } from '../../src/kernel/nft-tables.js';

t.test('a table added and deleted is not left over; one only added is, with its namespaces', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-ledger-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ledger = new Ledger(join(dir, 'ledger.jsonl'));
  ledger.append([{ t: 'netns', name: 'netsim-x-h1' }]);
  ledger.append([
    { t: 'nft-table', family: 'ip', name: 'netsim-trace-45001', namespaces: ['netsim-x-h1', 'netsim-x-h2'] },
  ]);
  ledger.append([{ t: 'nft-table-gone', family: 'ip', name: 'netsim-trace-45001' }]);
  ledger.append([{ t: 'nft-table', family: 'ip', name: 'netsim-trace-45002', namespaces: ['netsim-x-h1'] }]);
  t.same(leftoverNftTables(ledger.read()), [
    { table: { family: 'ip', name: 'netsim-trace-45002' }, namespaces: ['netsim-x-h1'] },
  ]);
  t.same(leftoverNftTables([]), []);
});
