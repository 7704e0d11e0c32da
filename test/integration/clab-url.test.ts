// Labs named by a URL, as `clab deploy -t <url>` runs them: a local bare git repository served
// by a file:// URL (no internet needed) holds a small lab whose router's addresses come only from
// its bound frr.conf; `netsim validate/import/up <url>` clone it into the cache, the next run
// reuses the clone, --refresh fetches a new commit, and URLs that cannot be fetched give one
// clear error each and leave nothing in the cache.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runNetsim, tempDir } from '../lib/cli.js';
import { namespacesOf, requireRoot, uniqueName } from '../lib/harness.js';

const lab = (name: string) => `name: ${name}
topology:
  nodes:
    r1:
      kind: linux
      image: frrouting/frr:v8.4.1
      binds: [r1/frr.conf:/etc/frr/frr.conf, r1/daemons:/etc/frr/daemons]
    h1:
      kind: linux
      exec: [ip route add 10.0.2.0/24 via 10.0.1.1 dev eth1]
    h2:
      kind: linux
      exec: [ip route add 10.0.1.0/24 via 10.0.2.1 dev eth1]
  links:
    - type: veth
      endpoints: [{node: h1, interface: eth1, ipv4: 10.0.1.2/24}, {node: r1, interface: eth1}]
    - type: veth
      endpoints: [{node: h2, interface: eth1, ipv4: 10.0.2.2/24}, {node: r1, interface: eth2}]
`;
const FRR = `frr defaults traditional
hostname r1
interface eth1
 ip address 10.0.1.1/24
exit
interface eth2
 ip address 10.0.2.1/24
exit
`;

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.email=t@netsim', '-c', 'user.name=t', ...args], {
    cwd,
    encoding: 'utf8',
  }).trim();

/** Every path under `dir` (the cache), to show a failed fetch added nothing. */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

