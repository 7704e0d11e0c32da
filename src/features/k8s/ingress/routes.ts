// What the ingress controller serves, worked out from the Ingress objects as ingress-nginx does:
// the objects of its class (`nginx`, and those without a class: it is the default class), their
// rules merged into one server per host (host-less rules and the defaultBackend go to the
// default server), each path a location proxying to its Service's ClusterIP and port, so
// kube-proxy still picks the endpoint. An object naming an unknown service or port, or a
// host/path another object already serves, is refused as a whole (as ingress-nginx's admission
// webhook refuses it), with the field at fault; the others are served.
import type { Path } from '../../../model/errors.js';
import type { IngressSpec } from '../manifests/ingress.js';

export const INGRESS_CLASS = 'nginx';
/** the default server's name, as in nginx (`server_name _`) */
export const DEFAULT_HOST = '_';

/** An Ingress as the controller reads it (stored object or a manifest being applied). */
export interface IngressInput {
  namespace: string;
  name: string;
  spec: IngressSpec;
}

/** What a backend needs of a Service: its ClusterIP (once it has one), ports, and endpoints (headless ones). */
export interface ServiceInput {
  clusterIP?: string;
  ports: { name?: string; port: number; protocol?: string; targetPort?: number }[];
  /** the endpoints' addresses: a headless service (no ClusterIP) is proxied to them directly */
  endpoints?: string[];
}

export interface Backend {
  /** ns/name of the service */
  service: string;
  /** its ClusterIP:port, what nginx proxies to (a headless service's endpoints: ip:targetPort each) */
  address: string;
  /** a headless service: its endpoints, ip:targetPort (none: nothing answers, 502) */
  endpoints?: string[];
  port: number;
}

export interface Location {
  /** normalised: no trailing / (except "/" itself) */
  path: string;
  type: 'Exact' | 'Prefix';
  backend: Backend;
  /** ns/name of the Ingress */
  ingress: string;
}

export interface Server {
  host: string;
  locations: Location[];
  /** ns/name of the kubernetes.io/tls Secret for this host */
  tlsSecret?: string;
}

export interface RouteError {
  ingress: string;
  path: Path;
  message: string;
}

export interface Routes {
  servers: Server[];
  /** the cluster-wide default backend (the first Ingress's spec.defaultBackend) */
  defaultBackend?: Backend & { ingress: string };
  /** Ingresses refused, with the field at fault */
  errors: RouteError[];
  /** Ingresses of another class, left to another controller */
  skipped: string[];
}

type Spec = IngressSpec;
type BackendSpec = NonNullable<Spec['defaultBackend']>;

/** Prefix paths compare without their trailing slash: /a/ is /a. */
export function normalisePath(path: string | undefined, type: string): string {
  const p = path && path !== '' ? path : '/';
  return type !== 'Exact' && p.length > 1 && p.endsWith('/') ? p.replace(/\/+$/, '') || '/' : p;
}

function resolveBackend(
  b: BackendSpec,
  namespace: string,
  services: ReadonlyMap<string, ServiceInput>,
  at: Path,
): Backend | { error: Path; message: string } {
  const svc = b.service!;
  const id = `${namespace}/${svc.name}`;
  const s = services.get(id);
  if (!s)
    return {
      error: [...at, 'service', 'name'],
      message: `no service "${svc.name}" in namespace ${namespace}`,
    };
  const port = s.ports.find((p) =>
    svc.port.number !== undefined ? p.port === svc.port.number : p.name === svc.port.name,
  );
  if (!port) {
    const given =
      svc.port.number !== undefined ? `port ${svc.port.number}` : `no port named "${svc.port.name}"`;
    const has = s.ports.map((p) => (p.name ? `${p.name}:${p.port}` : String(p.port))).join(', ');
    return {
      error: [...at, 'service', 'port', svc.port.number !== undefined ? 'number' : 'name'],
      message: `service "${svc.name}" has ${svc.port.number !== undefined ? 'no ' : ''}${given} (its ports: ${has})`,
    };
  }
  if ((port.protocol ?? 'TCP') !== 'TCP')
    return { error: [...at, 'service', 'port'], message: `port ${port.port} of "${svc.name}" is not TCP` };
  if (s.clusterIP === 'None') {
    const target = port.targetPort ?? port.port;
    const endpoints = (s.endpoints ?? []).map((ip) => `${ip}:${target}`);
    return { service: id, address: endpoints[0] ?? '', port: port.port, endpoints };
  }
  return { service: id, address: `${s.clusterIP ?? '0.0.0.0'}:${port.port}`, port: port.port };
}

/** Is this Ingress for the nginx controller (class nginx, or none: nginx is the default class)? */
export function servedClass(spec: Spec): boolean {
  return spec.ingressClassName === undefined || spec.ingressClassName === INGRESS_CLASS;
}

