// `netsim capture` through the real binary, tcpdump/dumpcap/tshark and the kernel, on a
// 2-worker cluster: a file tshark reads back with the ICMP echoes of a ping made during the
// capture; pcap streamed on stdout; two interfaces of a worker into one pcapng; --decode shows
// the pod addresses inside VXLAN on the underlay; SIGINT ends a capture cleanly; bad inputs.
// Then the REPL's `capture` on two hosts: a file, text lines until Ctrl-C, bad inputs.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { webServerOf } from '../../src/surfaces/web/server.js';
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

const TOPOLOGY = `
name: captest
nodes:
  s1: {kind: switch, subnet: 192.168.71.0/24}
  C0:
    kind: cluster
    underlay: s1
    workers: 2
    podCidr: 10.245.0.0/16
    pods:
      a1: {worker: w1}
      b1: {worker: w2}
`;

const tshark = (file: string, fields: string[], filter = '') =>
  spawnSync(
    'tshark',
    ['-r', file, ...(filter ? ['-Y', filter] : []), '-T', 'fields', ...fields.flatMap((f) => ['-e', f])],
    {
      encoding: 'utf8',
    },
  ).stdout;

if (requireRoot(t)) {
  t.test('capture in a running cluster', async (t) => {
    const dir = tempDir(t);
    const name = uniqueName('cap');
    const fg = startUp(t, writeFile(dir, 'topo.yml', TOPOLOGY), name);
    const state = await waitReady(fg, name, 120_000);
    const ip = (n: string) => stateIp(state, n);
    const [w1, w2, a1, b1] = ['C0w1', 'C0w2', 'a1', 'b1'].map(ip);
    const sim = ['--sim', name];
    const ping = (from: string, to: string) =>
      runNetsim(['exec', ...sim, from, '--', 'ping', '-c', '2', '-i', '0.2', to]);
    /** a capture left running, once its program says it listens */
    const capture = async (args: string[]) => {
      const c = startNetsim(t, ['capture', ...sim, ...args]);
      await waitFor(() => /listening on|Capturing on|File: /.test(c.stderr()) || c.child.exitCode !== null, {
        what: 'the capture to listen',
      });
      return c;
    };

    t.test('-w FILE -c N: tshark reads back the ICMP echoes of a ping', async (t) => {
      const file = join(dir, 'w2.pcap');
      const c = await capture(['C0w2:eth1', '-w', file, '-c', '4', 'icmp']);
      t.equal((await ping('C0w1', w2)).code, 0, 'C0w1 pings C0w2');
      t.equal((await c.exited).code, 0, `the capture ends after 4 packets: ${c.stderr()}`);
      const lines = tshark(file, ['ip.src', 'ip.dst', 'icmp.type']).trim().split('\n');
      t.same(
        lines,
        [`${w1}\t${w2}\t8`, `${w2}\t${w1}\t0`, `${w1}\t${w2}\t8`, `${w2}\t${w1}\t0`],
        'echo request, reply, twice',
      );
    });

    t.test('-w -: pcap on standard output', async (t) => {
      const child = spawn(
        process.execPath,
        [NETSIM, 'capture', ...sim, 'C0w2', '-w', '-', '-c', '2', 'icmp'],
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
      await waitFor(() => err.includes('listening on'), { what: 'tcpdump to listen' });
      await ping('C0w1', w2);
      t.equal(await done, 0, 'ends after 2 packets');
      const pcap = Buffer.concat(out);
      t.equal(pcap.readUInt32LE(0), 0xa1b2c3d4, 'pcap magic number');
      const file = writeFile(dir, 'stdout.pcap', '');
      spawnSync('sh', ['-c', `cat >'${file}'`], { input: pcap });
      t.match(tshark(file, ['ip.src', 'ip.dst']), `${w1}\t${w2}`, 'tshark reads it: the echo request');
    });

    t.test('two interfaces of a worker into one pcapng', async (t) => {
      const file = join(dir, 'two.pcapng');
      const c = await capture(['C0w2:eth1,flannel.1', '-w', file, '-c', '8', 'icmp or udp port 8472']);
      t.equal((await ping('a1', b1)).code, 0, 'pod a1 pings pod b1 on the other worker');
      t.equal((await c.exited).code, 0, `the capture ends after 8 packets: ${c.stderr()}`);
      t.equal(readFileSync(file).readUInt32LE(0), 0x0a0d0d0a, 'pcapng section header');
      const rows = tshark(file, ['frame.interface_name', 'udp.dstport', 'ip.src']);
      t.match(rows, /^eth1\t8472\t/m, 'VXLAN on the underlay, from eth1');
      t.notMatch(rows, /^eth1\t\t/m, 'the filter holds on both interfaces');
      t.match(
        rows,
        new RegExp(`^flannel\\.1\\t\\t${a1.replace(/\./g, '\\.')}$`, 'm'),
        'the pod packet on flannel.1',
      );
    });

    t.test('--decode: the inner pod packet inside VXLAN on the underlay', async (t) => {
      const c = await capture(['C0w2:eth1', '--decode', '-c', '2', 'udp port 8472']);
      await ping('a1', b1);
      t.equal((await c.exited).code, 0, 'ends after 2 packets');
      t.match(
        c.stdout(),
        new RegExp(`${a1} → ${b1}\\s+ICMP .*Echo \\(ping\\) request`),
        'a1 → b1 echo request, decoded',
      );
      t.notMatch(c.stdout(), /UDP.*8472/, 'not shown as plain UDP');
    });

    t.test('SIGINT stops a capture cleanly', async (t) => {
      const c = await capture(['C0w1', 'icmp']);
      await ping('C0w2', w1);
      await waitFor(() => c.stdout().includes('ICMP echo request'), { what: 'a decoded line' });
      c.child.kill('SIGINT');
      t.equal((await c.exited).code, 0, 'exit 0');
      t.match(c.stdout(), `IP ${w2} > ${w1}: ICMP echo request`, 'tcpdump text lines');
    });

    t.test('bad inputs: one clear error each, exit 2', async (t) => {
      const cases: [string[], RegExp][] = [
        [['nosuch'], /^error: capture: no node "nosuch" in /],
        [['C0w1:eth9'], /^error: capture: C0w1 has no interface "eth9" \(interfaces: .*eth1/],
        [['C0w1', '-c', 'x'], /^error: capture: -c wants a packet count, not "x"/],
        [['C0w1', '--decode', '-w', '/tmp/x.pcap'], /^error: capture: --decode .* does not combine with -w/],
        [['C0w1:eth1', 'nosuch:eth1'], /^error: capture: no node "nosuch" \(argument 2, "nosuch:eth1"\)/],
        [['C0w1:eth1', 'C0w2:eth9'], /^error: capture: C0w2 has no interface "eth9"/],
      ];
      for (const [args, re] of cases) {
        const r = await runNetsim(['capture', ...sim, ...args]);
        t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
        t.match(r.stderr, re, args.join(' '));
        t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
      }
    });
  });
}

if (requireRoot(t)) {
  t.test("the REPL's capture verb", async (t) => {
    const sim = await up(
      t,
      modelFromYaml(`
name: x
nodes:
  h1: {kind: host}
  h2: {kind: host}
  s1: {kind: switch, subnet: 10.72.1.0/24}
links:
  - endpoints: [h1, s1]
  - endpoints: [h2, s1]
`),
    );
    const { cmds, io, run } = repl(sim);
    const h1 = sim.node('h1');
    const h2 = sim.node('h2');
    const file = join(tempDir(t), 'h2.pcap');
    const capturing = run(`capture h2 -w ${file} -c 2 icmp`);
    // tcpdump opens its file once it listens
    await waitFor(() => existsSync(file), { what: 'the capture file' });
    t.equal((await h1.exec(`ping -c1 -W2 ${h2.ip}`)).exitCode, 0, 'h1 pings h2');
    t.equal((await capturing).code, 0, 'the capture ends after 2 packets');
    t.same(
      tshark(file, ['ip.src', 'ip.dst', 'icmp.type']).trim().split('\n'),
      [`${h1.ip}\t${h2.ip}\t8`, `${h2.ip}\t${h1.ip}\t0`],
      'echo request and reply',
    );

    const [errAt, outAt] = [io.err.length, io.out.length];
    const text = run('capture h1 icmp');
    await waitFor(() => io.err.slice(errAt).includes('listening on eth1'), {
      what: 'tcpdump to listen',
    });
    t.equal((await h2.exec(`ping -c1 -W2 ${h1.ip}`)).exitCode, 0, 'h2 pings h1');
    await waitFor(() => io.out.slice(outAt).includes('ICMP echo request'), { what: 'a text line' });
    t.ok(cmds.interrupt(), 'Ctrl-C');
    const r = await text;
    t.match(r.out, `IP ${h2.ip} > ${h1.ip}: ICMP echo request`, 'Ctrl-C ends it; its text lines printed');

    const bad = await run('capture h1:eth7');
    t.equal(bad.code, 1, 'unknown interface: status 1');
    t.match(bad.err, /^\*\*\* capture: h1 has no interface "eth7" \(interfaces: eth1\)\n$/, 'one line');
    t.match((await run('capture h9')).err, /no node "h9"/, 'unknown node');

    // the web view: a link's capture as a pcap download
    const web = await webServerOf(sim);
    t.teardown(() => web.close());
    const res = await fetch(`${web.url}api/capture?node=h2&iface=eth1&count=2&filter=icmp`);
    t.equal(res.status, 200, '200');
    t.match(
      res.headers.get('content-disposition') ?? '',
      /attachment; filename=".*-h2-eth1\.pcap"/,
      'a download',
    );
    const body = res.arrayBuffer();
    let done = false;
    void body.then(() => {
      done = true;
    });
    // pings until tcpdump, which says nothing here when it listens, has seen one echo and its reply
    await waitFor(async () => done || ((await h1.exec(`ping -c1 -W1 ${h2.ip}`)) && false), {
      what: 'the download to end',
      timeoutMs: 15000,
    });
    const pcap = Buffer.from(await body);
    t.equal(pcap.readUInt32LE(0), 0xa1b2c3d4, 'pcap magic number');
    const dl = writeFile(tempDir(t), 'dl.pcap', '');
    spawnSync('sh', ['-c', `cat >'${dl}'`], { input: pcap });
    t.same(
      // sorted: tcpdump may have started between an echo and its reply
      tshark(dl, ['ip.src', 'ip.dst', 'icmp.type']).trim().split('\n').sort(),
      [`${h1.ip}\t${h2.ip}\t8`, `${h2.ip}\t${h1.ip}\t0`].sort(),
      'tshark reads the echo request and reply',
    );
    const badIface = await fetch(`${web.url}api/capture?node=h2&iface=eth9`);
    t.equal(badIface.status, 400, 'unknown interface: 400');
    t.match(await badIface.json(), { error: /h2 has no interface "eth9"/ }, 'says which');
    t.equal((await fetch(`${web.url}api/capture?node=zz`)).status, 404, 'unknown node: 404');
  });
}
