// The agents' etcd client against two fake gateway members (node:http servers on loopback):
// a watch resumes on the other member from the revision after the last event it delivered, a
// request refused for want of a leader (503) goes to the other member, a refusal (404) does
// not, and every request carries etcd's `hasleader` metadata. The real etcd is in
// test/integration/k8s-watch-failover.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { EtcdHttp } from '../../src/features/k8s/agent/etcd-http.js';
import { watchAfter } from '../../src/features/k8s/agent/etcd-prefix.js';
import { waitFor } from '../../src/util/wait.js';

type Handler = (path: string, body: Record<string, unknown>, res: ServerResponse) => void;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const header = (rev: number) => ({ header: { revision: String(rev) } });
const event = (key: string, rev: number, del = false) => ({
  ...(del ? { type: 'DELETE' } : {}),
  kv: { key: b64(key), mod_revision: String(rev), ...(del ? {} : { value: b64(`v${rev}`) }) },
});

async function member(handle: Handler): Promise<{ url: string; server: Server; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      seen.push(`${req.url} hasleader=${req.headers['grpc-metadata-hasleader']}`);
      handle(req.url ?? '', JSON.parse(body || '{}'), res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, seen };
}

t.test('a watch resumes on the next member after the last revision delivered', async (t) => {
  const starts: string[] = [];
  const watch =
    (first: boolean): Handler =>
    (path, body, res) => {
      if (path !== '/v3/watch') return void res.writeHead(503).end('{"code":14,"message":"no leader"}');
      starts.push((body.create_request as { start_revision: string }).start_revision);
      res.writeHead(200);
      res.write(`${JSON.stringify({ result: { ...header(4), created: true } })}\n`);
      if (first) {
        // revision 6 is a transaction of two keys: one message
        res.write(`${JSON.stringify({ result: { ...header(6), events: [event('/p/a', 5)] } })}\n`);
        res.write(
          `${JSON.stringify({ result: { ...header(6), events: [event('/p/b', 6), event('/p/a', 6, true)] } })}\n`,
        );
        setTimeout(() => res.destroy(), 50); // the member dies
      } else res.write(`${JSON.stringify({ result: { ...header(7), events: [event('/p/c', 7)] } })}\n`);
    };
  const a = await member(watch(true));
  const b = await member(watch(false));
  const etcd = new EtcdHttp([a.url, b.url]);
  // the client starts on a random member: make it A
  if (etcd.endpoint() !== a.url) etcd.failed(b.url);
  const got: string[] = [];
  const w = await watchAfter(etcd, '/p/', '4', {
    put: (kv) => got.push(`put ${kv.key} ${kv.value} ${kv.modRevision}`),
    delete: (kv) => got.push(`delete ${kv.key} ${kv.modRevision}`),
  });
  await waitFor(() => got.length >= 4, { timeoutMs: 5000, what: 'four events' });
  t.same(
    got,
    ['put /p/a v5 5', 'put /p/b v6 6', 'delete /p/a 6', 'put /p/c v7 7'],
    'each event once, in order',
  );
  t.same(starts, ['5', '7'], 'opened from the revision after the listing, then after the last event');
  t.equal(w.member, b.url, 'now on the other member');
  t.ok(a.seen[0].endsWith('hasleader=true'), 'the watch asks for a member with a leader');
  etcd.close();
  a.server.close();
  b.server.close();
});

t.test('a request goes to the next member when one has no leader, not when etcd refuses it', async (t) => {
  const a = await member((path, _body, res) => {
    if (path === '/v3/lease/revoke')
      return void res.writeHead(404).end('{"code":5,"message":"lease not found"}');
    res.writeHead(503).end('{"code":14,"message":"etcdserver: no leader"}');
  });
  const b = await member((_path, body, res) => {
    const kvs = [{ key: body.key, value: b64('yes'), mod_revision: '9' }];
    res.writeHead(200).end(JSON.stringify({ ...header(9), kvs }));
  });
  const etcd = new EtcdHttp([a.url, b.url]);
  if (etcd.endpoint() !== a.url) etcd.failed(b.url);
  t.equal(await etcd.get('/k'), 'yes', 'answered by the member with a leader');
  t.same(a.seen, ['/v3/kv/range hasleader=true'], 'asked the leaderless member first');
  if (etcd.endpoint() !== a.url) etcd.failed(b.url);
  await t.rejects(etcd.leaseRevoke('1'), /lease not found/, 'a refusal is final');
  t.equal(b.seen.filter((s) => s.startsWith('/v3/lease')).length, 0, 'and not asked again elsewhere');
  etcd.close();
  a.server.close();
  b.server.close();
});