/**
 * The servers for these Ingresses, in the order given (older objects first: a later one that
 * takes a host/path already served is the one refused).
 */
export function buildRoutes(
  ingresses: IngressInput[],
  services: ReadonlyMap<string, ServiceInput>,
  secrets: ReadonlySet<string> = new Set(),
): Routes {
  const servers = new Map<string, Server>();
  const serverOf = (host: string): Server => {
    const s = servers.get(host) ?? { host, locations: [] };
    servers.set(host, s);
    return s;
  };
  const owner = new Map<string, string>();
  const out: Routes = { servers: [], errors: [], skipped: [] };
  for (const ing of ingresses) {
    const id = `${ing.namespace}/${ing.name}`;
    if (!servedClass(ing.spec)) {
      out.skipped.push(id);
      continue;
    }
    const errors: RouteError[] = [];
    const fail = (path: Path, message: string) => {
      errors.push({ ingress: id, path, message });
    };
    const mine: { host: string; loc: Location }[] = [];
    const taken = new Map<string, Path>();
    let dflt: Routes['defaultBackend'];
    if (ing.spec.defaultBackend) {
      const b = resolveBackend(ing.spec.defaultBackend, ing.namespace, services, ['spec', 'defaultBackend']);
      if ('error' in b) fail(b.error, b.message);
      else if (out.defaultBackend)
        fail(
          ['spec', 'defaultBackend'],
          `the default backend is already given by Ingress ${out.defaultBackend.ingress}`,
        );
      else dflt = { ...b, ingress: id };
    }
    for (const [r, rule] of (ing.spec.rules ?? []).entries()) {
      const host = rule.host ?? DEFAULT_HOST;
      for (const [i, p] of (rule.http?.paths ?? []).entries()) {
        const at: Path = ['spec', 'rules', r, 'http', 'paths', i];
        const type = p.pathType === 'Exact' ? 'Exact' : 'Prefix';
        const path = normalisePath(p.path, type);
        const key = `${host} ${type} ${path}`;
        const where = host === DEFAULT_HOST ? 'any host' : `host ${host}`;
        const other = owner.get(key);
        const b = resolveBackend(p.backend as BackendSpec, ing.namespace, services, [...at, 'backend']);
        if (other)
          fail([...at, 'path'], `${type} path ${path} of ${where} is already served by Ingress ${other}`);
        else if (taken.has(key)) fail([...at, 'path'], `${type} path ${path} of ${where} is given twice`);
        else if ('error' in b) fail(b.error, b.message);
        else mine.push({ host, loc: { path, type, backend: b, ingress: id } });
        taken.set(key, at);
      }
    }
    const tls: { host: string; secret: string }[] = [];
    for (const [t, entry] of (ing.spec.tls ?? []).entries()) {
      const e = entry as { hosts?: string[]; secretName?: string };
      if (!e.secretName) continue;
      const secret = `${ing.namespace}/${e.secretName}`;
      if (!secrets.has(secret))
        fail(
          ['spec', 'tls', t, 'secretName'],
          `no kubernetes.io/tls Secret "${e.secretName}" in namespace ${ing.namespace}`,
        );
      for (const h of e.hosts ?? []) tls.push({ host: h, secret });
    }
    if (errors.length) {
      out.errors.push(...errors);
      continue;
    }
    if (dflt) out.defaultBackend = dflt;
    for (const { host, loc } of mine) {
      owner.set(`${host} ${loc.type} ${loc.path}`, id);
      serverOf(host).locations.push(loc);
    }
    for (const t of tls) {
      serverOf(t.host).tlsSecret ??= t.secret;
    }
  }
  out.servers = [...servers.values()].sort((a, b) =>
    a.host === DEFAULT_HOST ? -1 : b.host === DEFAULT_HOST ? 1 : a.host.localeCompare(b.host),
  );
  return out;
}

/** Which location nginx picks for a request: exact first, then the longest prefix (as nginx does). */
export function pickLocation(routes: Routes, host: string, path: string): { server: Server; loc?: Location } {
  const server = routes.servers.find((s) => s.host === host) ??
    routes.servers.find((s) => s.host.startsWith('*.') && host.endsWith(s.host.slice(1))) ??
    routes.servers.find((s) => s.host === DEFAULT_HOST) ?? { host: DEFAULT_HOST, locations: [] };
  const exact = server.locations.find((l) => l.type === 'Exact' && l.path === path);
  if (exact) return { server, loc: exact };
  const prefixes = server.locations
    .filter(
      (l) => l.type === 'Prefix' && (l.path === '/' || path === l.path || path.startsWith(`${l.path}/`)),
    )
    .sort((a, b) => b.path.length - a.path.length);
  return { server, loc: prefixes[0] };
}
