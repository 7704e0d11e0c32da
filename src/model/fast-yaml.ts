// A fast reader for the plain YAML most topology files are written in: block mappings and
// sequences, one-line scalars (plain, 'single' and "double" quoted), one-line flow sequences of
// scalars, [] and {}, comments. Node's start-up is most of a short verb's time, and the `yaml`
// package's parser runs cold there (its code not yet optimised): a 200-node file took ~100 ms
// of `netsim validate`, a 1,000-node one ~400 ms. This reader gives the same value as `yaml`
// (YAML 1.2, core schema: the scalars resolve by the same patterns) or, for anything outside
// that subset (anchors, tags, block scalars, multi-line scalars, duplicate keys, keys that are
// not strings, tabs, CR line ends...), `undefined`: the caller parses with `yaml` then, which
// also locates what is wrong. Positions are not kept: a located error parses again (source.ts).

type Value = null | boolean | number | string | Value[] | { [k: string]: Value };

/** Thrown inside the reader: the text is outside the subset (never seen by callers). */
class Outside extends Error {}

const out = (): never => {
  throw new Outside();
};

interface Line {
  indent: number;
  text: string;
}

// the core schema's patterns (YAML 1.2 §10.3.2), in the order `yaml` tries them
const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT_OCT = /^0o[0-7]+$/;
const INT = /^[-+]?[0-9]+$/;
const INT_HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

/** A plain scalar's value by the core schema. */
function resolvePlain(s: string): Value {
  if (NULL.test(s)) return null;
  if (BOOL.test(s)) return s[0] === 't' || s[0] === 'T';
  if (INT_OCT.test(s)) return parseInt(s.slice(2), 8);
  if (INT.test(s)) return parseInt(s, 10);
  if (INT_HEX.test(s)) return parseInt(s.slice(2), 16);
  if (FLOAT_NAN.test(s))
    return s.slice(-3).toLowerCase() === 'nan' ? NaN : s[0] === '-' ? -Infinity : Infinity;
  if (FLOAT_EXP.test(s) || FLOAT.test(s)) return parseFloat(s);
  return s;
}

