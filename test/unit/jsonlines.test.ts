// The JSON-lines request channel (util/jsonlines.ts) over a real Unix socket in a temporary
// directory: replies, the server's errors, bad requests, and a server that does not answer.
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { JsonLineError, requestJsonLine, serveJsonLines } from '../../src/util/jsonlines.js';

async function listening(server: Server, path: string): Promise<void> {
  await new Promise<void>((resolve) => server.listen(path, resolve));
}

/** The raw reply line to `text` sent as is. */
function raw(path: string, text: string): Promise<string> {
  return new Promise((resolve) => {
    const sock = createConnection(path, () => sock.write(text));
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
    });
    sock.on('close', () => resolve(buf));
  });
}

t.test('requests and replies', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'jsonlines-'));
  const path = join(dir, 'sock');
  const server = createServer();
  serveJsonLines(server, async (req) => {
    if (req.op === 'fail') throw new Error('it failed');
    return { echo: req.value };
  });
  await listening(server, path);
  t.teardown(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  t.same(await requestJsonLine(path, { op: 'echo', value: 7 }, 2000), { ok: true, echo: 7 });
  const refused = await requestJsonLine(path, { op: 'fail' }, 2000).catch((e: unknown) => e);
  t.ok(refused instanceof JsonLineError, 'a JsonLineError');
  t.match(
    refused,
    { failure: 'refused', message: 'it failed' },
    "the handler's error, as the server said it",
  );
  t.same(JSON.parse(await raw(path, 'not json\n')), { ok: false, error: 'not a JSON request' });
  t.equal(await raw(path, `${'x'.repeat(70000)}`), '', 'an endless line is dropped without an answer');
  const missing = await requestJsonLine(join(dir, 'nothing'), {}, 2000).catch((e: unknown) => e);
  t.match(missing, { failure: 'connection' }, 'no socket: a connection failure');
});

t.test('a server that does not answer', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'jsonlines-'));
  const path = join(dir, 'sock');
  const silent = createServer(() => {});
  await listening(silent, path);
  t.teardown(() => {
    silent.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const err = await requestJsonLine(path, { op: 'x' }, 200).catch((e: unknown) => e);
  t.match(err, { failure: 'timeout' });
});

t.test('a server that closes without a reply', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'jsonlines-'));
  const path = join(dir, 'sock');
  const closing = createServer((sock) => sock.end());
  await listening(closing, path);
  t.teardown(() => {
    closing.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const err = await requestJsonLine(path, { op: 'x' }, 2000).catch((e: unknown) => e);
  t.match(err, { failure: 'no answer' });
});
