// The site router's control socket: the main process (site.ts) drives the router with one
// JSON-lines request per connection (util/jsonlines.ts): status, link, unlink, expose, unexpose,
// revoke, listen, unlisten. A file socket: control never crosses the simulated network.
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { type JsonObject, serveJsonLines } from '../../../util/jsonlines.js';
import type { LinkConfig, SiteRouter } from './site-router.js';

/** One control request carried out on `router`; its reply fields. */
export async function handleControl(router: SiteRouter, req: JsonObject): Promise<JsonObject> {
  switch (req.op) {
    case 'status':
      return router.status();
    case 'link':
      router.link(req as unknown as LinkConfig);
      return {};
    case 'unlink':
      router.unlink(String(req.name));
      return {};
    case 'expose':
      router.expose(String(req.key), (req.hosts as string[]).map(String), Number(req.port));
      return {};
    case 'unexpose':
      router.unexpose(String(req.key));
      return {};
    case 'revoke':
      return { closed: router.revoke(String(req.fingerprint)) };
    case 'listen':
      router.listen(String(req.key), Number(req.port));
      return {};
    case 'unlisten':
      router.unlisten(String(req.key));
      return {};
    default:
      throw new Error(`unknown op ${String(req.op)}`);
  }
}

/** Serves `router`'s control requests on the Unix socket `path` (a stale socket file is replaced). */
export function serveControl(router: SiteRouter, path: string): Promise<Server> {
  rmSync(path, { force: true });
  const server = createServer();
  serveJsonLines(server, (req) => handleControl(router, req));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve(server));
  });
}
