// A capture across several nodes through the real binary, dumpcap, mergecap and the kernel: a
// ping across a router while h1:eth1 and r1:eth2 are captured gives one pcapng in which tshark
// sees the ICMP packets on both interfaces, named node:iface; `-w -` streams the merged file;
// text lines prefixed with the node; Ctrl-C ends all; bad inputs and a failing capture leave
// nothing running. Then the REPL's `capture` on two nodes.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Ledger } from '../../src/kernel/ledger.js';
import { isAlive } from '../../src/kernel/proc.js';
import { simDir } from '../../src/runtime/paths.js';
import { waitFor } from '../../src/util/wait.js';
import {
  NETSIM,
  runNetsim,
  startNetsim,
  startUp,
  stateIp,
  tempDir,
  waitReady,
  writeFile,
} from '../lib/cli.js';
import { modelFromYaml, requireRoot, uniqueName, up } from '../lib/harness.js';
import { repl } from '../lib/repl.js';

const LAB = `
name: capn
nodes:
  h1: {kind: host}
  h3: {kind: host}
  s1: {kind: switch, subnet: 10.73.1.0/24}
  s2: {kind: switch, subnet: 10.73.2.0/24}
  r1: {kind: router}
links:
  - endpoints: [h1, s1]
  - endpoints: [r1, s1]
  - endpoints: [r1, s2]
  - endpoints: [h3, s2]
`;

