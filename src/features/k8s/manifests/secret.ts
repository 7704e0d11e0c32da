// Secret (v1): stored at /registry/secrets/<ns>/<name> with its data base64-encoded, as the API
// server keeps it (stringData is folded into data). netsim reads one type: kubernetes.io/tls
// (tls.crt and tls.key), the certificates the ingress controller serves; others are stored only.
import type { Etcd3 } from 'etcd3';
import { z } from 'zod';
import { type StoredMeta, storedMetadata } from './stored-meta.js';

export const SECRETS_PREFIX = '/registry/secrets/';
export const secretKey = (ns: string, name: string) => `${SECRETS_PREFIX}${ns}/${name}`;
export const TLS_SECRET = 'kubernetes.io/tls';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A Secret's fields beside apiVersion, kind and metadata. */
export const secretFields = {
  type: z.string({ error: 'a Secret type, e.g. kubernetes.io/tls' }).optional(),
  data: z
    .record(z.string(), z.string({ error: 'base64 text' }).regex(BASE64, 'base64 text'), {
      error: 'a map of base64 values',
    })
    .optional(),
  stringData: z.record(z.string(), z.string({ error: 'text' }), { error: 'a map of text values' }).optional(),
  immutable: z.boolean().optional(),
};

/** Why a Secret of this type lacks what it needs (kubernetes.io/tls: tls.crt and tls.key), with the field. */
export function secretProblems(s: {
  type?: string;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}): { path: string[]; message: string }[] {
  if (s.type !== TLS_SECRET) return [];
  const has = (k: string) => s.data?.[k] !== undefined || s.stringData?.[k] !== undefined;
  return ['tls.crt', 'tls.key']
    .filter((k) => !has(k))
    .map((k) => ({ path: ['data'], message: `a ${TLS_SECRET} Secret needs ${k}` }));
}

export interface SecretObject {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: StoredMeta;
  type: string;
  data: Record<string, string>;
}

/** data with stringData folded in (base64), as the API server stores it. */
export function secretData(s: { data?: Record<string, string>; stringData?: Record<string, string> }) {
  const data = { ...s.data };
  for (const [k, v] of Object.entries(s.stringData ?? {})) data[k] = Buffer.from(v).toString('base64');
  return data;
}

/** Stores a Secret; `created`, `configured` or `unchanged`. */
export async function storeSecret(
  etcd: Etcd3,
  o: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    type: string;
    data: Record<string, string>;
  },
): Promise<'created' | 'configured' | 'unchanged'> {
  const key = secretKey(o.namespace, o.name);
  const raw = await etcd.get(key).string();
  const before = raw ? (JSON.parse(raw) as SecretObject) : undefined;
  const same = before && before.type === o.type && JSON.stringify(before.data) === JSON.stringify(o.data);
  const obj: SecretObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: storedMetadata(o, before, !!same),
    type: o.type,
    data: o.data,
  };
  if (before && JSON.stringify(before) === JSON.stringify(obj)) return 'unchanged';
  await etcd.put(key).value(JSON.stringify(obj));
  return before ? 'configured' : 'created';
}

/** The decoded certificate and key of a kubernetes.io/tls Secret. */
export function tlsPair(s: SecretObject): { crt: string; key: string } | undefined {
  if (s.type !== TLS_SECRET || !s.data['tls.crt'] || !s.data['tls.key']) return undefined;
  const dec = (v: string) => Buffer.from(v, 'base64').toString();
  return { crt: dec(s.data['tls.crt']), key: dec(s.data['tls.key']) };
}
