// A containerlab lab addressed over IPv6 (test/fixtures/clab-ipv6) through the real `netsim`
// binary: the link's `ipv6` list, an endpoint's `ipv6`, the router's frr.conf `ipv6 address`
// lines and a host's exec line all address their interfaces; `netsim check` pairs the hosts
// over IPv6 (h3's address read back from the kernel) and they reach each other across r1;
// `netsim export` writes the IPv6 addresses back as the links' `ipv6` lists.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../src/model/load.js';
import { waitFor } from '../../src/util/wait.js';
import { runNetsim, startUp, tempDir, waitReady } from '../lib/cli.js';
import { requireFrr } from '../lib/frr.js';
import { requireRoot, uniqueName } from '../lib/harness.js';

const LAB = join(PROJECT_ROOT, 'test/fixtures/clab-ipv6/v6.clab.yml');

interface CheckJson {
  families: number[];
  pairs: number;
  passed: number;
  nodes: { name: string; ip: string; family: number }[];
}

if (requireRoot(t) && requireFrr(t)) {
  const name = uniqueName('c6');
  const fg = startUp(t, LAB, name);
  const state = await waitReady(fg, name);

  t.test('state.json: the IPv6 addresses from every source', async (t) => {
    const addr6 = (node: string) => state.nodes.find((n) => n.name === node)?.ifaces.map((i) => i.addr6);
    t.same(addr6('h1'), ['fd00:1::2/64'], "h1: the link's ipv6 list");
    t.same(addr6('h2'), ['fd00:2::2/64'], "h2: its endpoint's ipv6");
    t.same(
      addr6('r1'),
      ['fd00:1::1/64', 'fd00:2::1/64', 'fd00:3::1/64'],
      'r1: frr.conf (eth1, eth3) and its endpoint (eth2)',
    );
    t.same(addr6('h3'), ['fd00:3::2/64'], 'h3: its exec line, read back from the kernel');
  });

  t.test('the hosts reach each other over IPv6 across r1', async (t) => {
    const ping = (from: string, ip: string) =>
      runNetsim(['exec', '--sim', name, from, '--', 'ping', '-6', '-c1', '-W1', ip]).then(
        (r) => r.code === 0,
      );
    // zebra applies r1's frr.conf in its own time
    await waitFor(async () => (await ping('h1', 'fd00:2::2')) && (await ping('h3', 'fd00:1::2')), {
      timeoutMs: 30000,
      what: 'h1 -> h2 and h3 -> h1 over IPv6',
    });
    const r = await runNetsim(['check', '--sim', name, '--json']);
    t.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout) as CheckJson;
    t.same(c.families, [6], 'IPv6 only: no host has an IPv4 address');
    t.match(c, { pairs: 6, passed: 6 }, 'h1, h2, h3: 6 pairs, all reachable');
    t.same(
      c.nodes.map((n) => `${n.name} ${n.ip}`),
      ['h1 fd00:1::2', 'h2 fd00:2::2', 'h3 fd00:3::2'],
    );
  });

  t.test('inspect lists the IPv6 addresses in a column of their own', async (t) => {
    const r = await runNetsim(['inspect', '--sim', name, '--format', 'json']);
    t.equal(r.code, 0, r.stderr);
    const rows = (JSON.parse(r.stdout) as Record<string, { name: string; ipv6_address?: string[] }[]>)[name];
    t.same(rows.find((x) => x.name === 'h3')?.ipv6_address, ['eth1 fd00:3::2/64'], 'h3: eth1 fd00:3::2/64');
    t.same(
      rows.find((x) => x.name === 'r1')?.ipv6_address,
      ['eth1 fd00:1::1/64', 'eth2 fd00:2::1/64', 'eth3 fd00:3::1/64'],
      'r1: global addresses only (its frr.conf link-local one is left out)',
    );
  });

  t.test("export writes the IPv6 addresses back as the links' ipv6 lists", async (t) => {
    const dir = tempDir(t);
    const out = join(dir, 'back.clab.yml');
    const r = await runNetsim(['export', '--clab', LAB, '-o', out]);
    t.equal(r.code, 0, r.stderr);
    const back = parse(readFileSync(out, 'utf8')) as {
      topology: { links: { endpoints: string[]; ipv6?: (string | null)[] }[] };
    };
    t.same(
      back.topology.links.map((l) => l.ipv6),
      [
        ['fd00:1::2/64', 'fd00:1::1/64'],
        ['fd00:2::2/64', 'fd00:2::1/64'],
        [null, 'fd00:3::1/64'],
      ],
      "each link's IPv6 addresses, null for an end without one (h3's comes from its exec line)",
    );
  });
}
