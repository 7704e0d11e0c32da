// The REPL's `trace <src> <dst> [port] [--json]`.
import type { Io, Verb } from '../../runtime/plugin.js';
import type { Simulation } from '../../runtime/simulation.js';
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
  /** through an ingress controller: the request's Host and path */
  http?: { host: string; path: string };
} {
  const json = args.includes('--json');
  const rest = args.filter((a) => a !== '--json');
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
  // dst:port is accepted too
  if (rest.length === 2 && /^[^:]+:\d+$/.test(rest[1])) rest.splice(1, 1, ...rest[1].split(':'));
  if (rest.length < 2 || rest.length > 3) throw new TraceError(`usage: ${TRACE_USAGE}`);
  const [src, dst, p] = rest;
  if (p !== undefined && !/^\d+$/.test(p))
    throw new TraceError(`"${p}" is not a port number (usage: ${TRACE_USAGE})`);
  return {
    src,
    dst,
    port: p === undefined ? undefined : Number(p),
    json,
    ...(host !== undefined ? { http: { host, path: path ?? '/' } } : {}),
  };
}

export function traceVerbs(sim: Simulation, io: Io): Verb[] {
  return [
    {
      names: ['trace'],
      usage: TRACE_USAGE,
      help: 'send a real probe (ping, or TCP to port) and explain every hop: routes, bridges, NAT, VXLAN, policy',
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
            ? await traceIngress(sim, a.src, a.dst, a.http, { port: a.port })
            : await traceLive(sim, a.src, a.dst, { port: a.port });
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
