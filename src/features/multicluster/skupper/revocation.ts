// Revoked link certificates (SHA-256 fingerprints). Our CA signed them, so TLS accepts them: a
// router refuses them after the handshake. The list is kept in the site directory so a
// restarted router still refuses them.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export class Revocations<L> {
  /** the certificate each accepted link presented, to close them when it is revoked */
  private readonly inUse = new Map<L, string>();

  private constructor(
    private readonly file: string,
    private readonly revoked: Set<string>,
  ) {}

  /** The revocations recorded in `file` (none when it does not exist yet). */
  static load<L>(file: string): Revocations<L> {
    const list = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as string[]) : [];
    return new Revocations<L>(file, new Set(list));
  }

  isRevoked(fingerprint: string): boolean {
    return this.revoked.has(fingerprint);
  }

  /** `link` was accepted with the certificate `fingerprint`. */
  track(link: L, fingerprint: string): void {
    this.inUse.set(link, fingerprint);
  }

  untrack(link: L): void {
    this.inUse.delete(link);
  }

  /** Records the revocation (on disk first) and returns the links using the certificate, to be closed. */
  revoke(fingerprint: string): L[] {
    this.revoked.add(fingerprint);
    writeFileSync(this.file, JSON.stringify([...this.revoked]));
    return [...this.inUse].filter(([, f]) => f === fingerprint).map(([l]) => l);
  }
}