if (requireRoot(t)) {
  const tmp = tempDir(t);
  const work = join(tmp, 'work');
  mkdirSync(join(work, 'r1'), { recursive: true });
  writeFileSync(join(work, 'lab.clab.yml'), lab('urllab'));
  writeFileSync(join(work, 'other.clab.yml'), lab('otherlab'));
  writeFileSync(join(work, 'r1', 'frr.conf'), FRR);
  writeFileSync(join(work, 'r1', 'daemons'), 'zebra=yes\nstaticd=yes\n');
  git(work, 'init', '-q', '-b', 'main');
  git(work, 'add', '-A');
  git(work, 'commit', '-qm', 'lab');
  const bare = join(tmp, 'lab.git');
  git(tmp, 'clone', '-q', '--bare', work, bare);
  const url = `file://${bare}`;
  const env = { XDG_CACHE_HOME: join(tmp, 'cache') };
  const root = join(tmp, 'cache', 'netsim', 'labs');
  const clone = join(root, 'file', ...bare.split('/').filter(Boolean));
  const first = git(work, 'rev-parse', '--short', 'HEAD');

  t.test('validate clones the repository into the cache; --file picks the lab', async (t) => {
    const r = await runNetsim(['validate', url, '--file', 'lab.clab.yml'], { env });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, `note: fetched ${url} (commit ${first}) into ${clone}`);
    t.match(r.stdout, /urllab: 3 nodes, 2 links, 2 subnets: valid/);
    t.ok(existsSync(join(clone, 'r1', 'frr.conf')), 'the clone is in the cache');
    t.same(
      tree(root).filter((p) => /fetching|old-/.test(p)),
      [],
      'no temporary clone left',
    );
  });

  t.test('several labs at the root and no --file: an error listing them', async (t) => {
    const r = await runNetsim(['validate', url], { env });
    t.equal(r.code, 2);
    t.equal(
      r.stderr,
      `error: ${url}: several labs at the root of the repository: lab.clab.yml, other.clab.yml; choose one with --file\n`,
    );
    const missing = await runNetsim(['validate', url, '--file', 'nope.clab.yml'], { env });
    t.equal(missing.stderr, `error: ${url}: no file nope.clab.yml in the repository (commit ${first})\n`);
    const local = await runNetsim(['validate', join(work, 'lab.clab.yml'), '--file', 'x'], { env });
    t.match(local.stderr, /--file is for labs named by a URL/);
  });

  t.test('up <url> runs the lab from the cached clone, with its binds; no clone happens', async (t) => {
    const inode = statSync(clone).ino;
    const script = join(tmp, 'ping.txt');
    // r1 has addresses only from its bound frr.conf: h1 reaches h2 through it
    writeFileSync(script, 'h1 ping -c1 -W2 10.0.2.2\nh2 ping -c1 -W2 10.0.1.1\n');
    const name = uniqueName('url');
    const r = await runNetsim(['up', url, '--file', 'lab.clab.yml', '-n', name, '--script', script], {
      env,
      timeoutMs: 120_000,
    });
    t.equal(r.code, 0, r.stderr);
    t.match(
      r.stderr,
      `note: using cached ${url} (commit ${first}) from ${clone}; --refresh fetches it again`,
    );
    t.equal(r.stdout.match(/1 packets transmitted, 1 received/g)?.length, 2, r.stdout);
    t.equal(statSync(clone).ino, inode, 'the same clone directory (not fetched again)');
    t.same(namespacesOf(name), [], 'torn down');
  });

  t.test('--refresh fetches a new commit; import reads the clone', async (t) => {
    writeFileSync(join(work, 'lab.clab.yml'), lab('urllab2'));
    git(work, 'commit', '-qam', 'renamed');
    git(work, 'push', '-q', bare, 'main');
    const second = git(work, 'rev-parse', '--short', 'HEAD');
    const stale = await runNetsim(['validate', url, '--file', 'lab.clab.yml'], { env });
    t.match(stale.stdout, /urllab: 3 nodes/, 'without --refresh: the cached commit');
    const r = await runNetsim(['validate', url, '--file', 'lab.clab.yml', '--refresh'], { env });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, `note: fetched ${url} (commit ${second}) into ${clone}`);
    t.match(r.stdout, /urllab2: 3 nodes, 2 links, 2 subnets: valid/);
    const imp = await runNetsim(['import', url, '--file', 'lab.clab.yml'], { env });
    t.equal(imp.code, 0, imp.stderr);
    t.match(imp.stderr, `note: using cached ${url} (commit ${second})`);
    t.match(imp.stdout, /^name: urllab2$/m);
    t.match(imp.stdout, /frr\.conf/);
  });

  t.test('a GitHub URL whose branch has a "/": split where the remote says (ls-remote)', async (t) => {
    // github.com/o/r is this machine's file:///…/gh/o/r (git's url.insteadOf), which has a tag
    // "feature" (no lab) and a branch "feature/x" with the lab in labs/
    const gh = join(tmp, 'gh', 'o');
    const repo = join(tmp, 'slash');
    mkdirSync(join(repo, 'labs', 'r1'), { recursive: true });
    git(repo, 'init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'README'), 'no lab here\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'readme');
    git(repo, 'tag', 'feature');
    git(repo, 'checkout', '-qb', 'feature/x');
    writeFileSync(join(repo, 'labs', 'lab.clab.yml'), lab('slashlab'));
    writeFileSync(join(repo, 'labs', 'r1', 'frr.conf'), FRR);
    writeFileSync(join(repo, 'labs', 'r1', 'daemons'), 'zebra=yes\nmgmtd=no\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'lab');
    const commit = git(repo, 'rev-parse', '--short', 'HEAD');
    mkdirSync(gh, { recursive: true });
    git(tmp, 'clone', '-q', '--bare', repo, join(gh, 'r'));
    const ghEnv = {
      ...env,
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: `url.file://${join(tmp, 'gh')}/.insteadOf`,
      GIT_CONFIG_VALUE_0: 'https://github.com/',
    };
    const cached = join(root, 'github.com', 'o', 'r@feature%2Fx');
    const blob = 'https://github.com/o/r/blob/feature/x/labs/lab.clab.yml';
    const r = await runNetsim(['validate', blob], { env: ghEnv });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, `note: fetched ${blob} (commit ${commit}) into ${cached}`, 'branch feature/x');
    t.match(r.stdout, /slashlab: 3 nodes, 2 links, 2 subnets: valid/, 'its labs/lab.clab.yml');
    const tree = 'https://github.com/o/r/tree/feature/x/labs';
    const again = await runNetsim(['validate', tree], { env: ghEnv });
    t.equal(again.code, 0, again.stderr);
    t.match(
      again.stdout,
      `note: using cached ${tree} (commit ${commit}) from ${cached}`,
      'tree: the same clone',
    );
    const noBranch = await runNetsim(['validate', 'https://github.com/o/r/blob/nope/x/lab.clab.yml'], {
      env: ghEnv,
    });
    t.equal(noBranch.code, 2);
    t.match(noBranch.stderr, /^error: \S+: cannot fetch it: .*nope.*\n$/, 'no such branch: one line');
    renameSync(join(tmp, 'gh'), join(tmp, 'gh-offline'));
    const offline = await runNetsim(['validate', tree], { env: ghEnv });
    t.equal(offline.code, 0, `the remote gone: the cached clone still serves: ${offline.stderr}`);
    t.match(offline.stdout, `note: using cached ${tree} (commit ${commit}) from ${cached}`);
  });

  t.test('a URL that cannot be fetched: one clear error, nothing left in the cache', async (t) => {
    const before = tree(root);
    const cases: [string, RegExp][] = [
      ['file:///nonexistent.git', /does not appear to be a git repository/],
      ['https://netsim-test.invalid/owner/repo', /Could not resolve host: netsim-test\.invalid/],
    ];
    for (const [bad, reason] of cases) {
      const r = await runNetsim(['validate', bad], { env });
      t.equal(r.code, 2, bad);
      const lines = r.stderr.trim().split('\n');
      t.equal(lines.length, 1, `one line: ${r.stderr}`);
      t.match(lines[0], `error: ${bad}: cannot fetch it: `);
      t.match(lines[0], reason);
      t.same(tree(root), before, 'the cache is as it was');
    }
    // a refresh that fails keeps the clone it would have replaced
    rmSync(bare, { recursive: true, force: true });
    const r = await runNetsim(['validate', url, '--file', 'lab.clab.yml', '--refresh'], { env });
    t.equal(r.code, 2);
    t.match(r.stderr, `error: ${url}: cannot fetch it: `);
    t.same(tree(root), before, 'the previous clone is kept');
  });
}
