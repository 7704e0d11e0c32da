// The REPL's `trace <src> <dst> [port] [--json]`.
import type { Io, Verb } from '../../runtime/plugin.js';
import type { Simulation } from '../../runtime/simulation.js';
import { type Family, splitHostPort } from './family.js';
import { formatTraceJson } from './format.js';
import { traceIngress } from './ingress.js';
import { traceLive } from './live.js';
import { formatTrace, TraceError } from './trace.js';

export const TRACE_USAGE = 'trace src dst [port] [--json] [--host HOST [--path PATH]]';

/** `[src, dst, port?, json]` from the words after the verb; throws on anything else. */
export function traceArgs(args: string[]): {
  src: string;
  dst: string;
  port?: number;
  json: boolean;
  /** -4/-6: the probe's family (else the destination address's, else IPv4) */
  family?: Family;
  /** through an ingress controller: the request's Host and path */
  http?: { host: string; path: string };
} {
  const json = args.includes('--json');
  const v4 = args.includes('-4');
  const v6 = args.includes('-6');
  if (v4 && v6) throw new TraceError(`-4 and -6 together: pick one family (usage: ${TRACE_USAGE})`);
  const family: Family | undefined = v6 ? 6 : v4 ? 4 : undefined;
  const rest = args.filter((a) => a !== '--json' && a !== '-4' && a !== '-6');
  const option = (name: string) => {
    const i = rest.indexOf(name);
    if (i < 0) return undefined;
    const v = rest[i + 1];
    if (v === undefined) throw new TraceError(`${name} needs a value (usage: ${TRACE_USAGE})`);
    rest.splice(i, 2);
    return v;
  };
  const host = option('--host');
  const path = option('--path');
  if (path !== undefined && host === undefined)
    throw new TraceError(`--path needs --host (usage: ${TRACE_USAGE})`);
  // dst:port is accepted too, and [ipv6]:port or [ipv6]
  if (rest.length === 2 && (/^[^:]+:\d+$/.test(rest[1]) || rest[1].startsWith('['))) {
    const { ip, port } = splitHostPort(rest[1]);
    if (rest[1].startsWith('[') && !/^\[[^\]]+\](:\d+)?$/.test(rest[1]))
      throw new TraceError(`"${rest[1]}" is not [address] or [address]:port (usage: ${TRACE_USAGE})`);
    rest.splice(1, 1, ip, ...(port === undefined ? [] : [String(port)]));
  }
  if (rest.length < 2 || rest.length > 3) throw new TraceError(`usage: ${TRACE_USAGE}`);
  const [src, dst, p] = rest;
  if (p !== undefined && !/^\d+$/.test(p))
    throw new TraceError(`"${p}" is not a port number (usage: ${TRACE_USAGE})`);
  return {
    src,
    dst,
    port: p === undefined ? undefined : Number(p),
    json,
    ...(family !== undefined ? { family } : {}),
    ...(host !== undefined ? { http: { host, path: path ?? '/' } } : {}),
  };
}

export function traceVerbs(sim: Simulation, io: Io): Verb[] {
  return [
    {
      names: ['trace'],
      usage: TRACE_USAGE,
      help: 'send a real probe (ping, or TCP to port) and explain every hop: routes, bridges, NAT, VXLAN, policy; -6 (or an IPv6 address as dst): over IPv6',
      async run(args) {
        let a: ReturnType<typeof traceArgs>;
        try {
          a = traceArgs(args);
        } catch (err) {
          io.err(`*** ${(err as Error).message}\n`);
          return 1;
        }
        try {
          const r = a.http
            ? await traceIngress(sim, a.src, a.dst, a.http, { port: a.port, family: a.family })
            : await traceLive(sim, a.src, a.dst, { port: a.port, family: a.family });
          io.out(a.json ? formatTraceJson(r) : formatTrace(r));
          return r.outcome === 'delivered' ? 0 : 1;
        } catch (err) {
          io.err(`*** trace: ${(err as Error).message}\n`);
          return 1;
        }
      },
    },
  ];
}
