// Labs named by URL: what is cloned, which branch and file, where the clone is cached, and the
// URLs refused (with the forms that work).
import t from 'tap';
import { isLabUrl, labCacheRoot, parseLabUrl, refIsAmbiguous, withRefFrom } from '../../src/model/lab-url.js';

t.test('GitHub web URLs: repository, blob, tree', async (t) => {
  t.same(parseLabUrl('https://github.com/Hamidhrf/Scaled-Network'), {
    url: 'https://github.com/Hamidhrf/Scaled-Network',
    cloneUrl: 'https://github.com/Hamidhrf/Scaled-Network',
    dir: '',
    key: ['github.com', 'Hamidhrf', 'Scaled-Network'],
  });
  t.same(parseLabUrl('https://github.com/o/r/'), {
    url: 'https://github.com/o/r/',
    cloneUrl: 'https://github.com/o/r',
    dir: '',
    key: ['github.com', 'o', 'r'],
  });
  const blob = 'https://github.com/srl-labs/srl-telemetry-lab/blob/main/labs/st.clab.yml';
  t.same(parseLabUrl(blob), {
    url: blob,
    cloneUrl: 'https://github.com/srl-labs/srl-telemetry-lab',
    branch: 'main',
    file: 'labs/st.clab.yml',
    dir: '',
    key: ['github.com', 'srl-labs', 'srl-telemetry-lab@main'],
  });
  const tree = 'https://github.com/o/r/tree/dev/labs/ospf';
  t.same(parseLabUrl(tree), {
    url: tree,
    cloneUrl: 'https://github.com/o/r',
    branch: 'dev',
    file: undefined,
    dir: 'labs/ospf',
    key: ['github.com', 'o', 'r@dev'],
  });
});

t.test("GitLab's /-/ form: groups and subgroups", async (t) => {
  const u = 'https://gitlab.com/grp/sub/lab/-/blob/v1/a.clab.yml';
  const p = parseLabUrl(u);
  t.equal(p.cloneUrl, 'https://gitlab.com/grp/sub/lab');
  t.equal(p.branch, 'v1');
  t.equal(p.file, 'a.clab.yml');
  t.same(p.key, ['gitlab.com', 'grp', 'sub', 'lab@v1']);
});

t.test('plain git URLs and file://', async (t) => {
  t.same(parseLabUrl('https://git.example.org/labs/ospf.git'), {
    url: 'https://git.example.org/labs/ospf.git',
    cloneUrl: 'https://git.example.org/labs/ospf.git',
    dir: '',
    key: ['git.example.org', 'labs', 'ospf'],
  });
  t.same(parseLabUrl('ssh://git@host:2222/x/y.git').key, ['host:2222', 'x', 'y']);
  t.same(parseLabUrl('file:///srv/git/lab.git'), {
    url: 'file:///srv/git/lab.git',
    cloneUrl: 'file:///srv/git/lab.git',
    dir: '',
    key: ['file', 'srv', 'git', 'lab.git'],
  });
  t.equal(parseLabUrl('file:///srv/git/lab/').cloneUrl, 'file:///srv/git/lab');
});

t.test('URLs refused, each saying which forms work', async (t) => {
  const forms = /expected https:\/\/HOST\/OWNER\/REPO/;
  t.throws(() => parseLabUrl('https://github.com/only-owner'), { message: /no OWNER\/REPO.*expected/ });
  t.throws(() => parseLabUrl('https://github.com/o/r/issues/3'), {
    message: /"issues\/3" after OWNER\/REPO is neither/,
  });
  t.throws(() => parseLabUrl('https://github.com/o/r/blob/main'), {
    message: /names a file after the branch/,
  });
  t.throws(() => parseLabUrl('https://h/x.git/more'), { message: /nothing may follow the \.git/ });
  t.throws(() => parseLabUrl('file:///'), { message: forms });
  t.throws(() => parseLabUrl('https://github.com/o/r/tree/main/x%2F..%2F..'), {
    message: /"\.\." path segments/,
  });
});

t.test('what counts as a URL; the cache root', async (t) => {
  for (const u of ['https://github.com/o/r', 'HTTP://h/x.git', 'file:///x', 'ssh://h/x', 'git://h/x'])
    t.ok(isLabUrl(u), u);
  for (const a of ['lab.clab.yml', 'scaled-network', '/abs/lab.yml', 'github.com/o/r'])
    t.notOk(isLabUrl(a), a);
  t.equal(labCacheRoot({ XDG_CACHE_HOME: '/c' }), '/c/netsim/labs');
  t.match(labCacheRoot({ XDG_CACHE_HOME: 'relative' }), /\/\.cache\/netsim\/labs$/);
  t.match(labCacheRoot({}), /\/\.cache\/netsim\/labs$/);
});

t.test(
  'branches with a "/": the longest branch or tag the path starts with, as GitHub splits it',
  async (t) => {
    const blob = parseLabUrl('https://github.com/o/r/blob/feature/x/labs/a.clab.yml');
    t.ok(refIsAmbiguous(blob));
    const refs = ['main', 'feature', 'feature/x', 'feature/x/labs/a.clab.yml', 'v1.0'];
    t.match(withRefFrom(blob, refs), {
      branch: 'feature/x',
      file: 'labs/a.clab.yml',
      dir: '',
      key: ['github.com', 'o', 'r@feature%2Fx'],
    });
    t.match(
      withRefFrom(blob, ['main']),
      { branch: 'feature', file: 'x/labs/a.clab.yml' },
      'no ref: first segment',
    );
    t.match(withRefFrom(blob, ['feature/xy']), { branch: 'feature' }, 'whole segments only');
    const tree = parseLabUrl('https://github.com/o/r/tree/feature/x');
    t.match(withRefFrom(tree, refs), {
      branch: 'feature/x',
      dir: '',
      file: undefined,
      key: ['github.com', 'o', 'r@feature%2Fx'],
    });
    t.notOk(
      refIsAmbiguous(parseLabUrl('https://github.com/o/r/blob/main/a.clab.yml')),
      'branch and file: no doubt',
    );
    t.notOk(refIsAmbiguous(parseLabUrl('https://github.com/o/r/tree/main')));
    t.notOk(refIsAmbiguous(parseLabUrl('https://github.com/o/r')));
  },
);
