// `describe pod NAME` and `describe svc NAME`: kubectl's "Key:  value" blocks, from the object
// in etcd (and, for a service, its Endpoints object).
import type { DeploymentObject } from '../manifests/stored.js';
import type { PodObject } from '../registry.js';
import { type EndpointsObject, loadBalancerIps, type ServiceObject } from '../services/objects.js';
import type { NodeObject } from './objects.js';
import { formatEndpoints } from './printers.js';
import { formatLabels, renderTable } from './table.js';

type Line = [key: string, value: string] | [key: string, value: string, indent: number];

function block(lines: Line[]): string {
  const width = Math.max(...lines.filter((l) => !l[2]).map((l) => l[0].length)) + 2;
  return lines
    .map(([k, v, indent]) =>
      indent
        ? `${' '.repeat(indent)}${k}${v ? `  ${v}` : ''}\n`
        : `${`${k}`.padEnd(width)}${v}\n`.replace(/ +\n$/, '\n'),
    )
    .join('');
}

/** Labels, one per line after the first, as kubectl lists them. */
function labelLines(key: string, labels: Record<string, string> | undefined): Line[] {
  const keys = Object.keys(labels ?? {}).sort();
  if (keys.length === 0) return [[key, '<none>']];
  return keys.map((k, i) => [i === 0 ? key : '', `${k}=${labels![k]}`] as Line);
}

