// Reading topology text into a plain object while keeping a way back to line numbers.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { CST, LineCounter, Node, Pair, YAMLError } from 'yaml';
import { type Issue, type Path, type SourceLocator, type SourcePos, TopologyError } from './errors.js';
import { readSimpleYaml } from './fast-yaml.js';

type YamlModule = typeof import('yaml');
type Doc = ReturnType<YamlModule['parseDocument']>;

/**
 * The `yaml` package, loaded when first needed: a plain topology file is read without it
 * (fast-yaml.ts), and loading it is a tenth of a short verb's start-up.
 */
const requireHere = createRequire(import.meta.url);
const Y = (): YamlModule => requireHere('yaml') as YamlModule;
type Range = [number, number, number];
interface Located {
  key?: Node;
  value?: Node | null;
}

/** A file the user gave, or a TopologyError naming it (`what` says what the file is for). */
export function readInput(file: string, what = 'file'): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new TopologyError([
      { path: [], message: `cannot read ${what}: ${(err as Error).message}`, pos: { file } },
    ]);
  }
}

export class YamlSource implements SourceLocator {
  private parsed?: { doc: Doc; lines: LineCounter };

  private constructor(
    readonly file: string,
    private readonly text: string,
    parsed?: { doc: Doc; lines: LineCounter },
  ) {
    this.parsed = parsed;
  }

  /** The document with its positions: parsed when first asked for (a text read fast has none). */
  private get doc(): Doc {
    this.parsed ??= YamlSource.document(this.text);
    return this.parsed.doc;
  }

  private get lines(): LineCounter {
    this.parsed ??= YamlSource.document(this.text);
    return this.parsed.lines;
  }

