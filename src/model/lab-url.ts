// Labs named by a URL, as `clab deploy -t <url>` takes them: what to clone, which branch,
// which file, and where its clone is cached. Pure: the fetching is in remote.ts.
//   https://github.com/OWNER/REPO                      the one lab at the repository's root
//   https://github.com/OWNER/REPO/blob/BRANCH/lab.clab.yml   that file on that branch
//   https://github.com/OWNER/REPO/tree/BRANCH/dir      the one lab in that directory
//   https://gitlab.com/GROUP/SUB/REPO/-/blob/BRANCH/lab.clab.yml (GitLab's /-/ form)
//   https://host/path/repo.git, ssh://…, git://…, file:///path/repo[.git]   plain git URLs
// A branch with a "/" in its name cannot be told from a path in blob/tree URLs: parseLabUrl
// takes the first segment, and remote.ts asks the repository for its branches and tags and
// takes the longest that the path starts with (withRefFrom), as GitHub does.
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

export interface LabUrl {
  /** the URL as given */
  url: string;
  /** what `git clone` is given */
  cloneUrl: string;
  /** the branch the URL names (blob/tree URLs); otherwise the repository's default */
  branch?: string;
  /** the lab file inside the repository, when the URL names one (blob URLs) */
  file?: string;
  /** the directory inside the repository a lab is looked for in ('' = the root) */
  dir: string;
  /** where its clone is cached, under the cache root: host, owner, repo[@branch] */
  key: string[];
}

const SCHEMES = /^(https?|file|ssh|git):\/\//i;

/** The argument names a lab by URL (not a file or a scenario). */
export function isLabUrl(arg: string): boolean {
  return SCHEMES.test(arg);
}

/** Thrown for a URL netsim cannot make a repository of; the message says which forms work. */
export class LabUrlError extends Error {}

const FORMS =
  'expected https://HOST/OWNER/REPO[/blob/BRANCH/FILE | /tree/BRANCH/DIR], a URL ending in .git, or file:///PATH';

export function parseLabUrl(arg: string): LabUrl {
  let u: URL;
  try {
    u = new URL(arg);
  } catch {
    throw new LabUrlError(`not a URL (${FORMS})`);
  }
  const segs = u.pathname
    .split('/')
    .filter(Boolean)
    .map((s) => decodeURIComponent(s));
  if (segs.some((s) => s === '.' || s === '..' || s.includes('/')))
    throw new LabUrlError(`"." and ".." path segments (and encoded slashes) are not accepted (${FORMS})`);
  const bare = `${u.protocol}//${u.host}${u.pathname}`.replace(/\/+$/, '');
  if (u.protocol === 'file:') {
    if (!segs.length) throw new LabUrlError(`a file:// URL names a repository directory (${FORMS})`);
    return { url: arg, cloneUrl: bare, dir: '', key: ['file', ...segs] };
  }
  if (!u.host) throw new LabUrlError(`no host in the URL (${FORMS})`);
  const gitAt = segs.findIndex((s) => s.endsWith('.git'));
  if (gitAt >= 0 || !/^https?:$/.test(u.protocol)) {
    // a plain git URL; anything after the .git segment is not git's
    if (gitAt >= 0 && gitAt < segs.length - 1)
      throw new LabUrlError(`nothing may follow the .git of a repository URL (${FORMS})`);
    const repo = segs.map((s, i) => (i === segs.length - 1 ? s.replace(/\.git$/, '') : s));
    if (!repo.length || !repo[repo.length - 1]) throw new LabUrlError(`no repository in the URL (${FORMS})`);
    return { url: arg, cloneUrl: bare, dir: '', key: [u.host, ...repo] };
  }
  // a forge's web URL: OWNER/REPO (GitLab: GROUP/…/REPO before "/-/"), then blob|tree/BRANCH/PATH
  const dash = segs.indexOf('-');
  const repo = dash >= 0 ? segs.slice(0, dash) : segs.slice(0, 2);
  const rest = segs.slice(repo.length + (dash >= 0 ? 1 : 0));
  if (repo.length < 2) throw new LabUrlError(`no OWNER/REPO in the URL (${FORMS})`);
  const cloneUrl = `${u.protocol}//${u.host}/${repo.map(encodeURIComponent).join('/')}`;
  const key = (branch?: string) => [
    u.host,
    ...repo.slice(0, -1),
    `${repo[repo.length - 1]}${branch ? `@${branchKey(branch)}` : ''}`,
  ];
  if (!rest.length) return { url: arg, cloneUrl, dir: '', key: key() };
  const [how, branch, ...path] = rest;
  if ((how !== 'blob' && how !== 'tree') || !branch)
    throw new LabUrlError(
      `"${rest.join('/')}" after OWNER/REPO is neither blob/BRANCH/FILE nor tree/BRANCH/DIR (${FORMS})`,
    );
  if (how === 'blob' && !path.length)
    throw new LabUrlError(`a blob URL names a file after the branch (${FORMS})`);
  return {
    url: arg,
    cloneUrl,
    branch,
    file: how === 'blob' ? path.join('/') : undefined,
    dir: how === 'tree' ? path.join('/') : '',
    key: key(branch),
  };
}

/** A branch in a cache directory's name: `feature/x` must not become a directory inside `feature`'s. */
const branchKey = (branch: string) => branch.replace(/%/g, '%25').replace(/\//g, '%2F');

/** A blob/tree URL whose path after the branch's first segment could still be part of the branch. */
export function refIsAmbiguous(lab: LabUrl): boolean {
  if (lab.branch === undefined) return false;
  return lab.file !== undefined ? lab.file.includes('/') : lab.dir !== '';
}

/**
 * The URL's branch and path split as GitHub splits them: the longest of the repository's
 * `refs` (branch and tag names) that the path after blob|tree starts with, segment by segment
 * (a blob keeps at least its file name). No ref matches: the first segment, as parsed.
 */
export function withRefFrom(lab: LabUrl, refs: string[]): LabUrl {
  if (!refIsAmbiguous(lab)) return lab;
  const blob = lab.file !== undefined;
  const segs = [lab.branch!, ...(lab.file ?? lab.dir).split('/')];
  const most = blob ? segs.length - 1 : segs.length;
  let take = 1;
  for (const ref of refs) {
    const rs = ref.split('/');
    if (rs.length > take && rs.length <= most && rs.every((s, i) => s === segs[i])) take = rs.length;
  }
  if (take === 1) return lab;
  const branch = segs.slice(0, take).join('/');
  const path = segs.slice(take).join('/');
  const last = lab.key[lab.key.length - 1].replace(/@[^@]*$/, '');
  return {
    ...lab,
    branch,
    file: blob ? path : undefined,
    dir: blob ? '' : path,
    key: [...lab.key.slice(0, -1), `${last}@${branchKey(branch)}`],
  };
}

/** `$XDG_CACHE_HOME/netsim/labs` (an absolute XDG_CACHE_HOME only, as the spec says), else ~/.cache/…. */
export function labCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'netsim', 'labs');
}