/** RFC 1123 with a numeric zone, like kubectl's Start Time. */
function startTime(iso: string): string {
  const d = new Date(iso);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

export function describePod(p: PodObject): string {
  const annotations = (p.metadata as { annotations?: Record<string, string> }).annotations;
  const lines: Line[] = [
    ['Name:', p.metadata.name],
    ['Namespace:', p.metadata.namespace],
    ['Node:', `${p.spec.nodeName}${p.status.hostIP ? `/${p.status.hostIP}` : ''}`],
    ['Start Time:', startTime(p.metadata.creationTimestamp)],
    ...labelLines('Labels:', p.metadata.labels),
    ...labelLines('Annotations:', annotations),
    ['Status:', p.status.phase],
    ['IP:', p.status.podIP || '<none>'],
    ['IPs:', p.status.podIP ? '' : '<none>'],
    ...(p.status.podIP ? [['IP:', p.status.podIP, 2] as Line] : []),
    ['Network Namespace:', p.status.netns],
    ['Command:', p.spec.command ?? '<none>'],
    ...(p.status.pid ? [['PID:', String(p.status.pid)] as Line] : []),
    ['Events:', '<none>'],
  ];
  return block(lines);
}

export function describeService(s: ServiceObject, ep: EndpointsObject | undefined): string {
  const lines: Line[] = [
    ['Name:', s.metadata.name],
    ['Namespace:', s.metadata.namespace],
    ...labelLines('Labels:', (s.metadata as { labels?: Record<string, string> }).labels),
    ...labelLines('Annotations:', s.metadata.annotations),
    ['Selector:', formatLabels(s.spec.selector)],
    ['Type:', s.spec.type],
    ['IP Family Policy:', s.spec.ipFamilyPolicy ?? 'SingleStack'],
    ['IP Families:', (s.spec.ipFamilies ?? ['IPv4']).join(',')],
    ['IP:', s.spec.clusterIP],
    ['IPs:', (s.spec.clusterIPs ?? [s.spec.clusterIP]).join(',')],
    ...(s.spec.type === 'LoadBalancer'
      ? [['LoadBalancer Ingress:', loadBalancerIps(s).join(', ') || '<pending>'] as Line]
      : []),
  ];
  for (const p of s.spec.ports) {
    const name = p.name ?? '<unset>';
    lines.push(['Port:', `${name}  ${p.port}/${p.protocol}`]);
    lines.push(['TargetPort:', `${p.targetPort}/${p.protocol}`]);
    if (p.nodePort) lines.push(['NodePort:', `${name}  ${p.nodePort}/${p.protocol}`]);
    const sub = ep && {
      ...ep,
      subsets: ep.subsets.map((x) => ({
        ...x,
        ports: x.ports.filter((q) => (q.name ?? '') === (p.name ?? '')),
      })),
    };
    lines.push(['Endpoints:', sub ? formatEndpoints(sub).replace('<none>', '') : '']);
  }
  lines.push(['Session Affinity:', s.spec.sessionAffinity]);
  if (s.spec.type !== 'ClusterIP')
    lines.push(['External Traffic Policy:', s.spec.externalTrafficPolicy ?? 'Cluster']);
  lines.push(['Internal Traffic Policy:', s.spec.internalTrafficPolicy ?? 'Cluster']);
  lines.push(['Events:', '<none>']);
  return block(lines);
}

/** `describe deploy NAME`: replicas as counted from its pods, its pod template. */
export function describeDeployment(d: DeploymentObject): string {
  const st = d.status;
  const total = st?.replicas ?? 0;
  const available = st?.availableReplicas ?? 0;
  const t = d.spec.template;
  const lines: Line[] = [
    ['Name:', d.metadata.name],
    ['Namespace:', d.metadata.namespace],
    ['CreationTimestamp:', startTime(d.metadata.creationTimestamp)],
    ...labelLines('Labels:', d.metadata.labels),
    ...labelLines('Annotations:', d.metadata.annotations),
    ['Selector:', formatLabels(d.spec.selector.matchLabels)],
    [
      'Replicas:',
      `${d.spec.replicas} desired | ${st?.updatedReplicas ?? 0} updated | ${total} total | ${available} available | ${Math.max(0, total - available)} unavailable`,
    ],
    ['StrategyType:', 'RollingUpdate'],
    ['MinReadySeconds:', '0'],
    ['RollingUpdateStrategy:', 'one pod at a time (netsim: a new pod up, then an old one gone)'],
    ['Pod Template:', ''],
    ['Labels:', formatLabels(t.metadata.labels), 2],
    ['Containers:', '', 2],
  ];
  for (const c of t.spec.containers) {
    lines.push([`${c.name}:`, '', 3]);
    lines.push(['Image:', c.image ?? '<none>', 4]);
    for (const p of c.ports ?? []) lines.push(['Port:', `${p.containerPort}/${p.protocol ?? 'TCP'}`, 4]);
    if (c.command) lines.push(['Command:', c.command.join(' '), 4]);
    if (c.args) lines.push(['Args:', c.args.join(' '), 4]);
  }
  if (t.spec.nodeSelector) lines.push(['Node-Selectors:', formatLabels(t.spec.nodeSelector), 2]);
  lines.push(['Events:', '<none>']);
  return block(lines);
}

/** `describe node NAME`: labels, conditions, addresses, system info and the pods it runs. */
export function describeNode(n: NodeObject, pods: PodObject[]): string {
  const i = n.status.nodeInfo;
  const lines: Line[] = [
    ['Name:', n.metadata.name],
    ['Roles:', '<none>'],
    ...labelLines('Labels:', n.metadata.labels),
    ['Annotations:', '<none>'],
    [
      'CreationTimestamp:',
      n.metadata.creationTimestamp ? startTime(n.metadata.creationTimestamp) : '<unknown>',
    ],
    ['Taints:', '<none>'],
    ['Unschedulable:', 'false'],
  ];
  const conditions = renderTable(
    ['Type', 'Status', 'Reason', 'Message'],
    n.status.conditions.map((c) => [c.type, c.status, c.reason, c.message]),
  );
  const mine = pods.filter((p) => p.spec.nodeName === n.metadata.name);
  const podTable = renderTable(
    ['Namespace', 'Name'],
    mine.map((p) => [p.metadata.namespace, p.metadata.name]),
  );
  const indent = (text: string) =>
    text
      .split('\n')
      .filter(Boolean)
      .map((l) => `  ${l}\n`)
      .join('');
  return [
    block(lines),
    `Conditions:\n${indent(conditions)}`,
    block([
      ['Addresses:', ''],
      ...n.status.addresses.map((a) => [`${a.type}:`, a.address, 2] as Line),
      ['System Info:', ''],
      ['Kernel Version:', i.kernelVersion, 2],
      ['OS Image:', i.osImage, 2],
      ['Operating System:', i.operatingSystem, 2],
      ['Architecture:', i.architecture, 2],
      ['Container Runtime Version:', i.containerRuntimeVersion, 2],
      ['Kubelet Version:', i.kubeletVersion, 2],
      ['PodCIDR:', n.spec.podCIDR ?? '<none>'],
      ['Non-terminated Pods:', `(${mine.length} in total)`],
    ]),
    mine.length ? indent(podTable) : '',
    'Events:  <none>\n',
  ].join('');
}
