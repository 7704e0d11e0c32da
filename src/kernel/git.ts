// git, for labs named by a URL (`netsim up https://github.com/OWNER/REPO`): a shallow clone
// and the commit it holds. Never asks for credentials (a private or missing repository on a
// forge answers 401, which would otherwise prompt on the terminal).
import { run } from './run.js';

const ENV = { GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '', SSH_ASKPASS: '' };

/** git said no: its reason, without the "Cloning into" chatter. */
export class GitError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`cannot fetch ${url}: ${reason}`);
    this.name = 'GitError';
  }
}

/** `git clone --depth 1 [--branch B] URL DIR`; DIR must not exist yet. */
export async function shallowClone(url: string, dir: string, branch?: string): Promise<void> {
  const args = ['clone', '--quiet', '--depth', '1', '--single-branch'];
  if (branch) args.push('--branch', branch);
  const res = await run('git', [...args, '--', url, dir], {
    check: false,
    env: ENV,
    timeoutMs: 600_000,
  }).catch((err: Error) => ({ exitCode: 127, stderr: err.message, stdout: '' }));
  if (res.exitCode === 0) return;
  if (!res.stderr.trim() && !(await hasGit()))
    throw new GitError(url, 'git is not installed (bin/setup installs it: apt-get install git)');
  throw new GitError(url, gitReason(res.stderr, res.exitCode));
}

/**
 * The branch and tag names a repository has (`git ls-remote --heads --tags`), e.g. to tell
 * the branch `feature/x` from the branch `feature` and a directory `x` in a forge's URL.
 */
export async function remoteRefs(url: string): Promise<string[]> {
  const res = await run('git', ['ls-remote', '--heads', '--tags', '--', url], {
    check: false,
    env: ENV,
    timeoutMs: 120_000,
  }).catch((err: Error) => ({ exitCode: 127, stderr: err.message, stdout: '' }));
  if (res.exitCode !== 0) {
    if (!res.stderr.trim() && !(await hasGit()))
      throw new GitError(url, 'git is not installed (bin/setup installs it: apt-get install git)');
    throw new GitError(url, gitReason(res.stderr, res.exitCode));
  }
  return res.stdout
    .split('\n')
    .map((l) => l.split('\t')[1] ?? '')
    .filter((r) => r && !r.endsWith('^{}'))
    .map((r) => r.replace(/^refs\/(heads|tags)\//, ''));
}

async function hasGit(): Promise<boolean> {
  const res = await run('git', ['--version'], { check: false }).catch(() => undefined);
  return res?.exitCode === 0;
}

/** The commit a clone holds (short hash). */
export async function headCommit(dir: string): Promise<string> {
  const res = await run('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { check: false, env: ENV });
  return res.exitCode === 0 ? res.stdout.trim() : 'unknown';
}

/** git's own words, one line: its `fatal:` lines joined, else the last line it printed. */
export function gitReason(stderr: string, exitCode: number): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('Cloning into'));
  const fatal = lines
    .filter((l) => /^(fatal|error):/.test(l))
    .map((l) => l.replace(/^(fatal|error):\s*/, ''));
  const reason = (fatal.length ? fatal : lines.slice(-1)).join('; ');
  return reason || `git exited with status ${exitCode}`;
}
