// knetsim's ingress: `C0w1.run_ingress('ing1', 8001, [{path: '/svc1', endpoint: '100.64.11.1'}])`
// (and `runIngress`): nginx in the worker itself, listening on the port, each path a prefix
// proxied to its endpoint (an address, `address:port`, default port 80: typically a service
// VIP, so kube-proxy picks the pod). The process is recorded and ended by PID like any daemon.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ObjectKey } from '../../../runtime/objects.js';
import { parseIp } from '../../../util/ipv4.js';
import { waitFor } from '../../../util/wait.js';
import type { WorkerNode } from '../worker.js';
import { nginxArgs } from './controller.js';
import { confPath, errorLogPath, locationBlocks, nginxHead } from './render.js';
import { normalisePath } from './routes.js';

export interface KnetsimRoute {
  path: string;
  endpoint: string;
}

export interface KnetsimIngress {
  name: string;
  worker: string;
  /** where it answers: the worker's address and the port */
  url: string;
  pid: number;
  conf: string;
}

/** Per simulation: the instances running, by `<worker>/<name>`. */
const RUNNING = new ObjectKey<Map<string, KnetsimIngress>>('knetsim-ingresses');

export async function runIngress(
  w: WorkerNode,
  name: string,
  port: number,
  routes: KnetsimRoute[],
): Promise<KnetsimIngress> {
  if (!/^[A-Za-z0-9_-]+$/.test(name))
    throw new Error(`run_ingress: "${name}" is not a name (letters, digits, _ and -)`);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`run_ingress: port ${port} is not 1..65535`);
  if (!Array.isArray(routes) || routes.length === 0)
    throw new Error('run_ingress: give [{path, endpoint}, ...]');
  const key = `${w.name}/${name}`;
  const running = w.sim.objects.state(RUNNING, () => new Map<string, KnetsimIngress>());
  if (running.has(key)) throw new Error(`run_ingress: ${name} already runs on ${w.name}`);
  const locations = routes.map((r, i) => {
    if (typeof r?.path !== 'string' || !r.path.startsWith('/'))
      throw new Error(`run_ingress: route ${i}: path "${r?.path}" must start with /`);
    const [ip, p = '80'] = String(r.endpoint ?? '').split(':');
    if (parseIp(ip) === undefined || !/^\d+$/.test(p))
      throw new Error(`run_ingress: route ${i}: endpoint "${r.endpoint}" is not an address or address:port`);
    return {
      path: normalisePath(r.path, 'Prefix'),
      type: 'Prefix' as const,
      backend: { service: `${name}/${ip.replaceAll('.', '-')}`, address: `${ip}:${p}`, port: Number(p) },
      ingress: `${w.name}/${name}`,
    };
  });
  const dir = join(w.sim.dir, 'ingress', `${w.name}-${name}`);
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const upstreams = [...new Map(locations.map((l) => [l.backend.service, l.backend])).values()].flatMap(
    (b) => [`  upstream ${b.service.replace('/', '_')}_${b.port} { server ${b.address}; }`],
  );
  const conf = [
    ...nginxHead(dir, `knetsim ingress ${name} on ${w.name}`),
    ...upstreams,
    '  server {',
    `    listen ${port};`,
    ...locationBlocks(locations),
    ...(locations.some((l) => l.path === '/') ? [] : ['    location / { return 404 "no route\\n"; }']),
    '  }',
    '}',
    '',
  ].join('\n');
  writeFileSync(confPath(dir), conf);
  const pid = w.sim.kernel.spawnDaemon({
    ns: w.ns,
    cmd: 'nginx',
    args: [...nginxArgs(dir), '-g', 'daemon off;'],
    logFile: join(dir, 'nginx.log'),
  });
  const probe = async () =>
    (await w.sim.kernel.tool(w.ns, 'ss', ['-Htln', `sport = :${port}`], { check: false })).stdout.trim() !==
    '';
  await waitFor(probe, {
    timeoutMs: 10000,
    what: `nginx ${name} listening on ${w.name}:${port} (${errorLogPath(dir)})`,
  });
  const out: KnetsimIngress = {
    name,
    worker: w.name,
    url: `http://${w.ip}:${port}`,
    pid,
    conf: confPath(dir),
  };
  running.set(key, out);
  return out;
}
