// A link token: what one site gives another so that the other's router can dial it (address,
// link cost, and a client certificate the issuing site's CA signed for this one link), passed
// around as base64 JSON. Shared by the main process (site.ts) and the router process.

/** What one site gives another to link: where to dial and a certificate for this link. */
export interface SkupperToken {
  site: string;
  host: string;
  port: number;
  cost: number;
  /** the site CA (verifies the server, and signed the client certificate) */
  ca: string;
  cert: string;
  key: string;
}

export const encodeToken = (t: SkupperToken): string => Buffer.from(JSON.stringify(t)).toString('base64');
export function decodeToken(s: string | SkupperToken): SkupperToken {
  if (typeof s !== 'string') return s;
  try {
    return JSON.parse(Buffer.from(s, 'base64').toString()) as SkupperToken;
  } catch {
    throw new Error('not a skupper token (base64 JSON from skupperToken())');
  }
}
