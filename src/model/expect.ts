// The `expect:` entries of a topology: a small grammar, parsed at validation time into typed
// expectations, each wrong entry an error located at its line.
//
//   <src> -> <dst>[:<port>] reachable|blocked|unreachable
//   <router> ospf neighbors <n>          (also: ospf <router> neighbors <n>)
//   <router> ospf6 neighbors <n>         (OSPFv3; also: ospf6 <router> neighbors <n>)
//   bgp <router> established [<n>]       (also: <router> bgp established [<n>])
//
// <src> is a node or pod; <dst> a node, a pod, a service (`web`, `web.default`, `default/web`)
// or an IPv4 or IPv6 address (with a port: `[fd00::2]:80`; an IPv6 address makes the probe an
// IPv6 one). With a port the probe is a TCP connection, without one a ping.
import { parseIp } from '../util/ipv4.js';
import { isIp6 } from '../util/ipv6.js';
import type { IssueSink } from './errors.js';
import type { Expectation, Reachability } from './expectation.js';
import type { Model } from './model.js';

export type * from './expectation.js';

export const EXPECT_FORMS = [
  '<src> -> <dst>[:port] reachable|blocked|unreachable',
  '<router> ospf neighbors <n>',
  '<router> ospf6 neighbors <n>',
  'bgp <router> established [<n>]',
];

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const SERVICE = /^(?:([a-z0-9][a-z0-9-]*)\/)?([a-z0-9][a-z0-9-]*)(?:\.([a-z0-9][a-z0-9-]*))?$/;

export class ExpectSyntaxError extends Error {}

const count = (w: string, what: string): number => {
  if (!/^\d{1,4}$/.test(w)) throw new ExpectSyntaxError(`${what} is a whole number, got "${w}"`);
  return Number(w);
};

/** One entry, syntax only (names are checked against the model by parseExpectations). */
export function parseExpectation(text: string, index = 0): Expectation {
  const ws = text.trim().split(/\s+/).filter(Boolean);
  const unknown = () =>
    new ExpectSyntaxError(
      `unknown expectation "${text.trim()}" (the forms are: ${EXPECT_FORMS.map((f) => `"${f}"`).join(', ')})`,
    );
  if (ws.length === 0) throw new ExpectSyntaxError('an empty expectation');
  const arrow = ws.indexOf('->');
  if (arrow >= 0) {
    if (arrow !== 1 || ws.length !== 4) throw unknown();
    const [src, , target, want] = ws;
    if (!['reachable', 'blocked', 'unreachable'].includes(want))
      throw new ExpectSyntaxError(
        `"${want}" is not an outcome: write reachable, blocked or unreachable (in "${text.trim()}")`,
      );
    // an IPv6 address alone, or in brackets with a port; else <dst>[:<port>]
    const m = isIp6(target)
      ? { dst: target, port: undefined }
      : (
          /^\[(?<dst>[^\]]+)\](?::(?<port>\d+))?$/.exec(target) ??
          /^(?<dst>[^:]+)(?::(?<port>\d+))?$/.exec(target)
        )?.groups;
    if (!m?.dst || target.endsWith(':'))
      throw new ExpectSyntaxError(`"${target}" is not <dst>, <dst>:<port> or [<ipv6>]:<port>`);
    const dst = m.dst;
    if (target.startsWith('[') && !isIp6(dst))
      throw new ExpectSyntaxError(`"${dst}" in "${target}" is not an IPv6 address`);
    const port = m.port === undefined ? undefined : Number(m.port);
    if (port !== undefined && (port < 1 || port > 65535))
      throw new ExpectSyntaxError(`port ${m.port} is outside 1..65535`);
    if (!NAME.test(src)) throw new ExpectSyntaxError(`"${src}" is not a node name`);
    if (!NAME.test(dst) && !dst.includes('/') && !isIp6(dst))
      throw new ExpectSyntaxError(`"${dst}" is not a node, service or address`);
    return { kind: 'reach', text, index, src, dst, port, want: want as Reachability };
  }
  // <router> ospf[6] neighbors <n> | ospf[6] <router> neighbors <n>
  const ospf = (w: string) => w === 'ospf' || w === 'ospf6';
  if (ws.length === 4 && ws[2] === 'neighbors' && (ospf(ws[1]) || ospf(ws[0]))) {
    const [kind, router] = ospf(ws[0]) ? [ws[0], ws[1]] : [ws[1], ws[0]];
    const neighbors = count(ws[3], 'the neighbour count');
    return { kind: kind as 'ospf' | 'ospf6', text, index, router, neighbors };
  }
  // bgp <router> established [<n>] | <router> bgp established [<n>]
  if (
    (ws.length === 3 || ws.length === 4) &&
    ws[2] === 'established' &&
    (ws[0] === 'bgp' || ws[1] === 'bgp')
  ) {
    const router = ws[0] === 'bgp' ? ws[1] : ws[0];
    const established = ws[3] === undefined ? undefined : count(ws[3], 'the session count');
    return { kind: 'bgp', text, index, router, established };
  }
  throw unknown();
}

