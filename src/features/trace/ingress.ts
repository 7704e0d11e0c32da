// A trace through the ingress controller (`trace client C0w1 80 --host shop.example --path /api`):
// the probe to the worker's NodePort (kube-proxy DNATs it to the nginx pod), then the step nginx
// takes there (the server for the Host, the location for the path, the Ingress and the service
// they name), then a second probe from the nginx pod to that service's ClusterIP (kube-proxy
// picks the endpoint), as nginx's own connection goes. Two TCP connections, as in reality.
import type { Simulation } from '../../runtime/simulation.js';
import { clustersOf } from '../k8s/cluster.js';
import { ingressControllerOf } from '../k8s/ingress/index.js';
import { pickLocation } from '../k8s/ingress/routes.js';
import { splitHostPort } from './family.js';
import { traceLive } from './live.js';
import type { Hop, TraceOptions, TraceResult } from './types.js';

export async function traceIngress(
  sim: Simulation,
  src: string,
  dst: string,
  http: { host: string; path: string },
  opts: TraceOptions = {},
): Promise<TraceResult> {
  const first = await traceLive(sim, src, dst, { ...opts, port: opts.port ?? 80 });
  const last = first.hops.at(-1)?.node;
  const found = clustersOf(sim)
    .map((c) => ({ c, ctl: ingressControllerOf(sim, c.name) }))
    .find(({ ctl }) => ctl?.controllerPod && ctl.controllerPod.name === last);
  if (!found || first.outcome !== 'delivered') {
    first.summary += ` (not delivered to an ingress controller: no ingress step)`;
    return first;
  }
  const { c, ctl } = found;
  await ctl!.refresh();
  const { server, loc } = pickLocation(ctl!.routes, http.host, http.path);
  const backend = loc?.backend ?? ctl!.routes.defaultBackend;
  const hop: Hop = {
    node: last!,
    kind: 'ingress',
    seen: true,
    steps: [
      {
        kind: 'ingress',
        text: `nginx (${c.name}'s ingress controller): Host ${http.host} → server ${server.host === '_' ? '_ (default)' : server.host}`,
      },
    ],
  };
  if (!backend) {
    hop.steps.push({
      kind: 'drop',
      text: `no location for ${http.path} and no default backend: nginx answers 404`,
    });
    return {
      ...first,
      hops: [...first.hops, hop],
      outcome: 'refused',
      summary: `nginx has no route for ${http.host}${http.path} (404)`,
    };
  }
  const how = loc
    ? `${loc.type} ${loc.path} of Ingress ${loc.ingress}`
    : `the default backend of Ingress ${ctl!.routes.defaultBackend!.ingress}`;
  hop.steps.push(
    { kind: 'ingress', text: `path ${http.path} → ${how}`, data: { ...backend } },
    {
      kind: 'ingress',
      text: `proxies to service ${backend.service}:${backend.port} at ${backend.address} (a new connection from the pod)`,
    },
  );
  // nginx's connection goes to the backend's address, of whichever family it is
  const { ip, port } = splitHostPort(backend.address);
  const second = await traceLive(sim, last!, ip, { ...opts, family: undefined, port });
  return {
    ...second,
    src,
    dst,
    target: { ...second.target, service: backend.service },
    hops: [...first.hops, hop, ...second.hops.slice(1)],
    summary: `${http.host}${http.path} through nginx in ${last}: ${second.summary}`,
    ms: first.ms + second.ms,
  };
}
