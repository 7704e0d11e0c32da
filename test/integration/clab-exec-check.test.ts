// The exec-addressed OSPF triangle (test/fixtures/clab-exec-addressed) through the real
// `netsim` binary, the way a containerlab user drives it: the PCs' addresses come only from
// their exec lines, yet `netsim check` pairs them (the simulation reads the addresses back from
// the kernel after the build), `netsim trace PC1 PC2` follows the probe across the routers,
// `netsim inspect` shows them, and `netsim save` writes each router's running configuration
// where containerlab keeps its nodes' files: clab-<lab>/<node>/ next to the .clab.yml.
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { PROJECT_ROOT } from '../../src/model/load.js';
import { waitFor } from '../../src/util/wait.js';
import { runNetsim, startUp, tempDir, waitReady } from '../lib/cli.js';
import { requireFrr } from '../lib/frr.js';
import { requireRoot, uniqueName } from '../lib/harness.js';

const FIXTURE = join(PROJECT_ROOT, 'test/fixtures/clab-exec-addressed');

interface CheckJson {
  pairs: number;
  passed: number;
  failed: number;
  nodes: { name: string; kind: string; ip: string; matrix: string }[];
  results: { src: string; dst: string; ok: boolean; matrix: string }[];
}

if (requireRoot(t) && requireFrr(t)) {
  // a copy: `netsim save` writes next to the lab file
  const dir = tempDir(t);
  cpSync(FIXTURE, dir, { recursive: true });
  const lab = join(dir, 'ospf-triangle.clab.yml');
  const name = uniqueName('tck');
  const fg = startUp(t, lab, name);
  const state = await waitReady(fg, name);

  // OSPF converges in its own time (the subtests start after: the simulation lives as long as they run): PC1 reaches PC2 and back once every router has both routes
  const reach = (from: string, ip: string) =>
    runNetsim(['exec', '--sim', name, from, '--', 'ping', '-c1', '-W1', ip]).then((r) => r.code === 0);
  await waitFor(async () => (await reach('PC1', '192.168.12.2')) && (await reach('PC2', '192.168.11.2')), {
    timeoutMs: 90000,
    what: 'PC1 and PC2 to reach each other across the triangle',
  });
  // reachable is not converged: until router1 and router2 see each other Full, the PC subnets
  // go round through router3; trace asserts the shortest path, so wait for it both ways
  const direct = async (router: string, net: string, via: string) =>
    (
      await runNetsim(['exec', '--sim', name, router, '--', 'ip', '-4', 'route', 'show', net])
    ).stdout.includes(`via ${via} `);
  await waitFor(
    async () =>
      (await direct('router1', '192.168.12.0/24', '10.0.12.2')) &&
      (await direct('router2', '192.168.11.0/24', '10.0.12.1')),
    { timeoutMs: 90000, what: 'router1 and router2 to route the PC subnets over their direct link' },
  );

  t.test('state.json has the addresses the exec lines gave (the model has none)', async (t) => {
    const addrOf = (node: string) => state.nodes.find((n) => n.name === node)?.ifaces.map((i) => i.addr);
    t.same(addrOf('PC1'), ['192.168.11.2/24'], 'PC1 eth1: 192.168.11.2/24');
    t.same(addrOf('PC2'), ['192.168.12.2/24'], 'PC2 eth1: 192.168.12.2/24');
  });

  t.test('check pairs the exec-addressed PCs, and they pass', async (t) => {
    const r = await runNetsim(['check', '--sim', name, '--json']);
    t.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout) as CheckJson;
    t.match(c, { pairs: 2, passed: 2, failed: 0 }, 'PC1 <-> PC2: 2 pairs, both reachable');
    t.same(
      c.nodes.map((n) => `${n.name}:${n.kind}:${n.ip}:${n.matrix}`),
      ['PC1:host:192.168.11.2:hosts', 'PC2:host:192.168.12.2:hosts'],
      'the PCs with the addresses their exec lines gave',
    );
    const text = await runNetsim(['check', '--sim', name]);
    t.match(
      text.stdout,
      new RegExp(
        `^${name}: 2/2 pairs reachable, 0 failed, between 2 nodes \\(host; routers left out: --all\\)`,
      ),
    );
  });

  t.test('trace PC1 PC2: delivered across the routers', async (t) => {
    const r = await runNetsim(['trace', '--sim', name, 'PC1', 'PC2', '--json']);
    t.equal(r.code, 0, `exit 0: delivered ${r.stderr}`);
    const tr = JSON.parse(r.stdout) as {
      outcome: string;
      target: { ip: string; node?: string };
      hops: { node: string }[];
    };
    t.equal(tr.outcome, 'delivered');
    t.same(
      tr.hops.map((h) => h.node),
      ['PC1', 'router1', 'router2', 'PC2'],
      'seen at PC1, router1, router2 and PC2',
    );
    t.same(tr.target, { ip: '192.168.12.2', node: 'PC2' }, "PC2's address from its exec line");
  });

  t.test('inspect shows the PCs with their addresses', async (t) => {
    const r = await runNetsim(['inspect', '--sim', name, '--format', 'json']);
    t.equal(r.code, 0, r.stderr);
    const rows = (JSON.parse(r.stdout) as Record<string, { name: string; ipv4_address: string[] }[]>)[name];
    t.same(
      rows.find((x) => x.name === 'PC1')?.ipv4_address,
      ['eth1 192.168.11.2/24'],
      'PC1: eth1 192.168.11.2/24',
    );
  });

  t.test(
    'save writes clab-<lab>/<node>/frr.conf next to the .clab.yml, as containerlab keeps node files',
    async (t) => {
      const r = await runNetsim(['save', '--sim', name]);
      t.equal(r.code, 0, r.stderr);
      const labDir = join(dir, 'clab-ospf-triangle');
      t.equal(
        r.stdout,
        ['router1', 'router2', 'router3'].map((n) => `saved ${n}: ${join(labDir, n, 'frr.conf')}\n`).join(''),
        'one line per router, each file in the lab directory',
      );
      t.same(
        readdirSync(labDir).sort(),
        ['router1', 'router2', 'router3'],
        'a directory per router, none for the PCs',
      );
      for (const n of ['router1', 'router2', 'router3']) {
        const text = readFileSync(join(labDir, n, 'frr.conf'), 'utf8');
        t.match(text, new RegExp(`\nhostname ${n}\n`), `${n}: its hostname`);
        t.match(text, /\nrouter ospf\n/, `${n}: its router ospf`);
      }
      t.notOk(existsSync(join(dir, `netsim-${name}`)), 'nothing under netsim-<sim>/');
    },
  );
}
