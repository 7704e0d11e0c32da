// nginx.conf from the controller's routes: one server per host (HTTP on 80, HTTPS on 443 with the
// host's certificate, or the controller's own self-signed one), a location per path:
// Exact `= /p`; Prefix /p matches /p and /p/... (`= /p` and `/p/`, as ingress-nginx renders
// it), ImplementationSpecific as Prefix. Every file nginx writes (pid, logs, temp dirs) is under
// the controller's directory, so nothing of the host's nginx is touched.
import { join } from 'node:path';
import { type Backend, DEFAULT_HOST, type Location, type Routes } from './routes.js';

/** Where an nginx instance keeps its files (its `-p` prefix). */
export interface NginxPaths {
  dir: string;
  /** cert and key of each TLS secret (ns/name), written by the controller */
  certOf: (secret: string) => { crt: string; key: string };
  /** the controller's fallback certificate (hosts without a Secret of their own) */
  fallback: { crt: string; key: string };
}

export const confPath = (dir: string) => join(dir, 'nginx.conf');
export const pidPath = (dir: string) => join(dir, 'nginx.pid');
export const errorLogPath = (dir: string) => join(dir, 'error.log');
export const accessLogPath = (dir: string) => join(dir, 'access.log');

/** The lines every netsim nginx starts with: pid, logs and temp paths under `dir`. */
export function nginxHead(dir: string, name: string): string[] {
  const tmp = (what: string) => `${join(dir, 'tmp', what)}`;
  return [
    `# ${name}: rendered by netsim (do not edit: it is rewritten on every change)`,
    'worker_processes 1;',
    `pid ${pidPath(dir)};`,
    `error_log ${errorLogPath(dir)} notice;`,
    'events { worker_connections 4096; }',
    'http {',
    '  log_format ingress \'$remote_addr [$time_local] "$host" "$request" $status $body_bytes_sent \'',
    "                    'ingress=$ingress service=$service upstream=$upstream_addr $request_time';",
    `  access_log ${accessLogPath(dir)} ingress;`,
    `  client_body_temp_path ${tmp('client_body')};`,
    `  proxy_temp_path ${tmp('proxy')};`,
    `  fastcgi_temp_path ${tmp('fastcgi')};`,
    `  uwsgi_temp_path ${tmp('uwsgi')};`,
    `  scgi_temp_path ${tmp('scgi')};`,
    '  default_type text/plain;',
    '  server_names_hash_bucket_size 128;',
    '  proxy_connect_timeout 3s;',
    // a refused connection to the ClusterIP is tried again, a new connection each time, so
    // kube-proxy picks again: pods have no readiness probes here, and a pod just scaled up is
    // an endpoint a moment before its server listens
    '  proxy_next_upstream error timeout http_502 http_503;',
    `  proxy_next_upstream_tries ${RETRIES};`,
    '  proxy_next_upstream_timeout 3s;',
    '  map $host $ingress { default "-"; }',
    '  map $host $service { default "-"; }',
  ];
}

/** Tries of one request (each a new connection to the ClusterIP: kube-proxy picks an endpoint each time). */
const RETRIES = 20;

/**
 * The upstream of a backend: the service's ClusterIP and port, listed RETRIES times (a retry
 * goes to the next server: the same address, a new connection); a headless service's
 * endpoints (none: one server marked down).
 */
export const upstreamName = (b: Backend) => `${b.service.replace('/', '_')}_${b.port}`;

function upstreams(backends: Backend[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const b of backends) {
    const name = upstreamName(b);
    if (seen.has(name)) continue;
    seen.add(name);
    const servers = !b.endpoints
      ? Array.from({ length: RETRIES }, () => b.address)
      : b.endpoints.length
        ? b.endpoints
        : ['127.0.0.1:1 down'];
    out.push(`  upstream ${name} {`, ...servers.map((a) => `    server ${a} max_fails=0;`), '  }');
  }
  return out;
}

function proxy(b: Backend, ingress: string, indent: string): string[] {
  return [
    `${indent}  set $ingress "${ingress}";`,
    `${indent}  set $service "${b.service}:${b.port}";`,
    `${indent}  proxy_set_header Host $host;`,
    `${indent}  proxy_set_header X-Real-IP $remote_addr;`,
    `${indent}  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`,
    `${indent}  proxy_set_header X-Forwarded-Host $host;`,
    `${indent}  proxy_set_header X-Forwarded-Proto $scheme;`,
    `${indent}  proxy_pass http://${upstreamName(b)};`,
  ];
}

/** nginx location blocks for a server's paths (Exact before Prefix of the same path). */
export function locationBlocks(locations: Location[], indent = '    '): string[] {
  const exact = new Set(locations.filter((l) => l.type === 'Exact').map((l) => l.path));
  const out: string[] = [];
  const block = (match: string, l: Location) =>
    out.push(`${indent}location ${match} {`, ...proxy(l.backend, l.ingress, indent), `${indent}}`);
  for (const l of locations) {
    if (l.type === 'Exact') block(`= ${l.path}`, l);
    else if (l.path === '/') block('/', l);
    else {
      if (!exact.has(l.path)) block(`= ${l.path}`, l);
      block(`${l.path}/`, l);
    }
  }
  return out;
}

/** The ingress controller's nginx.conf. */
export function renderIngressConf(routes: Routes, paths: NginxPaths, name: string): string {
  const backends = [
    ...routes.servers.flatMap((s) => s.locations.map((l) => l.backend)),
    ...(routes.defaultBackend ? [routes.defaultBackend] : []),
  ];
  const lines = [...nginxHead(paths.dir, name), ...upstreams(backends)];
  const servers = routes.servers.some((s) => s.host === DEFAULT_HOST)
    ? routes.servers
    : [{ host: DEFAULT_HOST, locations: [] }, ...routes.servers];
  for (const s of servers) {
    const dflt = s.host === DEFAULT_HOST;
    const cert = s.tlsSecret ? paths.certOf(s.tlsSecret) : paths.fallback;
    lines.push(
      '  server {',
      `    listen 80${dflt ? ' default_server' : ''};`,
      `    listen 443 ssl${dflt ? ' default_server' : ''};`,
      `    server_name ${s.host};`,
      `    ssl_certificate ${cert.crt};`,
      `    ssl_certificate_key ${cert.key};`,
      ...locationBlocks(s.locations),
    );
    // what no path of the host takes: the default backend, else 404 (ingress-nginx's default backend)
    if (!s.locations.some((l) => l.type === 'Prefix' && l.path === '/')) {
      if (routes.defaultBackend)
        lines.push(
          '    location / {',
          ...proxy(routes.defaultBackend, routes.defaultBackend.ingress, '    '),
          '    }',
        );
      else lines.push('    location / {', '      return 404 "default backend - 404\\n";', '    }');
    }
    lines.push('  }');
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
