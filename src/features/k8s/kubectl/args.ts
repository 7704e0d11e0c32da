// The command line of the kubectl-shaped views: `get RESOURCE [NAME...]` with -n, -A, -l, -o;
// `describe pod|svc NAME`; `exec POD -- CMD...`; `logs POD`; `--context CLUSTER` anywhere.

/** The resources there are, by every name kubectl accepts for them. */
export const RESOURCES = {
  pods: ['pods', 'pod', 'po'],
  services: ['services', 'service', 'svc'],
  endpoints: ['endpoints', 'endpoint', 'ep'],
  endpointslices: ['endpointslices', 'endpointslice'],
  deployments: ['deployments', 'deployment', 'deploy'],
  ingresses: ['ingresses', 'ingress', 'ing'],
  networkpolicies: ['networkpolicies', 'networkpolicy', 'netpol'],
  nodes: ['nodes', 'node', 'no'],
  namespaces: ['namespaces', 'namespace', 'ns'],
} as const;

export type Resource = keyof typeof RESOURCES;

/** What `describe` knows. */
const DESCRIBED: Resource[] = ['pods', 'services', 'deployments', 'nodes'];

/** A failure kubectl would report with these words (no `error: ` added). */
export class KubectlError extends Error {}

export function resourceOf(word: string): Resource {
  const w = word.toLowerCase();
  for (const [r, names] of Object.entries(RESOURCES))
    if ((names as readonly string[]).includes(w)) return r as Resource;
  throw new KubectlError(`error: the server doesn't have a resource type "${word}"`);
}

export type Output = 'table' | 'wide' | 'json' | 'yaml' | 'name';

/** One label requirement of -l: key=value, key!=value, key (exists), !key (does not). */
export interface Requirement {
  key: string;
  op: '=' | '!=' | 'exists' | '!exists';
  value?: string;
}

export interface KubectlArgs {
  verb: 'get' | 'describe' | 'exec' | 'logs';
  resource?: Resource;
  names: string[];
  namespace?: string;
  allNamespaces: boolean;
  selector: Requirement[];
  output: Output;
  /** --show-labels: a LABELS column last */
  showLabels: boolean;
  context?: string;
  /** exec: the command after -- */
  command: string[];
}

export function parseSelector(s: string): Requirement[] {
  return s
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const m = /^([A-Za-z0-9._/-]+)\s*(!=|==|=)\s*([A-Za-z0-9._-]*)$/.exec(part);
      if (m) return { key: m[1], op: m[2] === '!=' ? '!=' : '=', value: m[3] } as Requirement;
      if (/^![A-Za-z0-9._/-]+$/.test(part)) return { key: part.slice(1), op: '!exists' } as Requirement;
      if (/^[A-Za-z0-9._/-]+$/.test(part)) return { key: part, op: 'exists' } as Requirement;
      throw new KubectlError(`error: unable to parse requirement: "${part}"`);
    });
}

export function matches(req: Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return req.every((r) => {
    const has = Object.hasOwn(l, r.key);
    switch (r.op) {
      case '=':
        return has && l[r.key] === r.value;
      case '!=':
        return !has || l[r.key] !== r.value;
      case 'exists':
        return has;
      default:
        return !has;
    }
  });
}

const OUTPUTS: Output[] = ['wide', 'json', 'yaml', 'name'];
const VERBS = ['get', 'describe', 'exec', 'logs'] as const;

/** Options with a value: -n NS, -n=NS, --namespace NS, --namespace=NS ... */
function flagValue(argv: string[], i: number, flag: string): [string, number] {
  const a = argv[i];
  const eq = a.indexOf('=');
  if (a.startsWith('--') && eq > 0) return [a.slice(eq + 1), i];
  if (!a.startsWith('--') && a.length > 2) return [a.slice(a[2] === '=' ? 3 : 2), i];
  if (i + 1 >= argv.length) throw new KubectlError(`error: flag needs an argument: ${flag}`);
  return [argv[i + 1], i + 1];
}

export function parseKubectl(argv: string[]): KubectlArgs {
  const a: KubectlArgs = {
    verb: 'get',
    names: [],
    allNamespaces: false,
    selector: [],
    output: 'table',
    showLabels: false,
    command: [],
  };
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i];
    if (w === '--') {
      a.command = argv.slice(i + 1);
      break;
    }
    const flag = w.split('=')[0];
    if (flag === '-n' || flag === '--namespace' || (w.startsWith('-n') && !w.startsWith('--'))) {
      [a.namespace, i] = flagValue(argv, i, 'n');
    } else if (w === '--show-labels') {
      a.showLabels = true;
    } else if (w === '-A' || w === '--all-namespaces') {
      a.allNamespaces = true;
    } else if (flag === '-l' || flag === '--selector' || (w.startsWith('-l') && !w.startsWith('--'))) {
      let v: string;
      [v, i] = flagValue(argv, i, 'l');
      a.selector.push(...parseSelector(v));
    } else if (flag === '-o' || flag === '--output' || (w.startsWith('-o') && !w.startsWith('--'))) {
      let v: string;
      [v, i] = flagValue(argv, i, 'o');
      if (!(OUTPUTS as string[]).includes(v))
        throw new KubectlError(
          `error: unable to match a printer suitable for the output format "${v}", allowed formats are: json,name,wide,yaml`,
        );
      a.output = v as Output;
    } else if (flag === '--context') {
      [a.context, i] = flagValue(argv, i, 'context');
    } else if (w === '-i' || w === '-t' || w === '-it' || w === '-ti' || w === '--stdin' || w === '--tty') {
      // exec's terminal flags: the REPL's stream is what there is
    } else if (w.startsWith('-') && w !== '-') {
      throw new KubectlError(`error: unknown flag: ${flag}`);
    } else {
      words.push(w);
    }
  }
  const [verb, ...rest] = words;
  if (!verb) throw new KubectlError(`error: no command given (known: ${VERBS.join(', ')})`);
  if (!(VERBS as readonly string[]).includes(verb))
    throw new KubectlError(
      `error: unknown command "${verb}" for "kubectl" (known here: ${VERBS.join(', ')})`,
    );
  a.verb = verb as KubectlArgs['verb'];
  if (a.verb === 'get' || a.verb === 'describe') {
    if (rest.length === 0)
      throw new KubectlError(
        `error: You must specify the type of resource to ${a.verb}. Use "kubectl api-resources" for a complete list of supported resources.`,
      );
    // `get pod/web-1` and `get pods,svc` are kubectl's too; the first is kept simple here
    const [type, ...names] = rest[0].includes('/')
      ? [rest[0].split('/')[0], rest[0].split('/')[1], ...rest.slice(1)]
      : rest;
    a.resource = resourceOf(type);
    a.names = names;
    if (a.verb === 'describe' && !DESCRIBED.includes(a.resource))
      throw new KubectlError(`error: describe is implemented here for ${DESCRIBED.join(', ')} only`);
  } else {
    if (rest.length !== 1)
      throw new KubectlError(
        a.verb === 'exec'
          ? 'error: expected exactly one pod: kubectl exec POD -- COMMAND [args...]'
          : 'error: expected exactly one pod: kubectl logs POD',
      );
    a.names = rest;
    if (a.verb === 'exec' && a.command.length === 0)
      throw new KubectlError('error: you must specify at least one command for the container');
  }
  return a;
}
