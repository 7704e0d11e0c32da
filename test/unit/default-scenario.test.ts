// The default scenario's workloads are Kubernetes YAML (scenarios/default/*.yaml) given to its
// clusters through the TypeScript builder's `manifests:`, with paths resolved from the scenario
// file's directory; a mistake in such a file is located in it before anything is built.
import { join } from 'node:path';
import t from 'tap';
import { manifestDocs } from '../../src/features/k8s/manifests/input.js';
import { type ValidationContext, validateManifests } from '../../src/features/k8s/manifests/validate.js';
import { parseServiceCidr } from '../../src/features/k8s/services/objects.js';
import { Topology } from '../../src/model/builder.js';
import { TopologyError } from '../../src/model/errors.js';
import { loadTopology, PROJECT_ROOT } from '../../src/model/load.js';
import { validate } from '../../src/model/validate.js';

const DIR = join(PROJECT_ROOT, 'scenarios', 'default');

function ctx(cluster: string): ValidationContext {
  const workers = [1, 2, 3].map((i) => `${cluster}w${i}`);
  return {
    workers,
    resolveWorker: (n) => (workers.includes(n) ? n : undefined),
    serviceCidr: parseServiceCidr('10.96.0.0/12'),
    knownPods: [],
    podNameTaken: () => undefined,
  };
}

/** name -> worker and labels; services by name; from one file of scenarios/default. */
function workloads(file: string, cluster: string) {
  const { objects } = validateManifests(manifestDocs(join(DIR, file)), ctx(cluster));
  const pods: Record<string, string> = {};
  const services: string[] = [];
  for (const o of objects) {
    if (o.kind === 'Pod')
      pods[o.name] = `${o.nodeName} app=${o.labels.app}${o.command ? ` ${o.command}` : ''}`;
    if (o.kind === 'Service') services.push(`${o.name} ${JSON.stringify(o.spec.selector)}`);
  }
  return { pods, services };
}

t.test('the default scenario loads with its clusters on CNI and their manifests', async (t) => {
  const { model } = await loadTopology('default', { simName: 'defaultunit' });
  for (const [cluster, file] of [
    ['C0', 'default/c0.yaml'],
    ['C1', 'default/c1.yaml'],
  ]) {
    const cfg = model.nodes.get(`${cluster}w1`)?.spec.clusterConfig as { cni: boolean; manifests: string[] };
    t.equal(cfg.cni, true, `${cluster}: cni`);
    t.same(cfg.manifests, [file], `${cluster}: manifests`);
  }
});

t.test('its pods are c1..c8 on the same workers, with the same labels and servers', async (t) => {
  const http = (pod: string) =>
    ` socat TCP-LISTEN:80,fork,reuseaddr 'SYSTEM:echo HTTP/1.0 200 OK; echo; echo hello from ${pod}; sleep 0.05'`;
  const c0 = workloads('c0.yaml', 'C0');
  t.same(c0.pods, {
    c1: `C0w1 app=web${http('c1')}`,
    c2: 'C0w2 app=client sleep infinity',
    c3: 'C0w3 app=client sleep infinity',
    c4: 'C0w1 app=client sleep infinity',
  });
  t.same(c0.services, ['web {"app":"web"}'], 'C0 has the web Service');
  const c1 = workloads('c1.yaml', 'C1');
  t.same(c1.pods, {
    c5: `C1w1 app=web${http('c5')}`,
    c6: 'C1w2 app=client sleep infinity',
    c7: 'C1w3 app=client sleep infinity',
    c8: 'C1w2 app=client sleep infinity',
  });
  t.same(c1.services, [], "C1 none: `web` is C0's service once exposed there");
  const extra = validateManifests(manifestDocs(join(DIR, 'extra.yaml')), ctx('C0')).objects;
  t.same(
    extra.map((o) => `${o.kind}/${o.name}`),
    ['Deployment/hello', 'Service/hello'],
    'extra.yaml (the deck applies it) is valid',
  );
});

t.test("a builder's manifests: resolve from the scenario file; their errors are located there", async (t) => {
  const dir = t.testdir({
    'good.yaml': 'apiVersion: v1\nkind: Pod\nmetadata: {name: p1}\nspec:\n  containers: [{name: a}]\n',
    'bad.yaml':
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p1}\nspec:\n  nodeName: w9\n  containers: [{name: a}]\n',
  });
  const build = (file: string) => {
    const topo = new Topology('scn', join(dir, 'scn.ts'));
    topo.switch('s1', { subnet: '192.168.7.0/24' });
    topo.cluster('C0', { underlay: 's1', workers: 1, etcd: 1, manifests: [file] });
    return validate(topo.toSpec(), topo.source, { simName: 'scn' });
  };
  t.doesNotThrow(() => build('good.yaml'), 'good.yaml next to scn.ts');
  try {
    build('bad.yaml');
    t.fail('bad.yaml is refused');
  } catch (err) {
    t.ok(err instanceof TopologyError);
    const [issue] = (err as TopologyError).issues;
    t.same(issue.pos, { file: join(dir, 'bad.yaml'), line: 5, col: 13 }, 'located in bad.yaml');
    t.match(issue.message, /unknown worker "w9"/);
  }
  t.throws(() => build('none.yaml'), /cannot read/, 'a missing file is named');
});
