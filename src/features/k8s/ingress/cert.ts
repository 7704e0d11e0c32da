// Self-signed certificates with Debian's openssl: the controller's fallback (ingress-nginx's
// "Fake Certificate") and, on request, a pair for a host stored as a kubernetes.io/tls Secret
// (`C0.ingressCert('shop.example')`, REPL `ingress-cert C0 shop.example`): the certificate
// file is its own CA, which a client trusts with `curl --cacert`.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Kernel } from '../../../kernel/kernel.js';
import type { ClusterCore } from '../cluster-core.js';
import { storeSecret, TLS_SECRET } from '../manifests/secret.js';
import { requireNamespace } from '../namespaces.js';

/** An EC P-256 key and a self-signed certificate for `cn` (and these DNS names), valid a year. */
export async function selfSigned(
  kernel: Kernel,
  cn: string,
  out: { crt: string; key: string },
  hosts: string[] = [],
): Promise<void> {
  mkdirSync(dirname(out.crt), { recursive: true });
  const san = hosts.length ? ['-addext', `subjectAltName=${hosts.map((h) => `DNS:${h}`).join(',')}`] : [];
  await kernel.tool(undefined, 'openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '365',
    '-subj',
    `/CN=${cn}`,
    ...san,
    '-keyout',
    out.key,
    '-out',
    out.crt,
  ]);
}

export interface GeneratedCert {
  /** the Secret it is stored as (ns/name) */
  secret: string;
  /** the certificate file: give it to clients as their CA (`curl --cacert`) */
  crt: string;
  key: string;
}

/** A self-signed pair for `host`, stored as the kubernetes.io/tls Secret `secret` (default `<host>-tls`). */
export async function generateTlsSecret(
  c: ClusterCore,
  host: string,
  opts: { secret?: string; namespace?: string } = {},
): Promise<GeneratedCert> {
  const namespace = opts.namespace ?? 'default';
  const name = opts.secret ?? `${host.replace(/^\*\./, 'wildcard.').replaceAll('.', '-')}-tls`;
  await c.ensureNetworkConfig();
  await requireNamespace(c.etcd, namespace);
  const base = join(c.sim.dir, 'ingress', c.name, 'generated', `${namespace}_${name}`);
  const files = { crt: `${base}.crt`, key: `${base}.key` };
  await selfSigned(c.sim.kernel, host, files, [host]);
  const b64 = (f: string) => readFileSync(f).toString('base64');
  await storeSecret(c.etcd, {
    name,
    namespace,
    type: TLS_SECRET,
    data: { 'tls.crt': b64(files.crt), 'tls.key': b64(files.key) },
  });
  return { secret: `${namespace}/${name}`, ...files };
}
