// kube-proxy's layout: one table at teaching scale (exactly as before), above a number of
// services the services spread over shard tables, each self-contained for its verdicts.
import t from 'tap';
import {
  type Command,
  diffFragments,
  fullSync,
  fullSyncHead,
  renderService,
  skeleton,
} from '../../src/features/k8s/agent/proxy-rules.js';
import {
  isProxyTable,
  MAX_SHARDS,
  nextLayout,
  proxyObjects,
  proxyTablesText,
  serviceTable,
  serviceTableAmong,
  shardingFromEnv,
  shardOf,
  shardsFor,
  TABLE,
} from '../../src/features/k8s/agent/proxy-tables.js';
import { corpus, ctx6, endpoints, service } from '../lib/proxy-corpus.js';

type Obj = Record<string, unknown>;
const inner = (c: Command) => Object.values(Object.values(c)[0])[0] as Obj;
const kind = (c: Command) => `${Object.keys(c)[0]} ${Object.keys(Object.values(c)[0])[0]}`;

t.test('one table at teaching scale: the rendering and the full sync as before', async (t) => {
  const f = renderService(service('a', '10.96.0.10'), endpoints('a', ['10.244.1.2']), ctx6, 4);
  t.equal(f.table, undefined, 'no table named on the fragment');
  t.ok(
    [...f.elements.values()].every((e) => !('table' in e)),
    'nor on its elements',
  );
  const head = fullSyncHead(4, 0);
  const table = { family: 'ip', name: TABLE };
  t.same(head.slice(0, 3), [{ add: { table } }, { delete: { table } }, { add: { table } }]);
  t.same(head.slice(3, 3 + skeleton(4).length), skeleton(4), "then today's skeleton");
  const rest = head.slice(3 + skeleton(4).length);
  t.equal(rest.length, 2 * MAX_SHARDS, 'then every shard table an earlier layout may have left...');
  t.ok(
    rest.every((c, i) => kind(c) === (i % 2 ? 'delete table' : 'add table')),
    '...removed (added first: deleting a missing table fails the transaction)',
  );
  t.ok(
    diffFragments(undefined, f).every((c) => inner(c).table === TABLE),
    "an update's commands are all in table kube-proxy",
  );
});

t.test('the sharded skeleton: main and shard parts make up the one-table skeleton', async (t) => {
  const strip = (cs: Command[]) =>
    cs.map((c) => {
      const { table: _, ...rest } = inner(c);
      return `${kind(c)} ${JSON.stringify(rest)}`;
    });
  const main = skeleton(4, 'main');
  const shard = skeleton(4, 'shard', 'kube-proxy-shard-3');
  t.same([...strip(main), ...strip(shard)].sort(), strip(skeleton(4)).sort(), 'nothing lost, nothing twice');
  t.ok(
    shard.every((c) => inner(c).table === 'kube-proxy-shard-3'),
    "a shard's skeleton is in its table",
  );
  const names = (cs: Command[]) => cs.filter((c) => kind(c) === 'add chain').map((c) => inner(c).name);
  t.same(names(shard).sort(), ['mark-for-masquerade', 'nat-output', 'nat-prerouting', 'services']);
  t.notOk(names(main).includes('nat-prerouting'), 'the main table has no nat dispatch');
  const hook = (cs: Command[], name: string) => {
    const { hook, prio, type } = inner(cs.find((c) => kind(c) === 'add chain' && inner(c).name === name)!);
    return { hook, prio, type };
  };
  for (const n of ['nat-prerouting', 'nat-output'])
    t.same(hook(shard, n), hook(skeleton(4), n), `a shard's ${n}: the same hook and priority`);
});

/** Every chain a verdict names (jump, goto, in rules and map elements), by the table it is in. */
function verdictTargets(cmds: Command[]): { table: string; target: string }[] {
  const out: { table: string; target: string }[] = [];
  const walk = (table: string, x: unknown) => {
    if (!x || typeof x !== 'object') return;
    for (const [k, v] of Object.entries(x as Obj)) {
      if ((k === 'jump' || k === 'goto') && v && typeof v === 'object' && 'target' in v)
        out.push({ table, target: String((v as Obj).target) });
      else walk(table, v);
    }
  };
  for (const c of cmds) {
    const o = inner(c);
    if (kind(c) === 'add rule' || kind(c) === 'add element') walk(String(o.table), o.expr ?? o.elem);
  }
  return out;
}

