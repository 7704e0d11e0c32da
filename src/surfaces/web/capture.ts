// GET /api/capture?node=N&iface=I[&count=C][&seconds=S][&filter=F]: a capture of one interface
// as a pcap download, tcpdump in the node's namespace streamed into the response. It ends
// after `count` packets (default 100) or `seconds` (default 10, at most 60), or when the
// client goes away; the process is waited for either way.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { spawnIn } from '../../kernel/enter.js';
import { captureArgv, parseCount, resolveIfaces } from '../../runtime/capture.js';
import type { Simulation } from '../../runtime/simulation.js';

export async function serveCapture(
  sim: Simulation,
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const q = url.searchParams;
  const fail = (status: number, error: string) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(`${JSON.stringify({ error })}\n`);
  };
  const name = q.get('node') ?? '';
  const node = sim.nodes.get(name);
  if (!node) return fail(404, `no node "${name}"`);
  let argv: string[];
  const seconds = Number(q.get('seconds') ?? 10);
  try {
    if (!(seconds > 0 && seconds <= 60)) throw new Error('capture: seconds wants 1 to 60');
    const ifaces = await resolveIfaces(node.name, node.ns, q.get('iface') ? [q.get('iface')!] : []);
    const filter = q.get('filter') ? [q.get('filter')!] : [];
    argv = captureArgv(ifaces, filter, { write: '-', count: parseCount(q.get('count') ?? '100') });
    res.writeHead(200, {
      'content-type': 'application/vnd.tcpdump.pcap',
      'content-disposition': `attachment; filename="${sim.name}-${node.name}-${ifaces[0]}.pcap"`,
      'cache-control': 'no-store',
    });
  } catch (e) {
    return fail(400, (e as Error).message);
  }
  if (req.method === 'HEAD') return void res.end();
  await new Promise<void>((resolve) => {
    const child = spawnIn(node.ns, argv, { stdio: ['ignore', 'pipe', 'ignore'] });
    const stop = () => child.kill('SIGINT');
    const timer = setTimeout(stop, seconds * 1000);
    req.on('close', stop);
    child.stdout!.pipe(res);
    child.on('close', () => {
      clearTimeout(timer);
      req.off('close', stop);
      resolve();
    });
    child.on('error', () => res.end());
  });
}