// characters that may not start a plain scalar here (indicators; '-' '?' ':' are handled apart)
const NOT_PLAIN_START = new Set([',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '%', '@', '`']);
const DQ_ESCAPES: Record<string, string> = {
  '\\': '\\',
  '"': '"',
  '/': '/',
  n: '\n',
  t: '\t',
  r: '\r',
  '0': '\0',
};

/** A quoted scalar at the start of `s`: its value and the rest of the line after it. */
function quoted(s: string): { value: string; rest: string } {
  if (s[0] === "'") {
    let v = '';
    for (let i = 1; i < s.length; i++) {
      if (s[i] !== "'") v += s[i];
      else if (s[i + 1] === "'") {
        v += "'";
        i++;
      } else return { value: v, rest: s.slice(i + 1) };
    }
    return out(); // closes on a later line
  }
  let v = '';
  for (let i = 1; i < s.length; i++) {
    const c = s[i];
    if (c === '"') return { value: v, rest: s.slice(i + 1) };
    if (c === '\\') {
      const e = DQ_ESCAPES[s[i + 1]];
      if (e === undefined) out();
      v += e;
      i++;
    } else v += c;
  }
  return out();
}

/** Nothing but spaces and a comment (which needs a space before it). */
function onlyComment(rest: string): void {
  const t = rest.trimStart();
  if (t !== '' && !(t[0] === '#' && t.length < rest.length)) out();
}

/** A plain scalar up to a comment; `flow`: also up to , ] (inside [...]). */
function plainText(s: string, flow: boolean): { text: string; rest: string } {
  const c = s[0];
  if (
    c === undefined ||
    NOT_PLAIN_START.has(c) ||
    ((c === '-' || c === '?' || c === ':') && (s.length === 1 || s[1] === ' '))
  )
    out();
  let end = s.length;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '#' && s[i - 1] === ' ') {
      end = i - 1; // the rest keeps the space before the comment
      break;
    }
    // "a: b" would be a mapping, "a:" too; flow indicators inside a flow sequence end it or are
    // more than the subset holds
    if (ch === ':' && (i + 1 === s.length || s[i + 1] === ' ' || (flow && ',[]{}'.includes(s[i + 1])))) out();
    if (flow && (ch === ',' || ch === ']' || ch === '}')) {
      end = i;
      break;
    }
    if (flow && (ch === '[' || ch === '{')) out();
  }
  return { text: s.slice(0, end).trimEnd(), rest: s.slice(end) };
}

/** A value written on the line after "key: " or "- ". */
function inlineValue(s: string): Value {
  const c = s[0];
  if (c === '"' || c === "'") {
    const { value, rest } = quoted(s);
    onlyComment(rest);
    return value;
  }
  if (c === '[' || c === '{') return flow(s);
  const { text, rest } = plainText(s, false);
  onlyComment(rest);
  return resolvePlain(text);
}

/** A scalar inside [...] or {...}: its value and the rest after it (spaces skipped). */
function flowScalar(s: string): { value: Value; rest: string } {
  if (s[0] === '"' || s[0] === "'") {
    const q = quoted(s);
    return { value: q.value, rest: q.rest.trimStart() };
  }
  const p = plainText(s, true);
  if (p.text === '') out();
  return { value: resolvePlain(p.text), rest: p.rest };
}

/** [scalar, ...] or {key: scalar, ...} on one line. */
function flow(s: string): Value {
  const map = s[0] === '{';
  const close = map ? '}' : ']';
  const items: Value[] = [];
  const obj: { [k: string]: Value } = {};
  let rest = s.slice(1).trimStart();
  while (rest[0] !== close) {
    if (map) {
      // key: plain (up to ": ") or quoted, then ": " and a scalar
      let key: Value;
      if (rest[0] === '"' || rest[0] === "'") {
        const q = quoted(rest);
        key = q.value;
        rest = q.rest;
      } else {
        const colon = rest.indexOf(': ');
        if (colon <= 0) out();
        key = rest.slice(0, colon);
        if (plainText(rest.slice(0, colon), true).text !== key || resolvePlain(key) !== key) out();
        rest = rest.slice(colon);
      }
      if (!rest.startsWith(': ') || key === '__proto__' || key === '<<' || Object.hasOwn(obj, key as string))
        out();
      const v = flowScalar(rest.slice(2).trimStart());
      obj[key as string] = v.value;
      rest = v.rest;
    } else {
      const v = flowScalar(rest);
      items.push(v.value);
      rest = v.rest;
    }
    if (rest[0] === ',') rest = rest.slice(1).trimStart();
    else if (rest[0] !== close) out();
  }
  onlyComment(rest.slice(1));
  return map ? obj : items;
}

/** "key: rest" or "key:" at the start of `s` (a mapping entry), else undefined. */
function entry(s: string): { key: string; rest: string } | undefined {
  let key: string;
  let after: string;
  if (s[0] === '"' || s[0] === "'") {
    const q = quoted(s);
    key = q.value;
    after = q.rest;
  } else {
    const colon = s.search(/:( |$)/);
    const hash = s.indexOf(' #');
    if (colon < 0 || (hash >= 0 && hash < colon)) return undefined;
    const p = plainText(`${s.slice(0, colon)} `, false); // checks its first character
    key = p.text;
    if (key === '' || key !== s.slice(0, colon) || resolvePlain(key) !== key) out(); // only string keys
    after = s.slice(colon);
  }
  if (after[0] !== ':' || (after.length > 1 && after[1] !== ' ')) return undefined;
  if (key === '__proto__' || key === '<<') out();
  return { key, rest: after.slice(1).trimStart() };
}

class Reader {
  private i = 0;

  constructor(private readonly lines: Line[]) {}

  private get line(): Line | undefined {
    return this.lines[this.i];
  }

  private static isItem(l: Line): boolean {
    return l.text === '-' || l.text.startsWith('- ');
  }

  block(indent: number): Value {
    return Reader.isItem(this.line!) ? this.seq(indent) : this.map(indent);
  }

  /** The value after "key:" or "-" with nothing on the line: the lines below, or null. */
  private nested(indent: number, seqSameIndent: boolean): Value {
    const next = this.line;
    if (next && next.indent > indent) return this.block(next.indent);
    if (next && seqSameIndent && next.indent === indent && Reader.isItem(next)) return this.seq(indent);
    return null;
  }

  /** After a value written on its line: the next line may not be deeper. */
  private endOfValue(indent: number): void {
    const next = this.line;
    if (next && next.indent > indent) out();
  }

  map(indent: number): Value {
    const obj: { [k: string]: Value } = {};
    const seen = new Set<string>();
    while (this.line && this.line.indent === indent && !Reader.isItem(this.line)) {
      const e = entry(this.line.text) ?? out();
      if (seen.has(e.key)) out();
      seen.add(e.key);
      this.i++;
      if (e.rest === '' || e.rest[0] === '#') obj[e.key] = this.nested(indent, true);
      else {
        obj[e.key] = inlineValue(e.rest);
        this.endOfValue(indent);
      }
    }
    if (this.line && this.line.indent >= indent) out();
    return obj;
  }

  seq(indent: number): Value {
    const arr: Value[] = [];
    while (this.line && this.line.indent === indent && Reader.isItem(this.line)) {
      const text = this.line.text.slice(1);
      const content = text.trimStart();
      if (content === '' || content[0] === '#') {
        this.i++;
        arr.push(this.nested(indent, false));
        continue;
      }
      if (Reader.isItem({ indent: 0, text: content })) out(); // "- - x"
      const col = indent + 1 + (text.length - content.length);
      if (entry(content)) {
        // a mapping that starts on the item's line: read from there as if it were its own line
        this.lines[this.i] = { indent: col, text: content };
        arr.push(this.map(col));
      } else {
        this.i++;
        arr.push(inlineValue(content));
        this.endOfValue(indent);
      }
    }
    if (this.line && this.line.indent > indent) out();
    return arr;
  }

  done(): boolean {
    return this.i >= this.lines.length;
  }
}

/** The value of a YAML text in the subset (a mapping or a sequence at the top), else undefined. */
export function readSimpleYaml(text: string): unknown {
  if (/[\t\r\uFEFF]/.test(text)) return undefined;
  const lines: Line[] = [];
  for (const raw of text.split('\n')) {
    const t = raw.trimStart();
    if (t === '' || t[0] === '#') continue;
    const indent = raw.length - t.length;
    // a directive or document marker: only a first '---' alone is taken
    if (indent === 0 && (t[0] === '%' || t.startsWith('---') || t.startsWith('...'))) {
      if (lines.length === 0 && /^---\s*(#.*)?$/.test(t.trimEnd())) continue;
      return undefined;
    }
    lines.push({ indent, text: t.trimEnd() });
  }
  if (lines.length === 0 || lines[0].indent !== 0) return undefined;
  try {
    const r = new Reader(lines);
    const value = r.block(0);
    return r.done() ? value : undefined;
  } catch (err) {
    if (err instanceof Outside) return undefined;
    throw err;
  }
}
