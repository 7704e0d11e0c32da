// Validation errors that name the file, the line and the field, for YAML files and for
// TypeScript scenario calls alike.

export type Path = (string | number)[];

export interface SourcePos {
  file: string;
  line?: number;
  col?: number;
}

/** Maps a path in the topology spec back to where the user wrote it. */
export interface SourceLocator {
  readonly file: string;
  locate(path: Path): SourcePos;
}

export interface Issue {
  path: Path;
  message: string;
  pos?: SourcePos;
}

export function formatPath(path: Path): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out || '(top level)';
}

export function formatPos(pos: SourcePos | undefined): string {
  if (!pos) return '';
  return pos.line ? `${pos.file}:${pos.line}:${pos.col ?? 1}` : pos.file;
}

export class TopologyError extends Error {
  constructor(readonly issues: Issue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'TopologyError';
  }
}

/** `<file>:<line>:<col>: <field path>: <message>`; a whole-file problem has no line and no field. */
export function formatIssue(i: Issue): string {
  const where = formatPos(i.pos);
  if (where && !i.pos?.line && i.path.length === 0) return `${where}: ${i.message}`;
  return `${where ? `${where}: ` : ''}${formatPath(i.path)}: ${i.message}`;
}

/** At most this many issues are located and reported; the rest are counted (a 10 MB file of mistakes). */
export const MAX_ISSUES = 50;

/** Collects issues during validation; locates each one through the source. */
export class IssueSink {
  readonly issues: Issue[] = [];
  constructor(private readonly source: SourceLocator) {}

  add(path: Path, message: string): void {
    // locating is a walk of the document: beyond the reported ones, only count
    const pos = this.issues.length < MAX_ISSUES ? this.source.locate(path) : undefined;
    this.issues.push({ path, message, pos });
  }

  get empty(): boolean {
    return this.issues.length === 0;
  }

  throwIfAny(): void {
    if (this.empty) return;
    const shown = this.issues.slice(0, MAX_ISSUES);
    const more = this.issues.length - shown.length;
    if (more > 0) {
      const last = shown[shown.length - 1];
      shown[shown.length - 1] = { ...last, message: `${last.message} (and ${more} more errors not shown)` };
    }
    throw new TopologyError(shown);
  }
}
