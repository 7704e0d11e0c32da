// A strict reader of Prometheus' text exposition format (version 0.0.4), for tests: every
// line is a HELP, a TYPE, a sample or empty; each family has its HELP and TYPE before its
// samples and appears once; names and label names are valid; label values are quoted with
// escapes; values are numbers; counters are never negative and are named *_total.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseLabels(text: string, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`${where}: label without "="`);
    const name = text.slice(i, eq);
    if (!LABEL.test(name)) throw new Error(`${where}: invalid label name ${JSON.stringify(name)}`);
    if (text[eq + 1] !== '"') throw new Error(`${where}: label ${name}: value not quoted`);
    let j = eq + 2;
    let value = '';
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\') {
        const next = text[++j];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`${where}: label ${name}: bad escape \\${next}`);
      } else if (text[j] === '\n') throw new Error(`${where}: newline in a label value`);
      else value += text[j];
    }
    if (text[j] !== '"') throw new Error(`${where}: label ${name}: unterminated value`);
    if (name in out) throw new Error(`${where}: label ${name} twice`);
    out[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (i < text.length) throw new Error(`${where}: expected "," after label ${name}`);
  }
  return out;
}

/** Parses the whole text; throws on the first line that breaks the format. */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  let current: Family | undefined;
  const lines = text.split('\n');
  if (lines[lines.length - 1] !== '') throw new Error('the text does not end with a newline');
  for (const [n, line] of lines.entries()) {
    const where = `line ${n + 1}`;
    if (line === '') continue;
    if (line.startsWith('# HELP ')) {
      const [name, ...help] = line.slice(7).split(' ');
      if (!NAME.test(name)) throw new Error(`${where}: invalid metric name ${JSON.stringify(name)}`);
      if (families.has(name)) throw new Error(`${where}: family ${name} appears twice`);
      current = { name, help: help.join(' '), type: '', samples: [] };
      families.set(name, current);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      if (!current || current.name !== name) throw new Error(`${where}: TYPE ${name} without its HELP`);
      if (!TYPES.has(type)) throw new Error(`${where}: unknown type ${type}`);
      if (current.samples.length) throw new Error(`${where}: TYPE after samples`);
      current.type = type;
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (!m) throw new Error(`${where}: not a sample line: ${JSON.stringify(line)}`);
    const [, name, labels, raw] = m;
    if (!current?.type) throw new Error(`${where}: sample ${name} before its HELP and TYPE`);
    const base = current.type === 'histogram' || current.type === 'summary';
    if (name !== current.name && !(base && name.startsWith(current.name)))
      throw new Error(`${where}: sample ${name} inside family ${current.name}`);
    const value =
      raw === 'NaN' ? Number.NaN : raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    if (raw !== 'NaN' && Number.isNaN(value))
      throw new Error(`${where}: value ${JSON.stringify(raw)} is not a number`);
    if (current.type === 'counter' && !(value >= 0)) throw new Error(`${where}: counter ${name} is ${raw}`);
    current.samples.push({ name, labels: labels ? parseLabels(labels, where) : {}, value });
  }
  for (const f of families.values()) {
    if (!f.type) throw new Error(`family ${f.name} has no TYPE`);
    if (f.type === 'counter' && !f.name.endsWith('_total'))
      throw new Error(`counter ${f.name} is not named *_total`);
  }
  return families;
}

/** The value of the one sample of `family` whose labels include `labels` (undefined if none). */
export function value(
  families: Map<string, Family>,
  family: string,
  labels: Record<string, string>,
): number | undefined {
  const f = families.get(family);
  const hits = f?.samples.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v)) ?? [];
  if (hits.length > 1) throw new Error(`${family}${JSON.stringify(labels)}: ${hits.length} samples match`);
  return hits[0]?.value;
}

/** Every sample of `family` whose labels include `labels`. */
export function samples(
  families: Map<string, Family>,
  family: string,
  labels: Record<string, string> = {},
): Sample[] {
  return (families.get(family)?.samples ?? []).filter((s) =>
    Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}
