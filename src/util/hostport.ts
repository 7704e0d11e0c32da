// An address and a port in one string, for either family: "10.0.0.1:80", "[fd00::1]:80" (RFC
// 3986's brackets; what socat, nft's `dnat to` and Node's logs print for IPv6).

/** "10.0.0.1:80", "[fd00::1]:80"; the address alone without a port. */
export function hostPort(ip: string, port?: number | string): string {
  if (port === undefined || port === '') return ip;
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** "10.0.0.1:80" / "[fd00::1]:80" / "[fd00::1]" / "fd00::1" / "10.0.0.1" → address and port. */
export function splitHostPort(text: string): { ip: string; port?: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6) return { ip: v6[1], port: v6[2] === undefined ? undefined : Number(v6[2]) };
  const v4 = /^([^:]+):(\d+)$/.exec(text);
  if (v4) return { ip: v4[1], port: Number(v4[2]) };
  return { ip: text };
}