  private static document(text: string): { doc: Doc; lines: LineCounter } {
    const lines = new (Y().LineCounter)();
    return {
      doc: Y().parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false }),
      lines,
    };
  }

  /**
   * Parses YAML text; syntax errors and duplicate keys become TopologyErrors with a line. Plain
   * YAML (fast-yaml.ts) is read without building the document, which is parsed only when a
   * position is asked for (an error to report).
   */
  static parse(file: string, text: string): { source: YamlSource; value: unknown } {
    const fast = readSimpleYaml(text);
    if (fast !== undefined) return { source: new YamlSource(file, text), value: fast };
    const parsed = YamlSource.document(text);
    const { doc } = parsed;
    const source = new YamlSource(file, text, parsed);
    const errors = [...doc.errors, ...duplicateKeys(doc)];
    if (errors.length > 0) throw new TopologyError(source.syntaxIssues(errors));
    return { source, value: source.toJS(doc) };
  }

  /** The document's value; an alias without its anchor or an alias bomb is a located error. */
  private toJS(doc: Doc): unknown {
    try {
      return doc.toJS({ maxAliasCount: 1000 });
    } catch (err) {
      // "Unresolved alias (...): a": that alias; an alias bomb: the first alias
      const name = /: (\S+)$/.exec((err as Error).message)?.[1];
      let offset = 0;
      let found = false;
      Y().visit(doc, {
        Alias: (_key, node) => {
          if (found || (name !== undefined && node.source !== name)) return;
          offset = node.range?.[0] ?? 0;
          found = true;
        },
      });
      throw new TopologyError([
        {
          path: this.pathAt(offset),
          message: firstLine((err as Error).message),
          pos: { file: this.file, ...this.lines.linePos(offset) },
        },
      ]);
    }
  }

  /**
   * Parses multi-document YAML (Kubernetes manifests, `---` between objects): one source per
   * document, each locating paths inside its own document. Empty documents are left out.
   */
  static parseAll(file: string, text: string): { source: YamlSource; value: unknown }[] {
    const lines = new (Y().LineCounter)();
    const parsed = Y().parseAllDocuments(text, {
      lineCounter: lines,
      uniqueKeys: false,
      prettyErrors: false,
    });
    const docs = Array.isArray(parsed) ? parsed : [];
    const out: { source: YamlSource; value: unknown }[] = [];
    for (const doc of docs) {
      const source = new YamlSource(file, text, { doc: doc as Doc, lines });
      const errors = [...doc.errors, ...duplicateKeys(doc as Doc)];
      if (errors.length > 0) throw new TopologyError(source.syntaxIssues(errors));
      const value = source.toJS(doc as Doc);
      if (value !== null && value !== undefined) out.push({ source, value });
    }
    return out;
  }

  static read(file: string): { source: YamlSource; value: unknown } {
    return YamlSource.parse(file, readInput(file));
  }

  /**
   * One issue per real problem: after the first syntax error the parser's later complaints
   * are mostly echoes of it, so only that one is reported; duplicate keys are independent,
   * so each of them is.
   */
  private syntaxIssues(errors: YAMLError[]): Issue[] {
    const syntax = errors.find((e) => e.code !== 'DUPLICATE_KEY');
    return (syntax ? [syntax] : errors).map((e) => this.syntaxIssue(e));
  }

  private syntaxIssue(e: YAMLError): Issue {
    // the parser often points at the indentation before the offending token
    let offset = e.pos[0];
    while (this.text[offset] === ' ') offset++;
    let path = this.pathAt(offset);
    let message = firstLine(e.message);
    if (e.code === 'DUPLICATE_KEY') {
      const key = path[path.length - 1];
      const first = this.locate(path); // the path lookup finds the first occurrence
      message = `duplicate key "${key}" (first defined at line ${first.line}; each key may appear once in a mapping)`;
    } else if (e.code === 'MULTIPLE_DOCS') {
      message = 'a topology file holds one YAML document, but a second one starts here ("---")';
      path = [];
    } else if (e.code === 'TAB_AS_INDENT') {
      message = 'tab used for indentation: YAML indents with spaces only';
    } else if (/^Flow (sequence|map)\b/.test(message)) {
      // the parser notices an unclosed [ or { only on a later line: report where it was opened
      const open = this.unclosedFlowBefore(offset);
      if (open) {
        path = open.path;
        offset = open.start;
        message = `unclosed "${this.text[offset]}": ${message[0].toLowerCase()}${message.slice(1)}`;
      }
    }
    return { path, message, pos: { file: this.file, ...this.lines.linePos(offset) } };
  }

  /** The path of the deepest node that contains `offset` (for syntax errors). */
  private pathAt(offset: number): Path {
    const path: Path = [];
    let node: unknown = this.doc.contents;
    for (;;) {
      let next: { seg: string | number; node: unknown } | undefined;
      if (Y().isMap(node)) {
        for (const pair of node.items as Pair<Node, Node | null>[]) {
          const seg = keyString(pair.key);
          if (pair.value && inRange(pair.value.range, offset)) next = { seg, node: pair.value };
          else if (pair.key && inRange(pair.key.range, offset)) return [...path, seg];
          if (next) break;
        }
      } else if (Y().isSeq(node)) {
        const i = node.items.findIndex((item) => inRange((item as Node | null)?.range, offset));
        if (i >= 0) next = { seg: i, node: node.items[i] };
      }
      if (!next) return path;
      path.push(next.seg);
      node = next.node;
    }
  }

  /** The last flow collection ([...] or {...}) opened before `offset` and never closed. */
  private unclosedFlowBefore(offset: number): { path: Path; start: number } | undefined {
    let found: number | undefined;
    const walk = (token: CST.Token | null | undefined): void => {
      if (!token) return;
      if (token.type === 'document') {
        walk(token.value);
        return;
      }
      if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection')
        return;
      if (token.type === 'flow-collection' && token.offset <= offset) {
        const closed = token.end.some((t) => t.type === 'flow-map-end' || t.type === 'flow-seq-end');
        if (!closed && (found === undefined || token.offset > found)) found = token.offset;
      }
      for (const item of token.items) {
        walk((item as { key?: CST.Token | null }).key);
        walk(item.value);
      }
    };
    for (const token of new (Y().Parser)().parse(this.text)) walk(token);
    return found === undefined ? undefined : { path: this.pathAt(found), start: found };
  }

  /** The key and value nodes at `path`, or undefined when the path does not exist. */
  private find(path: Path): Located | undefined {
    let here: Located = { value: this.doc.contents as Node | null };
    for (const seg of path) {
      const node = here.value;
      if (Y().isMap(node)) {
        const pair = (node.items as Pair<Node, Node | null>[]).find((p) => keyString(p.key) === String(seg));
        if (!pair) return undefined;
        here = { key: pair.key ?? undefined, value: pair.value };
      } else if (Y().isSeq(node) && typeof seg === 'number') {
        if (seg >= node.items.length) return undefined;
        here = { value: node.items[seg] as Node | null };
      } else {
        return undefined;
      }
    }
    return here;
  }

  /**
   * Where the field at `path` was written: a scalar at its value (the column of the bad
   * value), a mapping or list at its key (the line that names it). A missing field is
   * reported at its parent.
   */
  locate(path: Path): SourcePos {
    for (let i = path.length; i >= 0; i--) {
      const found = this.find(path.slice(0, i));
      if (!found) continue;
      const { key, value } = found;
      const scalar = Y().isScalar(value) && value.value !== null;
      const offset = (scalar ? value?.range?.[0] : undefined) ?? key?.range?.[0] ?? value?.range?.[0];
      if (offset !== undefined) return { file: this.file, ...this.lines.linePos(offset) };
    }
    // an empty document: its first line
    return { file: this.file, line: 1, col: 1 };
  }
}

