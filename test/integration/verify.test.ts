// `netsim verify <topology>` through the real CLI: a topology whose expectations all hold
// (two OSPF routers between two hosts, a cluster with a service and one without endpoints)
// exits 0; the same with one expectation changed exits 1 and names it with its line; bad
// input (an expectation of unknown syntax, a topology without expectations) gets a clear error.
import { readFileSync } from 'node:fs';
import t from 'tap';
import type { VerifyReport } from '../../src/features/trace/verify.js';
import { tempDir, writeFile } from '../lib/cli.js';
import { runCli } from '../lib/corpus.js';
import { requireFrr } from '../lib/frr.js';
import { namespacesOf, requireRoot, uniqueName } from '../lib/harness.js';

const server = "socat TCP-LISTEN:8000,fork,reuseaddr SYSTEM:'echo web1'";

const topology = (name: string, expect: string[]) => `name: ${name}
nodes:
  r1: {kind: router, ospf: {area: 0}}
  r2: {kind: router, ospf: {area: 0}}
  s1: {kind: switch}
  s2: {kind: switch}
  h1: {kind: host}
  h2: {kind: host}
  s3: {kind: switch, subnet: 192.168.79.0/24}
  C0:
    kind: cluster
    underlay: s3
    etcd: 1
    workers: 1
    dns: false
    pods:
      web1: {worker: w1, labels: {app: web}, command: "${server}"}
      client: {worker: w1}
    services:
      web: {selector: {app: web}, ports: [{port: 80, targetPort: 8000}]}
      nothing: {clusterIP: 10.96.0.50, selector: {app: none}, ports: [{port: 80, targetPort: 8000}]}
links:
  - endpoints: [h1, s1]
  - endpoints: [r1, s1]
  - endpoints: [r1, r2]
  - endpoints: [r2, s2]
  - endpoints: [h2, s2]
expect:
${expect.map((e) => `  - ${e}`).join('\n')}
`;

const HOLDING = [
  'h1 -> h2 reachable',
  'r1 ospf neighbors 1',
  'ospf r2 neighbors 1',
  'h1 -> 10.10.10.2 unreachable',
  'client -> web:80 reachable',
  'client -> web1:8000 reachable',
  'client -> nothing:80 blocked',
];

if (requireRoot(t) && requireFrr(t)) {
  t.test('verify: all hold -> 0; one changed -> 1 naming it', async (t) => {
    const dir = tempDir(t);
    const name = uniqueName('v');
    const good = writeFile(dir, 'lab.yml', topology(name, HOLDING));
    const ok = await runCli(['verify', good, '--json', '--timeout', '40'], { timeoutMs: 120000 });
    t.equal(ok.code, 0, `exit 0\n${ok.stderr}`);
    const report = JSON.parse(ok.stdout) as VerifyReport;
    t.equal(report.failed, 0, 'nothing failed');
    t.equal(report.passed, HOLDING.length, `all ${HOLDING.length} hold`);
    t.same(
      report.results.map((r) => r.text),
      HOLDING,
      'one result per entry, in order',
    );
    const blocked = report.results.find((r) => r.text.includes('nothing'))!;
    t.match(
      blocked.detail,
      /refused at C0w1: refused by kube-proxy reject-chain/,
      'blocked: the reject rule that refused it',
    );
    t.match(report.results[1].detail, /^1 OSPF neighbour Full$/);
    t.ok(report.convergedMs !== undefined, `OSPF converged (${report.convergedMs} ms)`);
    t.same(namespacesOf(name), [], 'torn down: no namespace left');

    // h1 -> h2 unreachable is false: exit 1, the entry named with its line
    const changed = HOLDING.map((e) => (e === 'h1 -> 10.10.10.2 unreachable' ? 'h1 -> h2 unreachable' : e));
    const bad = writeFile(dir, 'lab2.yml', topology(name, changed));
    const line = readFileSync(bad, 'utf8').split('\n').indexOf('  - h1 -> h2 unreachable') + 1;
    const fail = await runCli(['verify', bad, '--timeout', '40'], { timeoutMs: 120000 });
    t.equal(fail.code, 1, `exit 1\n${fail.stderr}`);
    t.match(
      fail.stdout,
      /^ {2}FAIL {2}h1 -> h2 unreachable +answered: delivered to h2/m,
      'the failed one is marked',
    );
    t.match(
      fail.stdout,
      new RegExp(
        `1 of 7 expectations failed: "h1 -> h2 unreachable" \\(${bad.replaceAll('/', '\\/')}:${line}:5\\)`,
      ),
      'the last line names it, with file and line',
    );
    t.match(fail.stdout, /^ {10}trace h1 -> h2/m, 'and shows its trace');
    t.equal((fail.stdout.match(/^ {2}ok /gm) ?? []).length, 6, 'the other six hold');
    t.same(namespacesOf(name), [], 'torn down after a failure too');
  });

  t.test('verify: bad input', async (t) => {
    const dir = tempDir(t);
    const syntax = writeFile(
      dir,
      'syntax.yml',
      'name: vbad\nnodes:\n  h1: {kind: host}\n  h2: {kind: host}\n  s1: {kind: switch}\nlinks:\n  - endpoints: [h1, s1]\n  - endpoints: [h2, s1]\nexpect:\n  - h1 -> h2 reachable\n  - h1 can reach h2\n',
    );
    const r = await runCli(['verify', syntax]);
    t.equal(r.code, 2, 'exit 2: the topology is wrong');
    t.match(
      r.stderr,
      new RegExp(
        `^error: ${syntax.replaceAll('/', '\\/')}:11:5: expect\\[1\\]: unknown expectation "h1 can reach h2"`,
        'm',
      ),
    );
    const none = writeFile(dir, 'none.yml', 'name: vnone\nnodes:\n  h1: {kind: host}\n');
    const n = await runCli(['verify', none]);
    t.equal(n.code, 1);
    t.match(n.stderr, /none\.yml has no expect: entries to verify/);
  });
}
