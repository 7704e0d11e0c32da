// Security checks (issue 21): a running simulation's directory is root's (0711) and its
// control socket 0600; the web view off 127.0.0.1 refuses every request without its token,
// the event stream and captures included (and on 127.0.0.1, requests for other host names);
// names that would reach a shell never get past validation (test/unit/fuzz-names.test.ts has
// the rules; here the CLI refuses such a topology and builds nothing).
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { controlSocket } from '../../src/runtime/control.js';
import { simDir } from '../../src/runtime/paths.js';
import { WebServer } from '../../src/surfaces/web/server.js';
import { formatIp } from '../../src/util/ipv4.js';
import { runNetsim, startUp, tempDir, waitReady, writeFile } from '../lib/cli.js';
import { errorLines } from '../lib/corpus.js';
import { modelFromYaml, namespacesOf, requireRoot, uniqueName, up } from '../lib/harness.js';

const LAN = `name: lan
nodes:
  h1: { kind: host }
  h2: { kind: host }
  s1: { kind: switch }
links:
  - endpoints: [h1, s1]
  - endpoints: [h2, s1]
`;

if (requireRoot(t)) {
  t.test('the simulation directory is 0711, its control socket 0600', async (t) => {
    const name = uniqueName('sec');
    const file = writeFile(tempDir(t), 'lan.yml', LAN);
    const fg = startUp(t, file, name);
    await waitReady(fg, name);
    const dir = lstatSync(simDir(name));
    t.ok(dir.isDirectory(), 'a directory');
    // 0711, not 0700: FRR (user frr) and nginx's workers (nobody) pass through to their files
    t.equal((dir.mode & 0o777).toString(8), '711', `${simDir(name)} is 0711: only root lists or writes it`);
    t.equal(dir.uid, 0, 'owned by root');
    const sock = lstatSync(controlSocket(name));
    t.ok(sock.isSocket(), 'the control socket');
    t.equal((sock.mode & 0o777).toString(8), '600', `${controlSocket(name)} is 0600`);
    t.ok(readdirSync(simDir(name)).includes('ledger.jsonl'), 'the ledger is inside it');
  });

  t.test('off 127.0.0.1 every path needs the token, the event stream and captures too', async (t) => {
    const sim = await up(t, modelFromYaml(LAN));
    const web = await WebServer.start(sim, { bind: '127.0.0.2' });
    t.teardown(() => web.close());
    const token = web.token!;
    t.ok(token.length >= 20, 'a token is generated');
    const base = `http://127.0.0.2:${web.port}`;
    const paths = [
      '/',
      '/api/topology',
      '/api/node/h1',
      '/metrics',
      '/api/events',
      '/api/capture?node=h1&seconds=1',
    ];
    for (const p of paths) {
      const sep = p.includes('?') ? '&' : '?';
      t.equal((await fetch(`${base}${p}`)).status, 401, `${p}: no token, 401`);
      t.equal((await fetch(`${base}${p}${sep}token=x${token}`)).status, 401, `${p}: a wrong token, 401`);
      t.equal(
        (await fetch(`${base}${p}`, { headers: { authorization: `Bearer ${token.slice(1)}` } })).status,
        401,
        `${p}: a wrong bearer token, 401`,
      );
    }
    // with the token: the event stream opens, a capture sees h1's pings to h2
    const events = new AbortController();
    const stream = await fetch(`${base}/api/events?token=${token}`, { signal: events.signal });
    t.equal(stream.status, 200, 'the event stream with ?token=');
    t.match(stream.headers.get('content-type'), /text\/event-stream/);
    events.abort();
    const capture = fetch(`${base}/api/capture?node=h2&iface=eth1&count=2&seconds=10&filter=icmp`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const h2 = formatIp(sim.model.nodes.get('h2')!.ifaces[0].addr!.ip);
    // until the capture has its two packets (tcpdump starts within the request)
    const ping = sim.node('h1').exec(`ping -c 40 -i 0.2 -w 10 ${h2}`);
    const res = await capture;
    t.equal(res.status, 200, 'a capture with the bearer token');
    const pcap = Buffer.from(await res.arrayBuffer());
    await ping;
    t.ok(pcap.length > 24 + 2 * 16, `a pcap with the pings (${pcap.length} bytes)`);
  });

  t.test('on 127.0.0.1 without a token: other host names are refused (DNS rebinding)', async (t) => {
    const sim = await up(t, modelFromYaml(LAN));
    const web = await WebServer.start(sim);
    t.teardown(() => web.close());
    t.equal(web.token, undefined, 'no token on 127.0.0.1');
    const { request } = await import('node:http');
    const get = (path: string, host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: web.port, path, headers: { host } }, (res) => {
          resolve(res.statusCode ?? 0);
          res.destroy();
        });
        req.on('error', reject);
        req.end();
      });
    for (const p of ['/api/topology', '/api/events', '/api/capture?node=h1&seconds=1'])
      t.equal(await get(p, 'evil.example:80'), 403, `${p} for another host name: 403`);
    t.equal(await get('/api/topology', `127.0.0.1:${web.port}`), 200, 'for 127.0.0.1: 200');
  });

  t.test('a node name with shell metacharacters: one located error, nothing built', async (t) => {
    const name = uniqueName('sec');
    const dir = tempDir(t);
    const file = writeFile(
      dir,
      'bad.yml',
      `name: x\nnodes:\n  h1: { kind: host }\n  "h2;touch ${join(dir, 'pwned')}": { kind: host }\n`,
    );
    const r = await runNetsim(['up', file, '-n', name, '--no-repl']);
    t.not(r.code, 0, 'refused');
    t.equal(errorLines(r.stderr).length, 1, 'one error', { stderr: r.stderr });
    t.match(r.stderr, `${file}:4:3: nodes["h2;touch`, 'located at the name');
    t.same(namespacesOf(name), [], 'no namespace');
    t.notOk(readdirSync(dir).includes('pwned'), 'nothing ran');
    t.throws(() => lstatSync(simDir(name)), 'no simulation directory');
  });
}
