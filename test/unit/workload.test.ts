// Workload templates: units, defaults, and malformed templates that must give one clear,
// located error (file:line:col: field: message), as topologies do.
import t from 'tap';
import {
  parseBytes,
  parseCpu,
  parseDuration,
  parseRate,
  parseWatts,
  parseWorkload,
  workloadFromObject,
} from '../../src/features/workload/template.js';
import { formatIssue, TopologyError } from '../../src/model/errors.js';
import { YamlSource } from '../../src/model/source.js';

function load(text: string) {
  const { source, value } = YamlSource.parse('wl.yml', text);
  return parseWorkload(value, source);
}

/** The formatted errors a text gives (YAML syntax errors included). */
function errors(text: string): string[] {
  try {
    load(text);
    return [];
  } catch (err) {
    if (!(err instanceof TopologyError)) throw err;
    return err.issues.map(formatIssue);
  }
}

t.test('units', async (t) => {
  t.equal(parseDuration('500ms'), 0.5);
  t.equal(parseDuration('2m'), 120);
  t.equal(parseDuration('5'), undefined, 'a duration string needs a unit');
  t.equal(parseCpu('250m'), 0.25);
  t.equal(parseCpu('1.5'), 1.5);
  t.equal(parseBytes('256Mi'), 256 * 2 ** 20);
  t.equal(parseBytes('1G'), 1e9);
  t.equal(parseBytes('12 parsecs'), undefined);
  t.equal(parseWatts('1.5kW'), 1500);
  t.equal(parseWatts('30W'), 30);
  t.equal(parseRate('10mbit'), 1e7);
  t.equal(parseRate('2kbps'), 16000);
  t.equal(parseRate('fast'), undefined);
});

t.test('a valid template', async (t) => {
  const w = load(`workload: kwok-power
step: 1.5s
loop: false
series:
  cpu: [0.1, 250m, 2]
  memory: [64Mi, 1Gi, 100000]
  power: [3.5, 12W, 0]
traffic:
  to: c1
  rate: [1mbit, 0, 2mbit]
`);
  t.equal(w.name, 'kwok-power');
  t.equal(w.step, 1.5);
  t.equal(w.loop, false);
  t.equal(w.length, 3);
  t.same(w.series.cpu, [0.1, 0.25, 2]);
  t.same(w.series.memory, [64 * 2 ** 20, 2 ** 30, 100000]);
  t.same(w.series.power, [3.5, 12, 0]);
  t.same(w.traffic, { to: 'c1', rate: [1e6, 0, 2e6] });
  const d = workloadFromObject({ workload: 'x', series: { cpu: [1] } });
  t.equal(d.step, 10, 'default step 10 s');
  t.equal(d.loop, true, 'loops by default');
});

// one malformed template each: the exact error
const BAD: [string, string, string][] = [
  [
    'a CPU sample that is not a quantity',
    'workload: x\nseries:\n  cpu: [0.5, lots]\n',
    'wl.yml:3:14: series.cpu[1]: not a valid CPU amount: "lots" (a number ≥ 0 or e.g. 0.5 or "500m")',
  ],
  [
    'a negative power sample',
    'workload: x\nseries:\n  power: [1, -2]\n',
    'wl.yml:3:14: series.power[1]: not a valid power: -2 (a number ≥ 0 or e.g. "12.5W")',
  ],
  [
    'a memory unit it does not know',
    'workload: x\nseries:\n  memory: [12Qi]\n',
    'wl.yml:3:12: series.memory[0]: not a valid memory size: "12Qi" (a number ≥ 0 or e.g. "256Mi" or "1G")',
  ],
  [
    'series of different lengths',
    'workload: x\nseries:\n  cpu: [1, 2, 3]\n  power: [5, 6]\n',
    'wl.yml:4:3: series.power: 2 samples, but series.cpu has 3: every series has one sample per step',
  ],
  [
    'traffic rates that do not match the series',
    'workload: x\nseries:\n  cpu: [1, 2]\ntraffic:\n  to: c1\n  rate: [1mbit]\n',
    'wl.yml:6:3: traffic.rate: 1 sample, but series.cpu has 2: every series has one sample per step',
  ],
  [
    'no series at all',
    'workload: x\nstep: 1s\n',
    'wl.yml:1:1: (top level): a workload needs at least one series (series.cpu, series.memory, series.power) or traffic',
  ],
  [
    'an empty series',
    'workload: x\nseries:\n  cpu: []\n',
    'wl.yml:3:3: series.cpu: a series needs at least one sample',
  ],
  [
    'an unknown series',
    'workload: x\nseries:\n  gpu: [1]\n',
    'wl.yml:3:3: series.gpu: unknown field "gpu" (did you mean "cpu"?)',
  ],
  [
    'a step without a unit',
    'workload: x\nstep: 5 seconds\nseries:\n  cpu: [1]\n',
    'wl.yml:2:7: step: not a valid duration: "5 seconds" (a number ≥ 0 or e.g. "500ms", "5s", "1m")',
  ],
  [
    'traffic with steps under a second',
    'workload: x\nstep: 200ms\ntraffic:\n  to: c1\n  rate: [1mbit]\n',
    'wl.yml:2:7: step: with traffic, a step lasts at least 1s (got 0.2 s)',
  ],
  [
    'a missing name',
    'series:\n  cpu: [1]\n',
    'wl.yml:1:1: workload: missing required field "workload" (a string)',
  ],
  [
    'a bad name',
    'workload: "no spaces"\nseries:\n  cpu: [1]\n',
    'wl.yml:1:11: workload: letters, digits, ".", "_" and "-", at most 63',
  ],
  [
    'traffic without a destination',
    'workload: x\ntraffic:\n  rate: [1mbit]\n',
    'wl.yml:2:1: traffic.to: missing required field "to" (a string)',
  ],
  [
    'a list instead of a mapping',
    '- workload: x\n',
    'wl.yml:1:1: (top level): a workload template is a mapping (workload: NAME, step: 5s, series: {cpu: [...]})',
  ],
  [
    'a YAML syntax error',
    'workload: x\nseries:\n  cpu: [1, 2\n',
    'wl.yml:3:8: series.cpu: unclosed "[": flow sequence in block collection must be sufficiently indented and end with a ]',
  ],
];

for (const [what, text, want] of BAD)
  t.test(what, async (t) => {
    const errs = errors(text);
    t.equal(errs.length, 1, 'exactly one error', { errs });
    t.equal(errs[0], want);
  });
