// Zod's issues as messages a topology's author can act on: each names the field, the rule and
// what was given, and an unknown field comes with a "did you mean" or the fields allowed there.
import type { z } from 'zod';
import type { IssueSink, Path } from '../errors.js';

/** Zod issues -> located issues with messages that name the field, the rule and what was given. */
export function zodIssues(
  err: z.ZodError,
  prefix: Path,
  sink: IssueSink,
  schema?: z.ZodType,
  input?: unknown,
): void {
  for (const issue of oneIssuePerField(err.issues)) {
    const rel = issue.path as Path;
    const path = [...prefix, ...rel];
    const value = valueAt(input, rel);
    const given = describeValue(value.found ? value.value : undefined);
    const custom = !/^(Invalid input|Invalid option|Too big|Too small)/.test(issue.message);
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = fieldsOf(schemaAt(schema, rel));
        for (const key of issue.keys) sink.add([...path, key], `unknown field "${key}"${hint(key, known)}`);
        break;
      }
      case 'invalid_type':
        if (!value.found) {
          const field = rel.length ? `"${rel[rel.length - 1]}" ` : '';
          sink.add(
            path,
            `missing required field ${field}(${custom ? issue.message : typeName(issue.expected)})`,
          );
        } else {
          sink.add(
            path,
            custom ? `${issue.message} (got ${given})` : `expected ${typeName(issue.expected)}, got ${given}`,
          );
        }
        break;
      case 'too_big':
      case 'too_small': {
        const big = issue.code === 'too_big';
        const bound = big
          ? (issue as { maximum: number | bigint }).maximum
          : (issue as { minimum: number | bigint }).minimum;
        const what =
          issue.origin === 'array'
            ? `${bound} entries`
            : issue.origin === 'string'
              ? `${bound} characters`
              : String(bound);
        sink.add(
          path,
          custom ? issue.message : `must be at ${big ? 'most' : 'least'} ${what} (got ${given})`,
        );
        break;
      }
      case 'invalid_value':
        sink.add(
          path,
          custom
            ? `${issue.message} (got ${given})`
            : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')} (got ${given})`,
        );
        break;
      case 'invalid_union':
        sink.add(path, custom ? `${issue.message} (got ${given})` : `unexpected ${given}`);
        break;
      case 'invalid_key':
        // a record's key broke its rule (a sysctl name): that rule's message
        sink.add(
          path,
          `invalid name "${String(rel[rel.length - 1])}": ${issue.issues[0]?.message ?? issue.message}`,
        );
        break;
      default:
        sink.add(path, issue.message);
    }
  }
}

/**
 * One issue per field: a number outside an int() field's own range also breaks zod's
 * safe-integer bounds (±2^53-1), which says nothing useful; of the rest, a field's first.
 */
function oneIssuePerField(issues: z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const safeBound = (i: z.core.$ZodIssue) =>
    (i.code === 'too_big' && Math.abs(Number(i.maximum)) === Number.MAX_SAFE_INTEGER) ||
    (i.code === 'too_small' && Math.abs(Number(i.minimum)) === Number.MAX_SAFE_INTEGER);
  const key = (i: z.core.$ZodIssue) => JSON.stringify(i.path);
  const seen = new Set<string>();
  const out: z.core.$ZodIssue[] = [];
  for (const i of issues) {
    if (i.code !== 'unrecognized_keys' && seen.has(key(i))) continue;
    if (safeBound(i) && issues.some((o) => o !== i && key(o) === key(i) && !safeBound(o))) continue;
    if (i.code !== 'unrecognized_keys') seen.add(key(i));
    out.push(i);
  }
  return out;
}

function valueAt(input: unknown, path: Path): { found: boolean; value?: unknown } {
  let v = input;
  for (const seg of path) {
    if (v === null || typeof v !== 'object' || !(seg in (v as object))) return { found: false };
    v = (v as Record<string | number, unknown>)[seg];
  }
  return { found: v !== undefined, value: v };
}

export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  return `${typeof v} ${String(v)}`;
}

function typeName(expected: string): string {
  const names: Record<string, string> = {
    object: 'a mapping',
    record: 'a mapping',
    array: 'a list',
    tuple: 'a list',
    string: 'a string',
    number: 'a number',
    int: 'an integer',
    boolean: 'true or false',
  };
  return names[expected] ?? expected;
}

interface ZodDefLike {
  _zod?: {
    def: {
      type: string;
      shape?: Record<string, unknown>;
      element?: unknown;
      innerType?: unknown;
      valueType?: unknown;
      items?: unknown[];
    };
  };
}

/** The sub-schema at `path` (through objects, arrays, records, tuples, optionals), for field lists. */
function schemaAt(schema: unknown, path: Path): unknown {
  let s = schema as ZodDefLike | undefined;
  const unwrap = () => {
    while (s?._zod && ['optional', 'nullable', 'default'].includes(s._zod.def.type))
      s = s._zod.def.innerType as ZodDefLike;
  };
  for (const seg of path) {
    unwrap();
    const def = s?._zod?.def;
    if (!def) return undefined;
    if (def.type === 'object') s = def.shape?.[String(seg)] as ZodDefLike;
    else if (def.type === 'array') s = def.element as ZodDefLike;
    else if (def.type === 'record') s = def.valueType as ZodDefLike;
    else if (def.type === 'tuple' && typeof seg === 'number') s = def.items?.[seg] as ZodDefLike;
    else return undefined;
  }
  unwrap();
  return s;
}

function fieldsOf(schema: unknown): string[] {
  const def = (schema as ZodDefLike | undefined)?._zod?.def;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/** "did you mean" for a near miss, else the fields that are allowed here. */
function hint(key: string, known: string[]): string {
  if (known.length === 0) return '';
  // one typo in a short name, two in a longer one ("ip" is not a near miss of "stp")
  const allowed = key.length <= 4 ? 1 : 2;
  const near = known.filter((k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= allowed);
  if (near.length) return ` (did you mean "${near[0]}"?)`;
  return ` (allowed here: ${known.join(', ')})`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