/**
 * Keys given twice in one mapping, as the parser's own DUPLICATE_KEY errors (at the second
 * key). The parser's check compares each key with every earlier one, quadratic in a mapping's
 * size (a 24,000-node file took seconds); this is one set per mapping.
 */
function duplicateKeys(doc: Doc): YAMLError[] {
  const out: YAMLError[] = [];
  Y().visit(doc, {
    Map: (_key, map) => {
      const seen = new Set<unknown>();
      for (const pair of map.items as Pair<Node | null, unknown>[]) {
        const k = pair.key;
        if (!Y().isScalar(k)) continue;
        // as a plain object's key it would set the object's prototype: the entry would vanish
        if (k.value === '__proto__')
          out.push(
            new (Y().YAMLParseError)(range(k), 'NON_STRING_KEY', 'a key named __proto__ is not allowed'),
          );
        else if (seen.has(k.value))
          out.push(
            new (Y().YAMLParseError)(
              [k.range?.[0] ?? 0, k.range?.[1] ?? 0],
              'DUPLICATE_KEY',
              'Map keys must be unique',
            ),
          );
        else seen.add(k.value);
      }
    },
  });
  return out;
}

const range = (n: Node): [number, number] => [n.range?.[0] ?? 0, n.range?.[1] ?? 0];

function keyString(key: unknown): string {
  return Y().isScalar(key) ? String(key.value) : String(key);
}

function inRange(range: Range | null | undefined, offset: number): boolean {
  return range !== undefined && range !== null && range[0] <= offset && offset < range[2];
}

function firstLine(s: string): string {
  return s.split('\n')[0].trim();
}

type Site = { file: string; line: number; col: number };

/** Source for topologies built by TypeScript calls: each node and link remembers its call site. */
export class CallSiteSource implements SourceLocator {
  readonly nodeSites = new Map<string, LazySite>();
  readonly linkSites: LazySite[] = [];
  /** where each `expect(...)` entry was given */
  readonly expectSites: Site[] = [];
  topSite?: Site;

  constructor(readonly file: string) {}

  locate(path: Path): SourcePos {
    if (path[0] === 'nodes' && typeof path[1] === 'string') {
      const s = this.nodeSites.get(path[1])?.site();
      if (s) return s;
    }
    if (path[0] === 'links' && typeof path[1] === 'number') {
      const s = this.linkSites[path[1]]?.site();
      if (s) return s;
    }
    if (path[0] === 'expect' && typeof path[1] === 'number') {
      const s = this.expectSites[path[1]];
      if (s) return s;
    }
    return this.fallbackSite();
  }

  /**
   * Whole-topology fields have no call of their own: the place where the Topology was made
   * when that is in the scenario file, else the scenario's first node or link call.
   */
  private fallbackSite(): SourcePos {
    if (this.topSite && (this.topSite.file === this.file || !this.file.startsWith('/'))) return this.topSite;
    const inFile = [...this.nodeSites.values(), ...this.linkSites]
      .map((l) => l?.site())
      .filter((s): s is Site => s !== undefined && s.file === this.file)
      .sort((a, b) => a.line - b.line || a.col - b.col);
    return inFile[0] ?? { file: this.file };
  }
}

/** The first stack frame outside netsim's model code: where the user called the API. */
export function callerSite(): Site | undefined {
  return siteIn(new Error().stack);
}

function siteIn(stack: string | undefined): Site | undefined {
  for (const frame of stack?.split('\n').slice(1) ?? []) {
    const m = /\(?((?:file:\/\/)?\/[^():]+):(\d+):(\d+)\)?$/.exec(frame.trim());
    if (!m) continue;
    const file = m[1].replace(/^file:\/\//, '');
    if (file.includes('/src/model/') || file.includes('node:')) continue;
    return { file, line: Number(m[2]), col: Number(m[3]) };
  }
  return undefined;
}

/**
 * The caller's site captured now, read when an error needs it: V8 records the frames when the
 * Error is made and formats them when `stack` is first read, and formatting is most of the
 * cost (a tree of 5,000 hosts makes 10,000 node and link calls: about half a second).
 */
export class LazySite {
  private readonly at = new Error();
  private resolved?: Site | null;

  site(): Site | undefined {
    if (this.resolved === undefined) this.resolved = siteIn(this.at.stack) ?? null;
    return this.resolved ?? undefined;
  }
}
