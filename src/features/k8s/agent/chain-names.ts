// kube-proxy's chain and set names, written and read in one place: the agent generates them
// (proxy-rules.ts), the main process and the metrics reader parse the endpoint chains back
// to count packets per endpoint. A change to the format changes both sides together.
import * as crypto from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * SHA-256 as hex in one call where Node has it (20.12+: a third of createHash's cost without an
 * optimizing compiler; hex: no buffer to allocate and collect).
 */
const sha256hex: (s: string) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (s) => (crypto as unknown as { hash(a: string, d: string, o: string): string }).hash('sha256', s, 'hex')
    : (s) => crypto.createHash('sha256').update(s).digest('hex');

/** kube-proxy's chain-name hash: base32 of SHA-256, first 8 characters (the first 40 bits). */
export function hashName(s: string): string {
  const h = sha256hex(s);
  // 40 bits: the top 8 in `hi`, the low 32 in `lo`
  const hi = Number.parseInt(h.slice(0, 2), 16);
  const lo = Number.parseInt(h.slice(2, 10), 16);
  return (
    BASE32[hi >>> 3] +
    BASE32[((hi & 7) << 2) | (lo >>> 30)] +
    BASE32[(lo >>> 25) & 31] +
    BASE32[(lo >>> 20) & 31] +
    BASE32[(lo >>> 15) & 31] +
    BASE32[(lo >>> 10) & 31] +
    BASE32[(lo >>> 5) & 31] +
    BASE32[lo & 31]
  );
}

/**
 * An endpoint's address in a chain name: an IPv6 address has its colons written as dots, as
 * kube-proxy does (colons are not allowed there), `fd00:10:244:1::5` -> `fd00.10.244.1..5`.
 */
export const endpointName = (ip: string) => ip.replaceAll(':', '.');

/** The address back from a chain name: a dotted quad is IPv4, anything else IPv6. */
const ipOfName = (s: string) => (/^\d+\.\d+\.\d+\.\d+$/.test(s) ? s : s.replaceAll('.', ':'));

// spn: the service port name, `<namespace>/<service>/<protocol>/<port name>` (or
// `<namespace>/<service>/icmp` for a service answering ping); ep: `<ip>/<port>` (or `<ip>`)
export const serviceChain = (spn: string) => `service-${hashName(spn)}-${spn}`;
export const externalChain = (spn: string) => `external-${hashName(spn)}-${spn}`;
export const endpointChain = (spn: string, ep: string) =>
  `endpoint-${hashName(`${spn}__${ep}`)}-${spn}__${ep}`;
export const affinitySet = (spn: string, ep: string) => `affinity-${hashName(`${spn}__${ep}`)}-${spn}__${ep}`;

export interface EndpointChainName {
  namespace: string;
  service: string;
  /** tcp, udp, sctp or icmp */
  protocol: string;
  /** `<ip>/<port>`, or `<ip>` for ping (an IPv6 address with dots for colons, as in the name) */
  endpoint: string;
  /** the endpoint's address (IPv6 with its colons) */
  ip: string;
}

/** `endpoint-<hash>-<ns>/<svc>/<proto>[/<port name>]__<ip>[/<port>]`, what endpointChain writes. */
const ENDPOINT_CHAIN =
  /^endpoint-[A-Z2-7]{8}-([^/]+)\/([^/]+)\/(tcp|udp|sctp|icmp)[^_]*__(([\da-f.]+)(?:\/\d+)?)$/;

/** The parts of an endpoint chain's name; undefined for any other chain. */
export function parseEndpointChain(chain: string): EndpointChainName | undefined {
  const m = ENDPOINT_CHAIN.exec(chain);
  if (!m) return undefined;
  return { namespace: m[1], service: m[2], protocol: m[3], endpoint: m[4], ip: ipOfName(m[5]) };
}

/** kube-proxy's chain of a service port's endpoints on this node (traffic policy Local). */
export const localChain = (spn: string) => `local-${hashName(spn)}-${spn}`;
