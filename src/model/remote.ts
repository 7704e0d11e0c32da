// A lab named by a URL, made a local file: a shallow clone into the cache (lab-url.ts says
// where), reused on the next run unless `--refresh`. A clone is made beside the cache entry and
// renamed into place only when complete, so a fetch that fails leaves nothing behind and a
// refresh that fails keeps the previous clone.
import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { GitError, headCommit, remoteRefs, shallowClone } from '../kernel/git.js';
import { TopologyError } from './errors.js';
import {
  type LabUrl,
  LabUrlError,
  labCacheRoot,
  parseLabUrl,
  refIsAmbiguous,
  withRefFrom,
} from './lab-url.js';

export interface FetchOptions {
  /** the lab file inside the repository (relative to the URL's directory) */
  file?: string;
  /** fetch again even when a clone is cached */
  refresh?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface FetchedLab {
  /** the lab file, in the clone */
  file: string;
  /** the clone */
  dir: string;
  commit: string;
  /** true when the cached clone was used (nothing fetched) */
  cached: boolean;
  /** one line for the user: fetched or cached, which commit, where */
  note: string;
}

const LAB_FILE = /\.clab\.ya?ml$/;

function fail(url: string, message: string): never {
  throw new TopologyError([{ path: [], message, pos: { file: url } }]);
}

export async function fetchLab(url: string, opts: FetchOptions = {}): Promise<FetchedLab> {
  let lab: LabUrl;
  try {
    lab = parseLabUrl(url);
  } catch (err) {
    if (err instanceof LabUrlError) fail(url, err.message);
    throw err;
  }
  lab = await splitRef(lab, opts);
  if (lab.file && opts.file)
    fail(url, `the URL names its file (${lab.file}) already; --file is for repository URLs`);
  const dir = join(labCacheRoot(opts.env), ...lab.key);
  const cached = !opts.refresh && existsSync(join(dir, '.git'));
  if (!cached) await cloneInto(lab, dir);
  const commit = await headCommit(dir);
  const file = labFile(lab, dir, opts.file, commit);
  const note = cached
    ? `using cached ${url} (commit ${commit}) from ${dir}; --refresh fetches it again`
    : `fetched ${url} (commit ${commit}) into ${dir}`;
  return { file, dir, commit, cached, note };
}

/**
 * A blob/tree URL whose branch may have a "/" (`blob/feature/x/lab.clab.yml`): the remote's
 * branches and tags say where the branch ends. When the remote cannot be asked, a clone cached
 * for one of the readings (the longest) is still used (offline re-runs); otherwise git's reason.
 */
async function splitRef(lab: LabUrl, opts: FetchOptions): Promise<LabUrl> {
  if (!refIsAmbiguous(lab)) return lab;
  try {
    return withRefFrom(lab, await remoteRefs(lab.cloneUrl));
  } catch (err) {
    if (!(err instanceof GitError)) throw err;
    const path = [lab.branch!, ...(lab.file ?? lab.dir).split('/')];
    const readings = path.map((_, i) => withRefFrom(lab, [path.slice(0, i + 1).join('/')])).reverse();
    const cached = readings.find((r) => existsSync(join(labCacheRoot(opts.env), ...r.key, '.git')));
    if (cached && !opts.refresh) return cached;
    fail(lab.url, `cannot fetch it: ${err.reason}`);
  }
}

/** A fresh shallow clone at `dir`, replacing what was there only once it is complete. */
async function cloneInto(lab: LabUrl, dir: string): Promise<void> {
  const parent = dirname(dir);
  const made = mkdirSync(parent, { recursive: true });
  const tmp = `${dir}.fetching-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    await shallowClone(lab.cloneUrl, tmp, lab.branch);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (made) removeEmptyDirs(parent, made);
    if (err instanceof GitError) fail(lab.url, `cannot fetch it: ${err.reason}`);
    throw err;
  }
  const old = `${dir}.old-${process.pid}`;
  if (existsSync(dir)) renameSync(dir, old);
  try {
    renameSync(tmp, dir);
  } catch (err) {
    // another netsim put a clone there meanwhile: use that one
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(dir, '.git'))) throw err;
  } finally {
    rmSync(old, { recursive: true, force: true });
  }
}

/** rmdir `dir` and its parents up to and including `top`, while they are empty. */
function removeEmptyDirs(dir: string, top: string): void {
  for (let d = dir; d.startsWith(top); d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return;
    }
    if (d === top) return;
  }
}

/** The lab in the clone: the URL's file, --file, or the one *.clab.yml in the URL's directory. */
function labFile(lab: LabUrl, dir: string, file: string | undefined, commit: string): string {
  const named = lab.file ?? (file !== undefined ? join(lab.dir, file) : undefined);
  const where = lab.dir ? `in ${lab.dir}/ of the repository` : 'at the root of the repository';
  if (named !== undefined) {
    const p = resolve(dir, named);
    if (relative(dir, p).startsWith('..') || p === dir) fail(lab.url, `${named} is outside the repository`);
    if (!existsSync(p) || !statSync(p).isFile())
      fail(lab.url, `no file ${named} in the repository (commit ${commit})`);
    return p;
  }
  const base = join(dir, lab.dir);
  const labs = existsSync(base)
    ? readdirSync(base)
        .filter((f) => LAB_FILE.test(f))
        .sort()
    : [];
  if (labs.length === 1) return join(base, labs[0]);
  if (labs.length > 1) fail(lab.url, `several labs ${where}: ${labs.join(', ')}; choose one with --file`);
  const deeper = findLabs(base, 3).map((p) => relative(base, p));
  fail(
    lab.url,
    `no containerlab lab (*.clab.yml) ${where}` +
      (deeper.length ? `; name one with --file: ${deeper.slice(0, 10).join(', ')}` : ''),
  );
}

function findLabs(dir: string, depth: number): string[] {
  if (depth < 0 || !existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.name !== '.git')
    .flatMap((e) => {
      const p = `${dir}${sep}${e.name}`;
      if (e.isDirectory()) return findLabs(p, depth - 1);
      return LAB_FILE.test(e.name) ? [p] : [];
    })
    .sort();
}
