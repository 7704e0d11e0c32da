// A site's certificate authority, as files in the site directory made with the openssl CLI
// (run through the kernel layer, in the main process's namespace: no network involved): the
// CA, the router's server certificate for its address, and one client certificate per link
// token.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kernel } from '../../../kernel/kernel.js';

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** PEM texts of one issued certificate, its key and the CA that signed it. */
export interface IssuedCertificate {
  ca: string;
  cert: string;
  key: string;
}

export class SiteCertificates {
  constructor(
    private readonly kernel: Kernel,
    readonly dir: string,
  ) {}

  file(name: string): string {
    return join(this.dir, name);
  }

  /** The CA and the server certificate for the router's addresses, unless an earlier start made them. */
  async ensureAuthority(site: string, ips: string[]): Promise<void> {
    if (existsSync(this.file('ca.crt'))) return;
    await this.openssl([
      'req',
      '-x509',
      ...EC,
      '-keyout',
      this.file('ca.key'),
      '-out',
      this.file('ca.crt'),
      '-days',
      '365',
      '-subj',
      `/CN=${site}-site-ca`,
    ]);
    // each address a link may dial (IPv4 and IPv6): TLS checks the one dialled against these
    await this.issue('server', site, 365, [
      '-addext',
      `subjectAltName=${ips.map((ip) => `IP:${ip}`).join(',')}`,
    ]);
  }

  /** A client certificate `<base>.crt/.key` with common name `cn`, valid 30 days. */
  async issueClient(base: string, cn: string): Promise<IssuedCertificate> {
    await this.issue(base, cn, 30);
    return {
      ca: readFileSync(this.file('ca.crt'), 'utf8'),
      cert: readFileSync(this.file(`${base}.crt`), 'utf8'),
      key: readFileSync(this.file(`${base}.key`), 'utf8'),
    };
  }

  /** A key and certificate `<base>.key/.crt` signed by the site CA. */
  private async issue(base: string, cn: string, days: number, extra: string[] = []): Promise<void> {
    await this.openssl([
      'req',
      '-x509',
      '-CA',
      this.file('ca.crt'),
      '-CAkey',
      this.file('ca.key'),
      ...EC,
      '-keyout',
      this.file(`${base}.key`),
      '-out',
      this.file(`${base}.crt`),
      '-days',
      String(days),
      '-subj',
      `/CN=${cn}`,
      ...extra,
    ]);
  }

  private async openssl(args: string[]): Promise<void> {
    await this.kernel.tool(undefined, 'openssl', args);
  }
}
