// etcd's v3 JSON gateway on the wire, for the agents' client (etcd-http.ts): the types, their
// JSON shapes (keys and values base64, 64-bit integers as decimal strings, fields left out when
// zero) and one POST to one member.
import { type Agent, type RequestOptions, request } from 'node:http';

/** A key-value pair as the agents read it (key and value raw; revisions as decimal strings). */
export interface KeyValue {
  key: Buffer;
  value: Buffer;
  createRevision: string;
  modRevision: string;
  lease: string;
}

/** One comparison of a transaction (etcd's Compare; `value` as the target says). */
export interface Compare {
  key: string;
  target: 'CREATE' | 'MOD' | 'VERSION' | 'VALUE';
  result: 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL';
  value: string | number;
}

/** One put of a transaction. */
export interface PutOp {
  key: string;
  value: string;
  lease?: string;
}

/** etcd refused the request (a gRPC status the gateway mapped to an HTTP one). */
export class EtcdError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: number,
  ) {
    super(message);
  }
}

/** A probe every this many ms of a member that watches are open on (etcd3's gRPC keepalive time) */
export const KEEPALIVE_MS = 6000;
export const KEEPALIVE_TIMEOUT_MS = 3000;
/** the longest a unary request may take on one member before the next one is asked */
export const REQUEST_TIMEOUT_MS = 5000;

export const REQUIRE_LEADER = { 'grpc-metadata-hasleader': 'true', 'content-type': 'application/json' };

export const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');
/** The end of the range of every key starting with `prefix` (the prefix with its last byte + 1). */
export function prefixEnd(prefix: string | Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--)
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  return Buffer.from([0]); // all keys
}

export interface RawKv {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  lease?: string;
}
export function kvOf(raw: RawKv): KeyValue {
  return {
    key: Buffer.from(raw.key ?? '', 'base64'),
    value: Buffer.from(raw.value ?? '', 'base64'),
    createRevision: raw.create_revision ?? '0',
    modRevision: raw.mod_revision ?? '0',
    lease: raw.lease ?? '0',
  };
}

export interface Header {
  header?: { revision?: string };
}

/** A POST of `path` to a member: `http://host:port` or `unix:///path/to/socket` (the main process's way in, used by tests). */
export function postTo(agent: Agent, url: string, path: string, timeoutMs?: number): RequestOptions {
  let where: RequestOptions;
  if (url.startsWith('unix://')) where = { socketPath: url.slice('unix://'.length), host: 'localhost', path };
  else {
    const u = new URL(url);
    where = { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: u.port || 80, path };
  }
  return {
    ...where,
    method: 'POST',
    agent,
    headers: REQUIRE_LEADER,
    ...(timeoutMs ? { timeout: timeoutMs } : {}),
  };
}

/** One POST to one member: the parsed JSON answer, or EtcdError / a network error. */
export function post<T>(
  agent: Agent,
  url: string,
  path: string,
  body: unknown,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request(postTo(agent, url, path, timeoutMs), (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        let json: { error?: string; message?: string; code?: number };
        try {
          json = JSON.parse(Buffer.concat(chunks).toString() || '{}');
        } catch {
          return reject(new EtcdError(`${path}: not JSON (HTTP ${res.statusCode})`, res.statusCode ?? 0));
        }
        if (res.statusCode === 200) resolve(json as T);
        else
          reject(
            new EtcdError(
              json.message ?? json.error ?? `HTTP ${res.statusCode}`,
              res.statusCode ?? 0,
              json.code,
            ),
          );
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${url}${path}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** Where requests go: the member to use now, and the news that one failed (the next is used). */
export interface Members {
  readonly agent: Agent;
  endpoint(): string;
  failed(url: string): void;
}
