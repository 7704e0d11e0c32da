// A Service manifest as the cluster's service spec: a named targetPort resolved from the
// container ports of the pods its selector picks (in the input, else applied before), and the
// cluster's own checks (service CIDR, node ports, port names).
import { selects } from '../services/objects.js';
import { checkService, type ServiceSpec } from '../services/schema.js';
import { present } from './pod-spec.js';
import { IGNORED, type ServiceManifest } from './schema.js';
import {
  type Add,
  type Desired,
  type DesiredService,
  type Note,
  podSources,
  type ValidationContext,
} from './types.js';

/** The cluster's service spec; a named targetPort stays a name until checkServiceObject. */
export function serviceSpec(m: ServiceManifest, note: Note): ServiceSpec {
  const s = m.spec;
  for (const f of present(s, IGNORED.serviceSpec)) note(`spec.${f}`);
  if (s.ports.some((p) => present(p, IGNORED.servicePort).length)) note('spec.ports[].appProtocol');
  return {
    ...(s.type ? { type: s.type } : {}),
    ...(s.clusterIP ? { clusterIP: s.clusterIP } : {}),
    ...(s.clusterIPs ? { clusterIPs: s.clusterIPs } : {}),
    ...(s.ipFamilies ? { ipFamilies: s.ipFamilies } : {}),
    ...(s.ipFamilyPolicy ? { ipFamilyPolicy: s.ipFamilyPolicy } : {}),
    ...(s.selector ? { selector: s.selector } : {}),
    ports: s.ports.map((p) => ({
      ...(p.name ? { name: p.name } : {}),
      ...(p.protocol ? { protocol: p.protocol } : {}),
      port: p.port,
      targetPort: (p.targetPort ?? p.port) as number,
      ...(p.nodePort ? { nodePort: p.nodePort } : {}),
    })),
    ...(s.sessionAffinity ? { sessionAffinity: s.sessionAffinity } : {}),
    ...(s.sessionAffinityConfig
      ? { affinityTimeoutSeconds: s.sessionAffinityConfig.clientIP.timeoutSeconds }
      : {}),
    ...(s.externalTrafficPolicy ? { externalTrafficPolicy: s.externalTrafficPolicy } : {}),
    ...(s.internalTrafficPolicy ? { internalTrafficPolicy: s.internalTrafficPolicy } : {}),
  };
}

/** Named target ports resolved from the pods (input first), cluster checks. */
export function checkServiceObject(
  o: DesiredService,
  objects: Desired[],
  ctx: ValidationContext,
  add: Add,
): void {
  const { spec } = o;
  if (ctx.forDelete) return;
  const inInput = podSources(objects);
  const pods = [...inInput, ...ctx.knownPods.filter((k) => !inInput.some((p) => p.key === k.key))];
  spec.ports.forEach((p, i) => {
    if (typeof p.targetPort !== 'string') return;
    const name = p.targetPort as string;
    const at = ['spec', 'ports', i, 'targetPort'];
    if (!spec.selector) {
      add(at, `a named targetPort ("${name}") needs a selector to find the pods' container ports`);
      return;
    }
    const selected = pods.filter((x) => x.namespace === o.namespace && selects(spec.selector, x.labels));
    const numbers = new Set(
      selected.flatMap((x) =>
        x.ports
          .filter((cp) => cp.name === name && cp.protocol === (p.protocol ?? 'TCP'))
          .map((cp) => cp.containerPort),
      ),
    );
    const sel = Object.entries(spec.selector)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    if (numbers.size === 0)
      add(
        at,
        `no pod selected by ${sel} has a container port named "${name}" (netsim resolves it when applying)`,
      );
    else if (numbers.size > 1)
      add(
        at,
        `the pods selected by ${sel} name different ports "${name}" (${[...numbers].join(', ')}): netsim needs one`,
      );
    else p.targetPort = [...numbers][0];
  });
  checkService(o.name, spec, { v4: ctx.serviceCidr, v6: ctx.serviceCidr6 }, (f, message) =>
    add(f.length ? ['spec', ...f] : ['metadata', 'name'], message),
  );
}