/** tshark's fields of each packet, one tab-separated row per packet */
const tshark = (file: string, fields: string[]) =>
  spawnSync('tshark', ['-r', file, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n')
    .filter(Boolean);

/** capture processes of the simulation's ledger still alive */
const captureProcsAlive = (sim: string) =>
  new Ledger(join(simDir(sim), 'ledger.jsonl'))
    .read()
    .filter((e) => e.t === 'proc' && /^(dumpcap|tcpdump|tshark) /.test(e.cmd))
    .filter((e) => e.t === 'proc' && isAlive(e.pid));

if (requireRoot(t)) {
  t.test('netsim capture on several nodes', async (t) => {
    const dir = tempDir(t);
    const name = uniqueName('capn');
    const fg = startUp(t, writeFile(dir, 'lab.yml', LAB), name);
    const state = await waitReady(fg, name, 60_000);
    const ip = (n: string) => stateIp(state, n);
    const [h1, h3] = ['h1', 'h3'].map(ip);
    const sim = ['--sim', name];
    const ping = (n: number) =>
      runNetsim(['exec', ...sim, 'h1', '--', 'ping', '-c', String(n), '-i', '0.2', h3]);
    const listening = /capture: listening on h1:eth1, r1:eth2\n/;

    t.test('-w FILE: one pcapng, ICMP on both interfaces, named node:iface', async (t) => {
      const file = join(dir, 'both.pcapng');
      const c = startNetsim(t, ['capture', ...sim, 'h1:eth1', 'r1:eth2', '-w', file, '-c', '4', 'icmp']);
      await waitFor(() => listening.test(c.stderr()) || c.child.exitCode !== null, {
        what: 'both to listen',
      });
      t.equal((await ping(2)).code, 0, 'h1 pings h3 across r1');
      t.equal((await c.exited).code, 0, `ends after 4 packets on each: ${c.stderr()}`);
      t.equal(readFileSync(file).readUInt32LE(0), 0x0a0d0d0a, 'pcapng');
      const rows = tshark(file, ['frame.interface_name', 'ip.src', 'ip.dst', 'icmp.type']);
      const req = (i: string) => `${i}\t${h1}\t${h3}\t8`;
      const rep = (i: string) => `${i}\t${h3}\t${h1}\t0`;
      t.same(
        rows.slice().sort(),
        [req('h1:eth1'), req('h1:eth1'), rep('h1:eth1'), rep('h1:eth1')]
          .concat([req('r1:eth2'), req('r1:eth2'), rep('r1:eth2'), rep('r1:eth2')])
          .sort(),
        'two echoes and replies on h1:eth1 and on r1:eth2',
      );
      t.equal(rows[0], req('h1:eth1'), 'merged by time: the first request leaves h1 first');
      t.equal(rows[1], req('r1:eth2'), '... then r1 forwards it');
      t.same(captureProcsAlive(name), [], 'both dumpcaps were recorded and have ended');
      t.notOk(
        readdirSync(simDir(name)).some((f) => f.startsWith('capture-')),
        'no per-node file left',
      );
    });

    t.test('-w -: the merged pcapng on standard output', async (t) => {
      const child = spawn(
        process.execPath,
        [NETSIM, 'capture', ...sim, 'h1', 'r1:eth2', '-w', '-', '-c', '2', 'icmp'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const out: Buffer[] = [];
      let err = '';
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => {
        err += d;
      });
      const done = new Promise<number | null>((r) => child.on('close', r));
      await waitFor(() => listening.test(err), { what: 'both to listen' });
      await ping(1);
      t.equal(await done, 0, `ends after 2 packets on each: ${err}`);
      const file = join(dir, 'stdout.pcapng');
      writeFileSync(file, Buffer.concat(out));
      t.same(
        tshark(file, ['frame.interface_name', 'icmp.type']).sort(),
        ['h1:eth1\t0', 'h1:eth1\t8', 'r1:eth2\t0', 'r1:eth2\t8'],
        'tshark reads it from the pipe',
      );
    });

    t.test('text lines prefixed with the node; SIGINT ends every capture', async (t) => {
      const c = startNetsim(t, ['capture', ...sim, 'h1:eth1', 'r1:eth2', 'icmp']);
      await waitFor(() => listening.test(c.stderr()), { what: 'both to listen' });
      await ping(1);
      await waitFor(
        () => /^r1: .*ICMP echo reply/m.test(c.stdout()) && /^h1: .*ICMP echo reply/m.test(c.stdout()),
        {
          what: 'lines from both',
        },
      );
      c.child.kill('SIGINT');
      t.equal((await c.exited).code, 0, 'exit 0');
      t.match(c.stdout(), `h1: `, 'h1 lines');
      t.match(
        c.stdout(),
        new RegExp(
          `^r1: .*IP ${h1.replace(/\./g, '\\.')} > ${h3.replace(/\./g, '\\.')}: ICMP echo request`,
          'm',
        ),
      );
      t.same(captureProcsAlive(name), [], 'none left running');
    });

    t.test('one node: its tcpdump recorded in the ledger as well', async (t) => {
      const c = startNetsim(t, ['capture', ...sim, 'h1', 'icmp']);
      await waitFor(() => c.stderr().includes('listening on eth1'), { what: 'tcpdump to listen' });
      t.match(
        captureProcsAlive(name),
        [{ ns: `netsim-${name}-h1`, cmd: /^tcpdump -n -l -i eth1 icmp$/ }],
        'recorded while it runs',
      );
      c.child.kill('SIGINT');
      t.equal((await c.exited).code, 0, 'SIGINT: exit 0');
      t.same(captureProcsAlive(name), [], 'ended');
    });

    t.test('bad inputs: one clear error each; a failing capture stops the others', async (t) => {
      const cases: [string[], RegExp][] = [
        [['h1:eth1', 'r1:eth9'], /^error: capture: r1 has no interface "eth9" \(interfaces: eth1, eth2\)$/],
        [['h1', 'zz:eth1'], /^error: capture: no node "zz" \(argument 2, "zz:eth1"\)$/],
        [
          ['h1', 'r1', '--decode', '-w', 'x.pcapng'],
          /^error: capture: --decode .* does not combine with -w$/,
        ],
      ];
      for (const [args, re] of cases) {
        const r = await runNetsim(['capture', ...sim, ...args]);
        t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
        t.match(r.stderr.trim(), re, args.join(' '));
      }
      const r = await runNetsim(['capture', ...sim, 'h1', 'r1', '-w', join(dir, 'bad.pcapng'), 'nosuchword']);
      t.equal(r.code, 1, 'a filter dumpcap refuses: exit 1');
      t.match(r.stderr, /capture: (h1|r1): dumpcap ended \(\d+\); stopping the others/, 'says which ended');
      t.notOk(existsSync(join(dir, 'bad.pcapng')), 'no merged file');
      t.same(captureProcsAlive(name), [], 'nothing left running');
    });
  });
}

if (requireRoot(t)) {
  t.test("the REPL's capture on two nodes", async (t) => {
    const sim = await up(t, modelFromYaml(LAB));
    const { cmds, io, run } = repl(sim);
    const [h1, h3] = [sim.node('h1'), sim.node('h3')];
    const file = join(tempDir(t), 'repl.pcapng');
    const errAt = io.err.length;
    const capturing = run(`capture h1 r1:eth2 -w ${file} -c 2 icmp`);
    await waitFor(() => io.err.slice(errAt).includes('capture: listening on h1:eth1, r1:eth2'), {
      what: 'both to listen',
    });
    t.equal((await h1.exec(`ping -c1 -W2 ${h3.ip}`)).exitCode, 0, 'h1 pings h3');
    t.equal((await capturing).code, 0, 'ends after 2 packets on each');
    t.same(
      tshark(file, ['frame.interface_name', 'icmp.type']).sort(),
      ['h1:eth1\t0', 'h1:eth1\t8', 'r1:eth2\t0', 'r1:eth2\t8'],
      'one file, both nodes',
    );

    const [errAt2, outAt] = [io.err.length, io.out.length];
    const text = run('capture h1 r1:eth2 icmp');
    await waitFor(() => io.err.slice(errAt2).includes('capture: listening on'), { what: 'both to listen' });
    await h1.exec(`ping -c1 -W2 ${h3.ip}`);
    await waitFor(() => /^r1: .*ICMP echo reply/m.test(io.out.slice(outAt)), { what: 'a line from r1' });
    t.ok(cmds.interrupt(), 'Ctrl-C');
    t.equal((await text).code, 0, 'Ctrl-C ends both');
    t.match(
      (await run('capture h1 r1:eth7')).err,
      /^\*\*\* capture: r1 has no interface "eth7"/,
      'unknown iface',
    );
  });
}
