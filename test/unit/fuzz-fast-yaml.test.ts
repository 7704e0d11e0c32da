// The fast YAML reader (src/model/fast-yaml.ts) against the `yaml` package on generated texts:
// values written in every style `yaml` writes (plain, quoted, flow, block, indented sequences),
// scalars that look like other types (yes, 0o17, 1e3, ~, 12:30, fe80::1, "# x"), then lines
// damaged (indentation, a stray quote, colon or bracket, a comment, a duplicated line). The
// property: the reader never throws, and whenever it gives a value `yaml` reads the same text
// without an error and gives the same value. A text it does not take goes to `yaml` anyway.
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import t from 'tap';
import { parseDocument, stringify } from 'yaml';
import { readSimpleYaml } from '../../src/model/fast-yaml.js';
import { fuzz, hostileString } from '../lib/fuzz.js';

const LOOKALIKES = [
  'yes',
  'no',
  'on',
  'True',
  'FALSE',
  'Null',
  '~',
  '',
  ' x',
  'x ',
  '0o17',
  '017',
  '0x1F',
  '1e3',
  '.5',
  '-.inf',
  '.NaN',
  '1_000',
  '12:30',
  '#x',
  'a #b',
  'a#b',
  "it's",
  'say "hi"',
  '- x',
  'k: v',
  '[a]',
  '{a}',
  '*a',
  '&a',
  '!t',
  '@x',
  '%x',
  'srl1:e1-1',
  '10.0.0.1/24',
  'fe80::1',
  '2001:db8::/64',
  '+1',
  '-0',
  '3.',
  '?x',
  ':x',
  'x:',
  '--- ',
  '...',
  'a\\b',
  '\t',
  'é',
];

// the look-alikes weigh most: they are where two readers of YAML disagree
const scalar = fc.oneof(
  { arbitrary: fc.constantFrom(...LOOKALIKES), weight: 8 },
  fc.integer({ min: -1e9, max: 1e9 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  hostileString,
);
const key = fc.oneof(
  fc.constantFrom(...LOOKALIKES.filter((k) => k !== '')),
  fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/),
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { arbitrary: scalar, weight: 4 },
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4 }),
  ),
}));
/** A topology file is a mapping at the top. */
const document = fc.dictionary(key, value, { minKeys: 1, maxKeys: 6 });

const style = fc.record({
  defaultStringType: fc.constantFrom('PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE') as fc.Arbitrary<
    'PLAIN' | 'QUOTE_DOUBLE' | 'QUOTE_SINGLE'
  >,
  collectionStyle: fc.constantFrom('any', 'block', 'flow') as fc.Arbitrary<'any' | 'block' | 'flow'>,
  indent: fc.constantFrom(2, 4),
  indentSeq: fc.boolean(),
});

/** One damage to one line (by index modulo the line count). */
const damage = fc.tuple(
  fc.nat(),
  fc.constantFrom(
    (l: string) => `  ${l}`,
    (l: string) => l.replace(/^ /, ''),
    (l: string) => `${l} # c`,
    (l: string) => `${l}:`,
    (l: string) => `${l},`,
    (l: string) => `${l}]`,
    (l: string) => `${l}"`,
    (l: string) => `${l}'`,
    (l: string) => `${l} - x`,
    (l: string) => l.replace(': ', ':'),
    (l: string) => l.replace(/"/, "'"),
    (l: string) => l.replace(/[[\]]/, ''),
    (l: string) => `${l}\n${l}`,
  ),
);

function damaged(text: string, damages: [number, (l: string) => string][]): string {
  const lines = text.split('\n');
  for (const [at, f] of damages) {
    const i = at % lines.length;
    lines[i] = f(lines[i]);
  }
  return lines.join('\n');
}

t.test('the fast reader gives what yaml gives, or leaves the text to yaml', async (t) => {
  fuzz(
    t,
    'generated and damaged YAML',
    fc.property(document, style, fc.array(damage, { maxLength: 2 }), (v, s, damages) => {
      const text = damaged(stringify(v, s), damages);
      const fast = readSimpleYaml(text);
      if (fast === undefined) return true;
      const doc = parseDocument(text, { uniqueKeys: true });
      if (doc.errors.length > 0) throw new Error(`taken, but yaml finds: ${doc.errors[0].message}\n${text}`);
      const want = doc.toJS();
      if (!isDeepStrictEqual(fast, want))
        throw new Error(
          `${JSON.stringify(text)}: fast ${JSON.stringify(fast)}, yaml ${JSON.stringify(want)}`,
        );
      return true;
    }),
    2000,
  );
});
