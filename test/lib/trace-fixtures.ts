// Kernel output recorded from the trace integration test's topology (test/unit/trace-fixtures:
// `ip -j route get`, `bridge -j fdb`, `nft -j list`, `conntrack -L`, `nft monitor trace`, ...),
// read by the unit tests of trace's explainers. Recorded once by running that topology (the
// outputs of the same commands the tracer runs, `nft monitor trace` for probes with source
// ports 45001 and 45002, while a NetworkPolicy isolated web2 for the second).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/model/load.js';

export const TRACE_FIXTURES = join(PROJECT_ROOT, 'test', 'unit', 'trace-fixtures');

export function fixture(name: string): string {
  return readFileSync(join(TRACE_FIXTURES, name), 'utf8');
}

export function jsonFixture<T>(name: string): T {
  return JSON.parse(fixture(name)) as T;
}
