// Reading topology text into a plain object while keeping a way back to line numbers.
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { type Path, type SourceLocator, TopologyError } from './errors.js';

export class YamlSource implements SourceLocator {
  private constructor(
    readonly file: string,
    private readonly doc: ReturnType<typeof parseDocument>,
    private readonly lines: LineCounter,
  ) {}

  /** Parses YAML text; syntax errors and duplicate keys become TopologyErrors with a line. */
  static parse(file: string, text: string): { source: YamlSource; value: unknown } {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
    const source = new YamlSource(file, doc, lines);
    if (doc.errors.length > 0) {
      throw new TopologyError(
        doc.errors.map((e) => {
          const at = e.linePos?.[0];
          const msg =
            e.code === 'DUPLICATE_KEY' ? `duplicate key: ${firstLine(e.message)}` : firstLine(e.message);
          return { path: [], message: msg, pos: { file, line: at?.line, col: at?.col } };
        }),
      );
    }
    return { source, value: doc.toJS({ maxAliasCount: 1000 }) };
  }

  static read(file: string): { source: YamlSource; value: unknown } {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new TopologyError([
        { path: [], message: `cannot read file: ${(err as Error).message}`, pos: { file } },
      ]);
    }
    return YamlSource.parse(file, text);
  }

  locate(path: Path) {
    // the deepest node on the path that exists (a missing field is reported at its parent)
    for (let i = path.length; i >= 0; i--) {
      const node = this.doc.getIn(path.slice(0, i), true) as { range?: [number, number, number] } | undefined;
      const offset = node?.range?.[0] ?? (i === 0 ? this.doc.contents?.range?.[0] : undefined);
      if (offset !== undefined) {
        const { line, col } = this.lines.linePos(offset);
        return { file: this.file, line, col };
      }
    }
    return { file: this.file };
  }
}

function firstLine(s: string): string {
  return s.split('\n')[0].trim();
}

/** Source for topologies built by TypeScript calls: each node and link remembers its call site. */
export class CallSiteSource implements SourceLocator {
  readonly nodeSites = new Map<string, { file: string; line: number; col: number }>();
  readonly linkSites: { file: string; line: number; col: number }[] = [];
  topSite?: { file: string; line: number; col: number };

  constructor(readonly file: string) {}

  locate(path: Path) {
    if (path[0] === 'nodes' && typeof path[1] === 'string') {
      const s = this.nodeSites.get(path[1]);
      if (s) return s;
    }
    if (path[0] === 'links' && typeof path[1] === 'number') {
      const s = this.linkSites[path[1]];
      if (s) return s;
    }
    return this.topSite ?? { file: this.file };
  }
}

/** The first stack frame outside netsim's model code: where the user called the API. */
export function callerSite(): { file: string; line: number; col: number } | undefined {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  for (const frame of stack) {
    const m = /\(?((?:file:\/\/)?\/[^():]+):(\d+):(\d+)\)?$/.exec(frame.trim());
    if (!m) continue;
    const file = m[1].replace(/^file:\/\//, '');
    if (file.includes('/src/model/') || file.includes('node:')) continue;
    return { file, line: Number(m[2]), col: Number(m[3]) };
  }
  return undefined;
}
