// The agents (pod network agent with kube-proxy, policy and speaker; cluster DNS) start 50 at
// once on a big cluster: they load Node's built-in modules and netsim's own files only. The
// etcd3 package (gRPC, protobufjs) cost each ~150 ms of CPU and ~11 MB at start; they speak
// etcd's JSON gateway instead (src/features/k8s/agent/etcd-http.ts). Walks the compiled import
// graph from each entry point: every import is relative or `node:`, and no file loads a module
// at run time (createRequire, import()), which this walk would not see.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const agentDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/features/k8s/agent');
const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;

function graph(entry: string): { files: Set<string>; external: Set<string>; dynamic: string[] } {
  const files = new Set<string>();
  const external = new Set<string>();
  const dynamic: string[] = [];
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const src = readFileSync(file, 'utf8');
    if (/\bcreateRequire\b|\bimport\s*\(|\brequire\s*\(/.test(src)) dynamic.push(file);
    for (const m of src.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else external.add(spec);
    }
  };
  visit(entry);
  return { files, external, dynamic };
}

for (const entry of ['main.js', 'dns.js']) {
  t.test(`agent/${entry} loads no npm package`, async (t) => {
    const g = graph(resolve(agentDir, entry));
    t.ok(g.files.size > 3, `${g.files.size} files reached (the walk follows imports)`);
    t.ok(
      [...g.files].some((f) => f.endsWith('etcd-http.js')),
      'the JSON gateway client is among them',
    );
    t.same(
      [...g.external].filter((s) => !s.startsWith('node:')),
      [],
      `only node: built-ins outside netsim (${[...g.external].sort().join(', ')})`,
    );
    t.same(g.dynamic, [], 'no module loaded at run time');
  });
}