/** What a topology has that an expectation may name. */
interface Names {
  nodes: Map<string, string>;
  pods: Set<string>;
  services: Set<string>;
}

function namesOf(model: Model): Names {
  const nodes = new Map<string, string>();
  const pods = new Set<string>();
  const services = new Set<string>();
  for (const n of model.nodes.values()) {
    nodes.set(n.name, n.kind);
    const cfg = (
      n.spec as {
        clusterConfig?: { pods?: object; services?: Record<string, { namespace?: string }>; dns?: boolean };
      }
    ).clusterConfig;
    if (!cfg) continue;
    for (const p of Object.keys(cfg.pods ?? {})) pods.add(p);
    for (const [s, spec] of Object.entries(cfg.services ?? {}))
      services.add(`${spec.namespace ?? 'default'}/${s}`);
    if (cfg.dns !== false) services.add('kube-system/kube-dns');
  }
  return { nodes, pods, services };
}

/** `web`, `web.default`, `default/web` as namespace/name; undefined when it is not that shape. */
export function serviceRef(text: string): { namespace: string; name: string } | undefined {
  const m = SERVICE.exec(text);
  if (!m || (m[1] && m[3])) return undefined;
  return { namespace: m[1] ?? m[3] ?? 'default', name: m[2] };
}

/**
 * Every `expect:` entry as a typed expectation; each problem (syntax, an unknown node,
 * router or service) is an issue at the entry's path expect[i].
 */
export function parseExpectations(entries: string[], model: Model, sink: IssueSink): Expectation[] {
  const names = namesOf(model);
  const out: Expectation[] = [];
  const known = () => [...names.nodes.keys(), ...names.pods].slice(0, 12).join(', ');
  entries.forEach((text, i) => {
    let e: Expectation;
    try {
      e = parseExpectation(text, i);
    } catch (err) {
      if (!(err instanceof ExpectSyntaxError)) throw err;
      const quoted = `"${text.trim()}"`;
      sink.add(['expect', i], err.message.includes(quoted) ? err.message : `${err.message} (in ${quoted})`);
      return;
    }
    const isNode = (n: string) => names.nodes.has(n) || names.pods.has(n);
    if (e.kind === 'reach') {
      if (!isNode(e.src)) {
        sink.add(['expect', i], `unknown node "${e.src}" in "${text.trim()}" (nodes: ${known()})`);
        return;
      }
      if (names.nodes.get(e.src) === 'switch') {
        sink.add(['expect', i], `"${e.src}" is a switch: it sends no packets of its own`);
        return;
      }
      const svc = serviceRef(e.dst);
      const isService = svc !== undefined && names.services.has(`${svc.namespace}/${svc.name}`);
      if (!isNode(e.dst) && parseIp(e.dst) === undefined && !isIp6(e.dst) && !isService) {
        sink.add(
          ['expect', i],
          `unknown destination "${e.dst}" in "${text.trim()}": not a node, a pod, a service or an IPv4 or IPv6 address`,
        );
        return;
      }
      if (isService && !isNode(e.dst) && e.port === undefined) {
        sink.add(
          ['expect', i],
          `"${e.dst}" is a service: give its port, e.g. ${e.src} -> ${e.dst}:80 ${e.want}`,
        );
        return;
      }
    } else {
      const kind = names.nodes.get(e.router);
      const ok = kind === 'router' || (e.kind === 'bgp' && kind === 'worker');
      if (!ok) {
        sink.add(
          ['expect', i],
          kind
            ? `"${e.router}" is a ${kind}, not a router running ${{ ospf: 'OSPF', ospf6: 'OSPFv3', bgp: 'BGP' }[e.kind]}`
            : `unknown router "${e.router}" in "${text.trim()}"`,
        );
        return;
      }
    }
    out.push(e);
  });
  return out;
}