t.test('sharded: every verdict jumps to a chain of its own table', async (t) => {
  const c = corpus(4);
  const tables = new Set(c.full.flatMap((x) => (kind(x) === 'add chain' ? [] : [String(inner(x).table)])));
  t.ok(tables.size >= 5, `the main table and the services' shards (${[...tables].join(', ')})`);
  const chains = new Set(
    [...c.full, ...c.update]
      .filter((x) => kind(x) === 'add chain')
      .map((x) => `${inner(x).table} ${inner(x).name}`),
  );
  const targets = verdictTargets([...c.full, ...c.update]);
  t.ok(targets.length > 20, 'the corpus has verdicts');
  const missing = targets.filter((v) => !chains.has(`${v.table} ${v.target}`));
  t.same(missing, [], 'none leaves its table');
  // the filter side reads the main table's maps: their elements are there
  for (const x of c.full)
    if (kind(x) === 'add element' && ['cluster-ips', 'no-endpoint-services'].includes(String(inner(x).name)))
      t.equal(inner(x).table, TABLE, `${inner(x).name} element in the main table`);
  const a = renderService(
    service('a', '10.96.0.10'),
    endpoints('a', ['10.244.1.2']),
    { ...ctx6, shards: 4 },
    4,
  );
  t.equal(a.table, serviceTable('default/a', 4), 'a fragment names its shard');
  t.equal(a.elements.get('service-ips {"concat":["10.96.0.10","tcp",80]}')?.table, a.table);
});

t.test('a service lands in the same shard for every reader', async (t) => {
  // pinned: the agent and the main process (another version, maybe) must agree
  t.same(
    ['a', 'b', 'c', 'd', 'kubernetes'].map((n) => shardOf(`default/${n}`, 4)),
    [2, 3, 0, 1, 3],
  );
  const counts = new Array(16).fill(0);
  for (let i = 0; i < 10000; i++) counts[shardOf(`default/s${i}`, 16)]++;
  t.ok(Math.min(...counts) > 550 && Math.max(...counts) < 700, `even: ${counts.join(' ')}`);
  const names = ['kube-proxy', 'kube-proxy-shard-0', 'kube-proxy-shard-1', 'netsim-policy'];
  t.equal(serviceTableAmong('default/a', names), 'kube-proxy-shard-0');
  t.equal(serviceTableAmong('default/a', ['kube-proxy', 'netsim-policy']), TABLE, 'one table');
  t.ok(isProxyTable('kube-proxy-shard-12') && isProxyTable(TABLE));
  t.notOk(isProxyTable('kube-proxy-shard-x') || isProxyTable('netsim-policy'));
});

t.test('the layout follows the count, with hysteresis', async (t) => {
  t.equal(shardsFor(10000), 16, '10,000 services: 16 shards of ~625');
  t.equal(shardsFor(2001), 4);
  t.equal(shardsFor(1e6), MAX_SHARDS);
  t.equal(nextLayout(0, 2000), 0, 'one table up to 2,000');
  t.equal(nextLayout(0, 2001), 4, 'shards above');
  t.equal(nextLayout(4, 1600), 4, 'kept a little below the threshold');
  t.equal(nextLayout(4, 1499), 0, 'one table again below 3/4 of it');
  t.equal(nextLayout(4, 4000), 4, 'a shard of up to 1,000 services is kept');
  t.equal(nextLayout(4, 4001), 8, 'beyond: finer');
  t.equal(nextLayout(16, 10000), 16);
  t.equal(nextLayout(16, 3000), 8, 'coarser when shards hold under 250');
  t.equal(nextLayout(0, 10, { above: 3, perShard: 2 }), 4, 'a test shards a few services');
  t.same(shardingFromEnv({ NETSIM_KUBE_PROXY_SHARD_ABOVE: '3', NETSIM_KUBE_PROXY_PER_SHARD: '2' }), {
    above: 3,
    perShard: 2,
  });
  t.same(shardingFromEnv({ NETSIM_KUBE_PROXY_SHARD_ABOVE: 'x' }), {}, 'nonsense: the default');
});

t.test("readers cut kube-proxy's tables out of a ruleset", async (t) => {
  const ruleset = [
    'table ip netsim-policy {\n\tchain x {\n\t}\n}',
    'table ip kube-proxy {\n\tset cluster-ips {\n\t}\n}',
    'table ip kube-proxy-shard-1 {\n\tchain services {\n\t\tdnat to 10.244.1.2:80\n\t}\n}',
    '',
  ].join('\n');
  const text = proxyTablesText(ruleset);
  t.match(text, /cluster-ips/);
  t.match(text, /dnat to 10\.244\.1\.2:80/);
  t.notMatch(text, /netsim-policy/);
  const objs = [
    { metainfo: {} },
    { table: { family: 'ip', name: 'kube-proxy-shard-1' } },
    { rule: { table: 'kube-proxy-shard-1', chain: 'c' } },
    { rule: { table: 'netsim-policy', chain: 'c' } },
  ];
  t.same(proxyObjects(objs), objs.slice(1, 3));
  // a full sync in a layout removes the others' tables
  const full = fullSync([], 4, 4);
  t.ok(full.some((c) => kind(c) === 'delete table' && inner(c).name === 'kube-proxy-shard-4'));
  t.notOk(
    full.slice(-2 * (MAX_SHARDS - 4)).some((c) => String(inner(c).name).endsWith('-shard-3')),
    "the layout's own shards stay",
  );
});
